/* Larger files use the resumable upload API (through window.DataBounty.uploader):
     POST /api/v1/datasets/<slug>/uploads/ {filename, total_size} → {id, received_bytes, chunk_size}
     PUT  /api/v1/uploads/<id>  (raw bytes, Content-Range: bytes START-END/TOTAL, END inclusive)
     GET  /api/v1/uploads/<id>  → {received_bytes}: where to resume after a failure
     POST /api/v1/uploads/<id>/complete → 201 the contribution {id, status}
     DELETE /api/v1/uploads/<id> cancels (upload.js); a 409 upload_finished means the "complete"
       reached the server before the Cancel did, and the page then follows the contribution the
       file became (completedAs).
   A dropped connection or a 5xx is retried with backoff, resuming from what the server holds
   (never from zero); a 409 offset_mismatch says where to resume. The upload id is kept in
   localStorage under the file's name, size and date, so choosing the same file after a reload
   picks up where it stopped. */
(function () {
  "use strict";

  var uploader = window.DataBounty.uploader;
  if (!uploader) return;

  var STORAGE_PREFIX = "databounty:upload:";

  function storageKey(file) {
    return STORAGE_PREFIX + uploader.config.slug + ":" + file.name + ":" + file.size + ":" + file.lastModified;
  }

  function remember(file, id) {
    try {
      if (id) window.localStorage.setItem(storageKey(file), id);
      else window.localStorage.removeItem(storageKey(file));
    } catch (error) {
      /* private mode: uploads still work, they just cannot resume after a reload */
    }
  }

  function remembered(file) {
    try {
      return window.localStorage.getItem(storageKey(file));
    } catch (error) {
      return null;
    }
  }

  // An earlier, unfinished upload of this very file: {id, offset}, or null to start afresh.
  function resumable(file, state) {
    var id = remembered(file);
    if (!id) return Promise.resolve(null);
    uploader.setState("Looking for your earlier upload…");
    return uploader.json("GET", uploader.config.uploadsUrl + id, undefined, state).then(
      function (response) {
        var data = response.data || {};
        if (response.status === 200 && data.status === "receiving") {
          return { id: id, offset: Number(data.received_bytes) || 0 };
        }
        if (response.status === 200 && data.status === "complete" && data.contribution) {
          return { id: id, offset: file.size, contribution: data.contribution };
        }
        remember(file, null); // finished, aborted or expired: start again
        return null;
      },
      function (error) {
        if (error.aborted) throw error;
        return null;
      }
    );
  }

  function start(file, state) {
    return uploader.json("POST", uploader.config.startUrl, { filename: file.name, total_size: file.size }, state).then(function (response) {
      if (response.status !== 201) throw uploader.failure(response);
      remember(file, response.data.id);
      return { id: response.data.id, offset: Number(response.data.received_bytes) || 0, chunk: Number(response.data.chunk_size) };
    });
  }

  // Asks the server how many bytes it holds: the only offset worth trusting after a failure.
  function serverOffset(state) {
    return uploader.json("GET", uploader.config.uploadsUrl + state.id, undefined, state).then(function (response) {
      if (response.status === 200) return Number(response.data.received_bytes) || 0;
      if (uploader.transient(response)) throw { network: true };
      throw uploader.failure(response);
    });
  }

  function sendChunks(file, state) {
    return resumable(file, state)
      .then(function (found) {
        uploader.checkCancelled(state);
        if (found) {
          if (found.offset > 0) uploader.announce("Resuming your earlier upload at " + Math.floor((found.offset / file.size) * 100) + "%.");
          return found;
        }
        uploader.setState("Starting…");
        return start(file, state);
      })
      .then(function (session) {
        state.id = session.id;
        if (session.contribution) return { id: session.contribution, status: "uploaded" };
        var size = session.chunk > 0 ? session.chunk : uploader.config.chunkBytes;
        var offset = session.offset;
        var failures = 0;
        state.startBytes = offset;
        state.started = performance.now();
        uploader.setProgress(offset);

        function next() {
          uploader.checkCancelled(state);
          if (offset >= file.size) return complete();
          var end = Math.min(offset + size, file.size);
          uploader.setState(offset === state.startBytes && offset > 0 ? "Resuming…" : "Uploading…");
          var base = offset;
          return uploader.request("PUT", uploader.config.uploadsUrl + state.id, {
            state: state,
            headers: {
              "Content-Type": "application/octet-stream",
              "Content-Range": "bytes " + base + "-" + (end - 1) + "/" + file.size,
            },
            body: file.slice(base, end),
            onProgress: function (loaded) {
              uploader.setProgress(base + Math.min(loaded, end - base));
            },
          }).then(
            function (response) {
              var data = response.data || {};
              if (response.status === 200) {
                failures = 0;
                offset = Number(data.received_bytes);
                uploader.setProgress(offset);
                return next();
              }
              if (response.status === 409 && data.code === "offset_mismatch") {
                offset = Number(data.received_bytes) || 0;
                return next();
              }
              if (uploader.transient(response)) return retry();
              if (response.status === 404 || data.code === "upload_expired") remember(file, null);
              throw uploader.failure(response);
            },
            uploader.retryOnNetworkError(retry)
          );
        }

        function retry() {
          failures += 1;
          if (failures > uploader.MAX_FAILURES) {
            throw new Error("The connection keeps dropping. Choose the same file again later: the upload resumes where it stopped.");
          }
          return uploader.backoff(failures, state)
            .then(function () {
              return serverOffset(state);
            })
            .then(
              function (received) {
                offset = received;
                uploader.setProgress(offset);
                return next();
              },
              uploader.retryOnNetworkError(retry)
            );
        }

        function complete() {
          uploader.setState("Finishing…");
          return uploader.json("POST", uploader.config.uploadsUrl + state.id + "/complete", undefined, state).then(
            function (response) {
              var data = response.data || {};
              if (response.status === 201) return data;
              if (response.status === 409 && data.code === "upload_finished") {
                // An earlier "complete" went through but its answer was lost.
                return completedAs(state.id, state).then(function (contributionId) {
                  if (contributionId) return { id: contributionId, status: "uploaded" };
                  throw uploader.failure(response);
                });
              }
              if (response.status === 409 && data.code === "upload_incomplete") {
                offset = Number(data.received_bytes) || 0;
                return next();
              }
              if (uploader.transient(response)) return retryComplete();
              throw uploader.failure(response);
            },
            uploader.retryOnNetworkError(retryComplete)
          );
        }

        function retryComplete() {
          failures += 1;
          if (failures > uploader.MAX_FAILURES) throw new Error("We couldn’t finish the upload. Choose the same file again to retry.");
          return uploader.backoff(failures, state).then(complete);
        }

        return next();
      });
  }

  // The contribution upload ``id`` became, or null when it did not complete (aborted, expired).
  function completedAs(id, state) {
    return uploader.json("GET", uploader.config.uploadsUrl + id, undefined, state).then(function (response) {
      var data = response.data || {};
      return response.status === 200 && data.status === "complete" && data.contribution ? data.contribution : null;
    });
  }

  Object.assign(uploader, {
    remember: remember,
    sendChunks: sendChunks,
    completedAs: completedAs,
  });
})();
