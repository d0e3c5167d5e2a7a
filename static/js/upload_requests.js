/* The uploader's requests (through window.DataBounty.uploader): XMLHttpRequest with upload
   progress, JSON in and out, refusals as errors ({detail, code} from the API), which errors are
   worth retrying (a dropped connection or a 5xx), and the backoff before a retry, counted down
   in the panel. A Cancel aborts the request in flight (state.xhr). */
(function () {
  "use strict";

  var uploader = window.DataBounty.uploader;
  if (!uploader) return;

  function request(method, url, options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", window.DataBounty ? window.DataBounty.csrfToken() : "");
      Object.keys(options.headers || {}).forEach(function (name) {
        xhr.setRequestHeader(name, options.headers[name]);
      });
      if (options.onProgress) {
        xhr.upload.addEventListener("progress", function (event) {
          options.onProgress(event.loaded);
        });
      }
      if (options.onSent) xhr.upload.addEventListener("load", options.onSent);
      xhr.addEventListener("load", function () {
        var data = {};
        try {
          data = xhr.responseText ? JSON.parse(xhr.responseText) : {};
        } catch (error) {
          data = {};
        }
        resolve({ status: xhr.status, data: data });
      });
      xhr.addEventListener("error", function () {
        reject({ network: true });
      });
      xhr.addEventListener("timeout", function () {
        reject({ network: true });
      });
      xhr.addEventListener("abort", function () {
        reject({ aborted: true });
      });
      if (options.state) options.state.xhr = xhr;
      xhr.send(options.body === undefined ? null : options.body);
    });
  }

  function json(method, url, body, state) {
    return request(method, url, {
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      state: state,
    });
  }

  function failure(response) {
    var data = response.data || {};
    var detail = data.detail;
    if (!detail && response.status === 403) detail = "You are signed out. Reload the page and sign in again.";
    if (!detail && response.status === 413) detail = "The file is larger than the server accepts.";
    var error = new Error(detail || "The upload failed (HTTP " + response.status + "). Try again.");
    error.status = response.status;
    error.code = data.code || "error";
    error.data = data;
    return error;
  }

  function transient(errorOrResponse) {
    return errorOrResponse.network || (errorOrResponse.status >= 500 && errorOrResponse.status < 600);
  }

  // A rejection handler: a dropped connection calls `retry`, any other error stands.
  function retryOnNetworkError(retry) {
    return function (error) {
      if (error.network) return retry();
      throw error;
    };
  }

  function wait(ms) {
    return new Promise(function (resolve) {
      window.setTimeout(resolve, ms);
    });
  }

  function checkCancelled(state) {
    if (state.cancelled) throw { aborted: true };
  }

  // Waits before retry number `failures` (1, 2, 4, 8 … seconds, at most 15), counting down.
  function backoff(failures, state) {
    var seconds = Math.min(15, Math.pow(2, failures - 1));
    var left = seconds;
    uploader.setState("Connection lost: retrying in " + left + " s…");
    uploader.announce("Connection lost. Retrying in " + seconds + " seconds.");
    var tick = function () {
      left -= 1;
      if (left > 0 && !state.cancelled) uploader.setState("Connection lost: retrying in " + left + " s…");
    };
    var timer = window.setInterval(tick, 1000);
    return wait(seconds * 1000).then(function () {
      window.clearInterval(timer);
      checkCancelled(state);
      uploader.setState("Resuming…");
    });
  }

  Object.assign(uploader, {
    request: request,
    json: json,
    failure: failure,
    transient: transient,
    retryOnNetworkError: retryOnNetworkError,
    checkCancelled: checkCancelled,
    backoff: backoff,
  });
})();
