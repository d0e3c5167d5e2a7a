/* The contribute page's uploader: a drop zone and a file input, checks before any byte is sent,
   and a progress bar with bytes, percent, speed and time left.

   Small files (under the chunk size) go in one multipart POST to
   /api/v1/datasets/<slug>/contributions/; a Cancel pressed once its whole body is sent no longer
   aborts it (the server may keep the file all the same) but waits for the answer.
   Larger ones use the resumable upload API:
     POST /api/v1/datasets/<slug>/uploads/ {filename, total_size} → {id, received_bytes, chunk_size}
     PUT  /api/v1/uploads/<id>  (raw bytes, Content-Range: bytes START-END/TOTAL, END inclusive)
     GET  /api/v1/uploads/<id>  → {received_bytes}: where to resume after a failure
     POST /api/v1/uploads/<id>/complete → 201 the contribution {id, status}
     DELETE /api/v1/uploads/<id> cancels; a 409 upload_finished means the "complete" reached the
       server before the Cancel did, and the page then follows the contribution the file became.
   A dropped connection or a 5xx is retried with backoff, resuming from what the server holds
   (never from zero); a 409 offset_mismatch says where to resume. The upload id is kept in
   localStorage under the file's name, size and date, so choosing the same file after a reload
   picks up where it stopped.

   Before any byte is sent, a file up to data-hash-max-bytes is hashed here (SubtleCrypto
   SHA-256) and GET /api/v1/datasets/<slug>/contributions/check?sha256= says whether the very same
   file was contributed already: if so it is refused at once. Larger files, or a browser without
   SubtleCrypto (plain http), are checked by the server on upload (409 duplicate_file).

   Once uploaded, GET /api/v1/contributions/<id>/ is polled until validation ends, and the panel
   shows the verdict (accepted, partly accepted, rejected), its main reasons and the report. */
