/* Small files (under the chunk size) go in one multipart POST to
   /api/v1/datasets/<slug>/contributions/ (through window.DataBounty.uploader); a Cancel pressed
   once its whole body is sent no longer aborts it (the server may keep the file all the same)
   but waits for the answer. A dropped connection or a 5xx is retried with backoff. */
(function () {
  "use strict";

  var uploader = window.DataBounty.uploader;
  if (!uploader) return;

  // From the moment the whole body is sent until the answer comes (state.sent), the server may
  // store the file whatever the page does, so Cancel no longer aborts: the page waits for the
  // answer (see cancel() in upload.js), and a failure then is not retried.
  function sendDirect(file, state) {
    var failures = 0;
    function retryable() {
      return !state.cancelledLate && ++failures <= uploader.MAX_FAILURES;
    }
    function attempt() {
      uploader.checkCancelled(state);
      var body = new FormData();
      body.append("file", file, file.name);
      uploader.setState("Uploading…");
      return uploader.request("POST", uploader.config.directUrl, {
        body: body,
        state: state,
        onProgress: function (loaded) {
          // The multipart envelope adds a few hundred bytes: never show more than the file.
          uploader.setProgress(Math.min(loaded, file.size));
        },
        onSent: function () {
          state.sent = true;
        },
      }).then(
        function (response) {
          state.sent = false; // answered: a Cancel during a retry's wait aborts again
          if (response.status === 201) return response.data;
          if (uploader.transient(response) && retryable()) return uploader.backoff(failures, state).then(attempt);
          throw uploader.failure(response);
        },
        function (error) {
          state.sent = false;
          if (error.network && retryable()) return uploader.backoff(failures, state).then(attempt);
          throw error;
        }
      );
    }
    return attempt();
  }

  Object.assign(uploader, {
    sendDirect: sendDirect,
  });
})();