(function () {
  "use strict";

  var root = document.querySelector("[data-upload]");
  if (!root) return;

  var EXTENSIONS = [".csv", ".tsv", ".jsonl", ".parquet", ".zip"];
  var MAX_FAILURES = 8; // in a row, per upload, before giving up
  var STORAGE_PREFIX = "databounty:upload:";

  var slug = root.getAttribute("data-slug");
  var maxBytes = Number(root.getAttribute("data-max-bytes"));
  var chunkBytes = Number(root.getAttribute("data-chunk-bytes"));
  var directUrl = root.getAttribute("data-direct-url");
  var startUrl = root.getAttribute("data-start-url");
  var uploadsUrl = root.getAttribute("data-uploads-url");
  var rowsUrl = root.getAttribute("data-rows-url");
  var reportUrl = root.getAttribute("data-report-url"); // ends in /0/
  var contributionUrl = root.getAttribute("data-contribution-url"); // the API's, ends in /0/
  var checkUrl = root.getAttribute("data-check-url");
  var hashMaxBytes = Number(root.getAttribute("data-hash-max-bytes")) || 0;
  var FINISHED = ["accepted", "partially_accepted", "rejected", "failed"];
  var POLL_MS = 1500;
  var TOP_REASONS = 3;

  var dropzone = root.querySelector("[data-dropzone]");
  var input = root.querySelector("[data-file-input]");
  var panel = root.querySelector("[data-upload-panel]");
  var nameOut = root.querySelector("[data-upload-name]");
  var sizeOut = root.querySelector("[data-upload-size]");
  var stateOut = root.querySelector("[data-upload-state]");
  var percentOut = root.querySelector("[data-upload-percent]");
  var progress = root.querySelector("[data-upload-progress]");
  var bar = root.querySelector("[data-upload-bar]");
  var detailOut = root.querySelector("[data-upload-detail]");
  var cancelButton = root.querySelector("[data-upload-cancel]");
  var errorBox = root.querySelector("[data-upload-error]");
  var errorText = root.querySelector("[data-upload-error-text]");
  var successBox = root.querySelector("[data-upload-success]");
  var successText = root.querySelector("[data-upload-success-text]");
  var live = root.querySelector("[data-upload-live]");
  var verdictBox = root.querySelector("[data-upload-verdict]");
  var verdictTitle = root.querySelector("[data-verdict-title]");
  var verdictText = root.querySelector("[data-verdict-text]");
  var verdictReasons = root.querySelector("[data-verdict-reasons]");
  var verdictLink = root.querySelector("[data-verdict-link]");

  var current = null; // the upload in progress: {file, id, xhr, cancelled, started, startBytes, announced}
  var latest = null; // the last upload started, in progress or not: a late answer about an older one shows nothing
  var watching = null; // the contribution whose validation is being followed: {id, stopped}

  // ---------- formatting ----------

  function human(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    var units = ["KB", "MB", "GB", "TB"];
    var value = bytes;
    var unit = -1;
    do {
      value /= 1024;
      unit += 1;
    } while (value >= 1024 && unit < units.length - 1);
    return value.toFixed(value < 10 ? 1 : 0) + " " + units[unit];
  }

  function humanTime(seconds) {
    if (!isFinite(seconds) || seconds < 0) return "";
    if (seconds < 60) return "about " + Math.max(1, Math.round(seconds)) + " s left";
    if (seconds < 3600) return "about " + Math.round(seconds / 60) + " min left";
    var hours = Math.floor(seconds / 3600);
    return "about " + hours + " h " + Math.round((seconds - hours * 3600) / 60) + " min left";
  }

  function extension(name) {
    var dot = name.lastIndexOf(".");
    return dot === -1 ? "" : name.slice(dot).toLowerCase();
  }

  // ---------- what people see ----------

  function announce(text) {
    window.DataBounty.announce(live, text);
  }

  // ``link`` (optional) follows the text, e.g. to the report of the earlier contribution.
  function showError(text, link) {
    errorText.replaceChildren(document.createTextNode(text));
    if (link) errorText.append(" ", link);
    errorBox.hidden = false;
    successBox.hidden = true;
  }

  function clearMessages() {
    errorBox.hidden = true;
    successBox.hidden = true;
    verdictBox.hidden = true;
  }

  function reportLink(id, text) {
    var link = document.createElement("a");
    link.href = reportUrl.replace(/\/0\/$/, "/" + id + "/");
    link.textContent = text;
    return link;
  }

  function setState(text) {
    stateOut.textContent = text;
  }

  function setBusy(busy) {
    root.classList.toggle("is-uploading", busy);
    dropzone.classList.toggle("is-disabled", busy);
    input.disabled = busy;
    cancelButton.hidden = !busy;
  }

  function setProgress(bytes) {
    var state = current;
    if (!state) return;
    var total = state.file.size;
    var done = Math.min(bytes, total);
    var percent = total ? Math.floor((done / total) * 100) : 0;
    bar.style.setProperty("--progress-value", percent + "%");
    progress.setAttribute("aria-valuenow", String(percent));
    progress.setAttribute("aria-valuetext", percent + "%, " + human(done) + " of " + human(total));
    percentOut.textContent = percent + "%";
    var parts = [human(done) + " of " + human(total)];
    // Speed over this session's bytes only: bytes that arrived before a resume took no time now.
    var elapsed = (performance.now() - state.started) / 1000;
    var sent = done - state.startBytes;
    if (elapsed > 0.5 && sent > 0 && done < total) {
      var speed = sent / elapsed;
      parts.push(human(speed) + "/s");
      parts.push(humanTime((total - done) / speed));
    }
    detailOut.textContent = parts.join(" · ");
    // Announce at each quarter, not every tick.
    var quarter = Math.floor(percent / 25);
    if (quarter > state.announced && percent < 100) {
      state.announced = quarter;
      announce("Uploaded " + percent + "%.");
    }
  }

  // ---------- requests ----------

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
    setState("Connection lost: retrying in " + left + " s…");
    announce("Connection lost. Retrying in " + seconds + " seconds.");
    var tick = function () {
      left -= 1;
      if (left > 0 && !state.cancelled) setState("Connection lost: retrying in " + left + " s…");
    };
    var timer = window.setInterval(tick, 1000);
    return wait(seconds * 1000).then(function () {
      window.clearInterval(timer);
      checkCancelled(state);
      setState("Resuming…");
    });
  }

  // ---------- one request for small files ----------

  // From the moment the whole body is sent until the answer comes (state.sent), the server may
  // store the file whatever the page does, so Cancel no longer aborts: the page waits for the
  // answer (see cancel()), and a failure then is not retried.
  function sendDirect(file, state) {
    var failures = 0;
    function retryable() {
      return !state.cancelledLate && ++failures <= MAX_FAILURES;
    }
    function attempt() {
      checkCancelled(state);
      var body = new FormData();
      body.append("file", file, file.name);
      setState("Uploading…");
      return request("POST", directUrl, {
        body: body,
        state: state,
        onProgress: function (loaded) {
          // The multipart envelope adds a few hundred bytes: never show more than the file.
          setProgress(Math.min(loaded, file.size));
        },
        onSent: function () {
          state.sent = true;
        },
      }).then(
        function (response) {
          state.sent = false; // answered: a Cancel during a retry's wait aborts again
          if (response.status === 201) return response.data;
          if (transient(response) && retryable()) return backoff(failures, state).then(attempt);
          throw failure(response);
        },
        function (error) {
          state.sent = false;
          if (error.network && retryable()) return backoff(failures, state).then(attempt);
          throw error;
        }
      );
    }
    return attempt();
  }

  // ---------- resumable chunks for large files ----------

  function storageKey(file) {
    return STORAGE_PREFIX + slug + ":" + file.name + ":" + file.size + ":" + file.lastModified;
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
    setState("Looking for your earlier upload…");
    return json("GET", uploadsUrl + id, undefined, state).then(
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
    return json("POST", startUrl, { filename: file.name, total_size: file.size }, state).then(function (response) {
      if (response.status !== 201) throw failure(response);
      remember(file, response.data.id);
      return { id: response.data.id, offset: Number(response.data.received_bytes) || 0, chunk: Number(response.data.chunk_size) };
    });
  }

  // Asks the server how many bytes it holds: the only offset worth trusting after a failure.
  function serverOffset(state) {
    return json("GET", uploadsUrl + state.id, undefined, state).then(function (response) {
      if (response.status === 200) return Number(response.data.received_bytes) || 0;
      if (transient(response)) throw { network: true };
      throw failure(response);
    });
  }

  function sendChunks(file, state) {
    return resumable(file, state)
      .then(function (found) {
        checkCancelled(state);
        if (found) {
          if (found.offset > 0) announce("Resuming your earlier upload at " + Math.floor((found.offset / file.size) * 100) + "%.");
          return found;
        }
        setState("Starting…");
        return start(file, state);
      })
      .then(function (session) {
        state.id = session.id;
        if (session.contribution) return { id: session.contribution, status: "uploaded" };
        var size = session.chunk > 0 ? session.chunk : chunkBytes;
        var offset = session.offset;
        var failures = 0;
        state.startBytes = offset;
        state.started = performance.now();
        setProgress(offset);

        function next() {
          checkCancelled(state);
          if (offset >= file.size) return complete();
          var end = Math.min(offset + size, file.size);
          setState(offset === state.startBytes && offset > 0 ? "Resuming…" : "Uploading…");
          var base = offset;
          return request("PUT", uploadsUrl + state.id, {
            state: state,
            headers: {
              "Content-Type": "application/octet-stream",
              "Content-Range": "bytes " + base + "-" + (end - 1) + "/" + file.size,
            },
            body: file.slice(base, end),
            onProgress: function (loaded) {
              setProgress(base + Math.min(loaded, end - base));
            },
          }).then(
            function (response) {
              var data = response.data || {};
              if (response.status === 200) {
                failures = 0;
                offset = Number(data.received_bytes);
                setProgress(offset);
                return next();
              }
              if (response.status === 409 && data.code === "offset_mismatch") {
                offset = Number(data.received_bytes) || 0;
                return next();
              }
              if (transient(response)) return retry();
              if (response.status === 404 || data.code === "upload_expired") remember(file, null);
              throw failure(response);
            },
            retryOnNetworkError(retry)
          );
        }

        function retry() {
          failures += 1;
          if (failures > MAX_FAILURES) {
            throw new Error("The connection keeps dropping. Choose the same file again later: the upload resumes where it stopped.");
          }
          return backoff(failures, state)
            .then(function () {
              return serverOffset(state);
            })
            .then(
              function (received) {
                offset = received;
                setProgress(offset);
                return next();
              },
              retryOnNetworkError(retry)
            );
        }

        function complete() {
          setState("Finishing…");
          return json("POST", uploadsUrl + state.id + "/complete", undefined, state).then(
            function (response) {
              var data = response.data || {};
              if (response.status === 201) return data;
              if (response.status === 409 && data.code === "upload_finished") {
                // An earlier "complete" went through but its answer was lost.
                return completedAs(state.id, state).then(function (contributionId) {
                  if (contributionId) return { id: contributionId, status: "uploaded" };
                  throw failure(response);
                });
              }
              if (response.status === 409 && data.code === "upload_incomplete") {
                offset = Number(data.received_bytes) || 0;
                return next();
              }
              if (transient(response)) return retryComplete();
              throw failure(response);
            },
            retryOnNetworkError(retryComplete)
          );
        }

        function retryComplete() {
          failures += 1;
          if (failures > MAX_FAILURES) throw new Error("We couldn’t finish the upload. Choose the same file again to retry.");
          return backoff(failures, state).then(complete);
        }

        return next();
      });
  }

  // ---------- the same file twice, refused from its hash ----------

  function hex(buffer) {
    return Array.prototype.map
      .call(new Uint8Array(buffer), function (byte) {
        return ("0" + byte.toString(16)).slice(-2);
      })
      .join("");
  }

  // The file's SHA-256 in hex, or null when it is too large to read here or the browser cannot
  // hash (SubtleCrypto exists only in secure contexts): the server checks it on upload anyway.
  function sha256(file) {
    if (file.size > hashMaxBytes || !window.crypto || !window.crypto.subtle || !file.arrayBuffer) {
      return Promise.resolve(null);
    }
    return file
      .arrayBuffer()
      .then(function (buffer) {
        return window.crypto.subtle.digest("SHA-256", buffer);
      })
      .then(hex, function () {
        return null;
      });
  }

  // The server's answer when this very file was contributed before, else null (an unanswered
  // check never stops an upload: the server refuses duplicates itself).
  function earlierCopy(file, state) {
    return sha256(file).then(function (digest) {
      checkCancelled(state);
      if (!digest) return null;
      return json("GET", checkUrl + "?sha256=" + digest, undefined, state).then(
        function (response) {
          return response.status === 200 && response.data.duplicate ? response.data : null;
        },
        function (error) {
          if (error.aborted) throw error;
          return null;
        }
      );
    });
  }

  function duplicate(file, earlier) {
    var error = new Error("“" + file.name + "” was already contributed to this dataset (the same SHA-256), so it was not uploaded. Each file is accepted once.");
    error.code = "duplicate_file";
    if (earlier.contribution) error.link = reportLink(earlier.contribution, "Open its report");
    return error;
  }

  // ---------- one upload, start to finish ----------

  function check(file) {
    if (EXTENSIONS.indexOf(extension(file.name)) === -1) {
      return "“" + file.name + "” can’t be uploaded: choose a CSV, TSV, JSONL, Parquet or ZIP file.";
    }
    if (file.size === 0) return "“" + file.name + "” is empty: there is nothing to upload.";
    if (file.size > maxBytes) {
      return "“" + file.name + "” is " + human(file.size) + "; the limit is " + human(maxBytes) + ". Split it into smaller files and upload them one by one.";
    }
    return null;
  }

  function upload(file) {
    if (current) return;
    stopWatching();
    clearMessages();
    var problem = check(file);
    if (problem) {
      panel.hidden = true;
      showError(problem);
      announce(problem);
      return;
    }
    var state = { file: file, id: null, xhr: null, cancelled: false, sent: false, cancelledLate: false, started: performance.now(), startBytes: 0, announced: 0 };
    current = state;
    latest = state;
    nameOut.textContent = file.name;
    sizeOut.textContent = human(file.size);
    panel.hidden = false;
    panel.classList.remove("is-done", "is-failed");
    setBusy(true);
    setProgress(0);
    announce("Uploading " + file.name + ".");

    var chunked = file.size >= chunkBytes;
    setState("Checking the file…");
    var job = earlierCopy(file, state).then(function (earlier) {
      if (earlier) throw duplicate(file, earlier);
      return chunked ? sendChunks(file, state) : sendDirect(file, state);
    });
    job.then(
      function (contribution) {
        if (state.cancelled) return;
        remember(file, null);
        if (state.cancelledLate) keptAfterCancel(state, contribution.id);
        else finished(file, contribution);
      },
      function (error) {
        if (state.cancelled) return; // cancel() tidied up already
        current = null;
        setBusy(false);
        panel.classList.add("is-failed");
        setState("Upload stopped");
        var message = (error && error.message) || "The upload failed. Try again.";
        if (error && error.network) message = "We couldn’t reach DataBounty. Check your connection and choose the file again.";
        var refusedCopy = error && error.code === "duplicate_file";
        if (refusedCopy) {
          setState("Not uploaded");
          // The page's own check (no HTTP status) refuses before sending; the server, after.
          if (!state.id && !error.status) detailOut.textContent = human(file.size) + " · refused before any byte was sent";
          if (state.id) {
            // Refused at the end of a chunked upload: nothing to resume, let the server forget it.
            remember(file, null);
            json("DELETE", uploadsUrl + state.id).catch(function () {});
          }
        } else if (state.id && chunked && !(error && error.status === 404)) {
          message += " Choosing the same file again resumes the upload.";
        }
        showError(message, error && error.link);
        announce(message);
      }
    ).then(function () {
      // A Cancel that came too late hid its own button: back to the file input, unless the
      // person has gone on to something else meanwhile.
      var active = document.activeElement;
      if (state.cancelledLate && (!active || active === document.body)) input.focus();
    });
  }

  // ``lead`` (optional) opens the message instead of "“name” is uploaded.".
  function finished(file, contribution, lead) {
    lead = lead || "“" + file.name + "” is uploaded.";
    current = null;
    setBusy(false);
    bar.style.setProperty("--progress-value", "100%");
    progress.setAttribute("aria-valuenow", "100");
    percentOut.textContent = "100%";
    setState("Uploaded");
    detailOut.textContent = human(file.size) + " · waiting for a validation worker…";
    panel.classList.add("is-done");
    successText.replaceChildren(
      document.createTextNode(lead + " Its rows are being checked: the verdict appears here as soon as they are. "),
      reportLink(contribution.id, "Open the report")
    );
    successBox.hidden = false;
    errorBox.hidden = true;
    announce(lead + " Its rows are being checked.");
    refreshRows();
    watch(file, contribution.id);
  }

  // ---------- following validation to its verdict ----------

  function stopWatching() {
    if (watching) watching.stopped = true;
    watching = null;
  }

  function watch(file, id) {
    var watcher = { id: id, stopped: false, failures: 0 };
    watching = watcher;
    var url = contributionUrl.replace(/\/0\/$/, "/" + id + "/");

    function again() {
      if (watcher.failures > MAX_FAILURES) {
        detailOut.textContent = human(file.size) + " · still being checked: the report page follows it";
        return;
      }
      // Slower after failures (a server restarting), at most every 15 s.
      window.setTimeout(poll, Math.min(15000, POLL_MS * Math.pow(2, watcher.failures)));
    }

    function poll() {
      if (watcher.stopped) return;
      json("GET", url).then(
        function (response) {
          if (watcher.stopped) return;
          var data = response.data || {};
          if (response.status === 200 && FINISHED.indexOf(data.status) !== -1) {
            watching = null;
            showVerdict(file, data);
            return;
          }
          if (response.status === 200) {
            watcher.failures = 0;
            setState(data.status === "validating" ? "Checking rows… " + (Number(data.progress) || 0) + "%" : "Queued for validation");
            detailOut.textContent = human(file.size) + (data.rows_total ? " · " + count(Number(data.rows_total), "row") + " read so far" : " · waiting for a validation worker…");
          } else {
            // A 5xx may pass; a 403 or 404 will not (signed out, or gone): give up at once.
            watcher.failures = transient(response) ? watcher.failures + 1 : MAX_FAILURES + 1;
          }
          again();
        },
        function () {
          watcher.failures += 1;
          again();
        }
      );
    }
    window.setTimeout(poll, POLL_MS);
  }

  function count(n, noun) {
    return n.toLocaleString("en") + " " + noun + (n === 1 ? "" : "s");
  }

  // The report's reasons, most rows first: [[reason, rows], …].
  function topReasons(report) {
    var reasons = (report && report.reasons) || {};
    return Object.keys(reasons)
      .map(function (reason) {
        return [reason, Number(reasons[reason]) || 0];
      })
      .sort(function (a, b) {
        return b[1] - a[1];
      })
      .slice(0, TOP_REASONS);
  }

  var VERDICTS = {
    accepted: { tone: "success", state: "Accepted" },
    partially_accepted: { tone: "warning", state: "Partly accepted" },
    rejected: { tone: "error", state: "Rejected" },
    failed: { tone: "error", state: "Validation failed" },
  };

  function showVerdict(file, data) {
    var verdict = VERDICTS[data.status];
    var report = data.report || {};
    var total = Number(data.rows_total) || 0;
    var accepted = Number(data.rows_accepted) || 0;
    var rejected = Number(data.rows_rejected) || 0;
    var title;
    var text;
    if (data.status === "accepted") {
      title = "Accepted: all " + count(accepted, "row");
      text = "Every row passed the checks and is now an item people can label.";
    } else if (data.status === "partially_accepted") {
      title = "Partly accepted: " + accepted.toLocaleString("en") + " of " + count(total, "row");
      text = count(rejected, "row") + " did not pass. Fix those and upload them as a new file. The main reasons:";
    } else if (data.status === "rejected") {
      title = "Rejected";
      text = report.error ? report.error.detail : "No row passed the checks. The main reasons:";
    } else {
      title = "Validation failed";
      text = "Something went wrong on our side while checking this file. Moderators were told; you don’t need to upload it again.";
    }
    var reasons = report.error ? [] : topReasons(report);
    verdictBox.className = "message message--" + verdict.tone + " upload-message upload-verdict upload-verdict--" + data.status;
    verdictTitle.textContent = title;
    verdictText.textContent = text;
    verdictReasons.replaceChildren.apply(
      verdictReasons,
      reasons.map(function (entry) {
        var item = document.createElement("li");
        var reason = document.createElement("span");
        reason.textContent = entry[0].charAt(0).toUpperCase() + entry[0].slice(1);
        var rows = document.createElement("span");
        rows.className = "upload-verdict__rows";
        rows.textContent = count(entry[1], "row");
        item.append(reason, " ", rows); // the space: read as "… int64 2 rows", not "int642"
        return item;
      })
    );
    verdictReasons.hidden = reasons.length === 0;
    verdictLink.href = reportUrl.replace(/\/0\/$/, "/" + data.id + "/");
    verdictBox.hidden = false;
    successBox.hidden = true;
    setState(verdict.state);
    panel.classList.toggle("is-failed", verdict.tone === "error");
    panel.classList.toggle("is-done", verdict.tone !== "error");
    var detail = [human(file.size), count(total, "row") + " read"];
    if (data.quality_score !== null && data.quality_score !== undefined) detail.push("quality score " + Number(data.quality_score).toFixed(2));
    detailOut.textContent = detail.join(" · ");
    announce(title + ". " + text + (reasons.length ? " " + reasons[0][0] + ": " + count(reasons[0][1], "row") + "." : ""));
    refreshRows();
  }

  function refreshRows() {
    var target = document.getElementById("contribution-rows");
    if (window.htmx && target) {
      window.htmx.ajax("GET", rowsUrl, { target: "#contribution-rows", swap: "outerHTML" });
    }
  }

  function cancel() {
    var state = current;
    if (!state) return;
    if (state.sent) {
      // The whole file is on the server's side already: aborting now would only stop the page
      // from hearing whether it was kept. Wait for the answer, and say so.
      state.cancelledLate = true;
      cancelButton.hidden = true;
      setState("Already sent: waiting for the server…");
      detailOut.textContent = human(state.file.size) + " · all sent before you pressed Cancel, so it can no longer be stopped";
      announce("“" + state.file.name + "” had already been sent when you pressed Cancel: waiting for the server’s answer.");
      return;
    }
    stopWatching();
    state.cancelled = true;
    if (state.xhr) state.xhr.abort();
    current = null;
    setBusy(false);
    panel.hidden = true;
    clearMessages();
    input.focus();
    if (!state.id) {
      announce("Upload of " + state.file.name + " cancelled.");
      return;
    }
    remember(state.file, null);
    json("DELETE", uploadsUrl + state.id)
      .then(function (response) {
        // Refused as finished: the "complete" may have reached the server before the Cancel.
        if (response.status === 409 && response.data.code === "upload_finished") return completedAs(state.id);
        return null;
      })
      .catch(function () {
        return null;
      })
      .then(function (contributionId) {
        if (contributionId) keptAfterCancel(state, contributionId);
        else announce("Upload of " + state.file.name + " cancelled.");
      });
  }

  // Cancel came after the file reached the server, which made contribution ``id`` of it.
  function keptAfterCancel(state, id) {
    if (latest !== state) {
      refreshRows(); // another upload has the panel now; the list still shows this one
      return;
    }
    panel.hidden = false;
    finished(state.file, { id: id }, "“" + state.file.name + "” had already arrived when you pressed Cancel, so it was kept.");
  }

  // The contribution upload ``id`` became, or null when it did not complete (aborted, expired).
  function completedAs(id, state) {
    return json("GET", uploadsUrl + id, undefined, state).then(function (response) {
      var data = response.data || {};
      return response.status === 200 && data.status === "complete" && data.contribution ? data.contribution : null;
    });
  }

  // ---------- choosing a file ----------

  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (file) upload(file);
    input.value = ""; // choosing the same file again (to resume) fires change again
  });

  cancelButton.addEventListener("click", cancel);

  var depth = 0; // dragenter/dragleave fire for every child the pointer crosses
  dropzone.addEventListener("dragenter", function (event) {
    event.preventDefault();
    depth += 1;
    if (!current) dropzone.classList.add("is-dragover");
  });
  dropzone.addEventListener("dragover", function (event) {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = current ? "none" : "copy";
  });
  dropzone.addEventListener("dragleave", function () {
    depth = Math.max(0, depth - 1);
    if (depth === 0) dropzone.classList.remove("is-dragover");
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    depth = 0;
    dropzone.classList.remove("is-dragover");
    if (current) return;
    var files = event.dataTransfer ? event.dataTransfer.files : null;
    if (!files || !files.length) return;
    if (files.length > 1) {
      showError("Drop one file at a time: each file becomes its own contribution with its own report.");
      return;
    }
    upload(files[0]);
  });
  // A file dropped next to the zone must not replace the page with the file.
  window.addEventListener("dragover", function (event) {
    if (!dropzone.contains(event.target)) event.preventDefault();
  });
  window.addEventListener("drop", function (event) {
    if (!dropzone.contains(event.target)) event.preventDefault();
  });
})();
