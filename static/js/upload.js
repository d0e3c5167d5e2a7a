/* The contribute page's uploader: a drop zone and a file input, checks before any byte is sent,
   and a progress bar with bytes, percent, speed and time left.

   Small files (under the chunk size) go in one multipart POST; larger ones use the resumable
   upload API, and the same file chosen again after a failure or a reload resumes. Before any
   byte is sent, the file's SHA-256 says whether the very same file was contributed already.
   Once uploaded, the contribution is followed until validation ends, and the panel shows the
   verdict (accepted, partly accepted, rejected), its main reasons and the report.

   This file is the flow: one upload from start to finish, Cancel, and choosing or dropping a
   file. It runs last of the uploader's scripts (templates/datasets_app/contribute.html loads
   them in this order). upload_panel.js creates window.DataBounty.uploader when the page has a
   drop zone, and the others add their parts to it (and do nothing without it):
     upload_panel.js     the settings (data-* attributes), the panel's parts, sizes and times in
                         words, and what people see: state, progress, errors (uploader.current)
     upload_requests.js  requests, refusals as errors, and retries with backoff
     upload_direct.js    small files: one multipart POST
     upload_chunks.js    large files: resumable chunks, remembered across reloads
     upload_hash.js      the same file twice, refused from its hash before sending
     upload_verdict.js   following validation to its verdict, and showing it */
(function () {
  "use strict";

  var uploader = window.DataBounty.uploader;
  if (!uploader) return;

  var EXTENSIONS = [".csv", ".tsv", ".jsonl", ".parquet", ".zip"];
  var latest = null; // the last upload started, in progress or not: a late answer about an older one shows nothing

  // ---------- one upload, start to finish ----------

  function check(file) {
    if (EXTENSIONS.indexOf(uploader.extension(file.name)) === -1) {
      return "“" + file.name + "” can’t be uploaded: choose a CSV, TSV, JSONL, Parquet or ZIP file.";
    }
    if (file.size === 0) return "“" + file.name + "” is empty: there is nothing to upload.";
    if (file.size > uploader.config.maxBytes) {
      return "“" + file.name + "” is " + uploader.human(file.size) + "; the limit is " + uploader.human(uploader.config.maxBytes) + ". Split it into smaller files and upload them one by one.";
    }
    return null;
  }

  function upload(file) {
    if (uploader.current) return;
    uploader.stopWatching();
    uploader.clearMessages();
    var problem = check(file);
    if (problem) {
      uploader.el.panel.hidden = true;
      uploader.showError(problem);
      uploader.announce(problem);
      return;
    }
    var state = { file: file, id: null, xhr: null, cancelled: false, sent: false, cancelledLate: false, started: performance.now(), startBytes: 0, announced: 0 };
    uploader.current = state;
    latest = state;
    uploader.el.nameOut.textContent = file.name;
    uploader.el.sizeOut.textContent = uploader.human(file.size);
    uploader.el.panel.hidden = false;
    uploader.el.panel.classList.remove("is-done", "is-failed");
    uploader.setBusy(true);
    uploader.setProgress(0);
    uploader.announce("Uploading " + file.name + ".");

    var chunked = file.size >= uploader.config.chunkBytes;
    uploader.setState("Checking the file…");
    var job = uploader.earlierCopy(file, state).then(function (earlier) {
      if (earlier) throw uploader.duplicate(file, earlier);
      return chunked ? uploader.sendChunks(file, state) : uploader.sendDirect(file, state);
    });
    job.then(
      function (contribution) {
        if (state.cancelled) return;
        uploader.remember(file, null);
        if (state.cancelledLate) keptAfterCancel(state, contribution.id);
        else finished(file, contribution);
      },
      function (error) {
        if (state.cancelled) return; // cancel() tidied up already
        uploader.current = null;
        uploader.setBusy(false);
        uploader.el.panel.classList.add("is-failed");
        uploader.setState("Upload stopped");
        var message = (error && error.message) || "The upload failed. Try again.";
        if (error && error.network) message = "We couldn’t reach DataBounty. Check your connection and choose the file again.";
        var refusedCopy = error && error.code === "duplicate_file";
        if (refusedCopy) {
          uploader.setState("Not uploaded");
          // The page's own check (no HTTP status) refuses before sending; the server, after.
          if (!state.id && !error.status) uploader.el.detailOut.textContent = uploader.human(file.size) + " · refused before any byte was sent";
          if (state.id) {
            // Refused at the end of a chunked upload: nothing to resume, let the server forget it.
            uploader.remember(file, null);
            uploader.json("DELETE", uploader.config.uploadsUrl + state.id).catch(function () {});
          }
        } else if (state.id && chunked && !(error && error.status === 404)) {
          message += " Choosing the same file again resumes the upload.";
        }
        uploader.showError(message, error && error.link);
        uploader.announce(message);
      }
    ).then(function () {
      // A Cancel that came too late hid its own button: back to the file input, unless the
      // person has gone on to something else meanwhile.
      var active = document.activeElement;
      if (state.cancelledLate && (!active || active === document.body)) uploader.el.input.focus();
    });
  }

  // ``lead`` (optional) opens the message instead of "“name” is uploaded.".
  function finished(file, contribution, lead) {
    lead = lead || "“" + file.name + "” is uploaded.";
    uploader.current = null;
    uploader.setBusy(false);
    uploader.el.bar.style.setProperty("--progress-value", "100%");
    uploader.el.progress.setAttribute("aria-valuenow", "100");
    uploader.el.percentOut.textContent = "100%";
    uploader.setState("Uploaded");
    uploader.el.detailOut.textContent = uploader.human(file.size) + " · waiting for a validation worker…";
    uploader.el.panel.classList.add("is-done");
    uploader.el.successText.replaceChildren(
      document.createTextNode(lead + " Its rows are being checked: the verdict appears here as soon as they are. "),
      uploader.reportLink(contribution.id, "Open the report")
    );
    uploader.el.successBox.hidden = false;
    uploader.el.errorBox.hidden = true;
    uploader.announce(lead + " Its rows are being checked.");
    refreshRows();
    uploader.watch(file, contribution.id);
  }

  function refreshRows() {
    var target = document.getElementById("contribution-rows");
    if (window.htmx && target) {
      window.htmx.ajax("GET", uploader.config.rowsUrl, { target: "#contribution-rows", swap: "outerHTML" });
    }
  }

  function cancel() {
    var state = uploader.current;
    if (!state) return;
    if (state.sent) {
      // The whole file is on the server's side already: aborting now would only stop the page
      // from hearing whether it was kept. Wait for the answer, and say so.
      state.cancelledLate = true;
      uploader.el.cancelButton.hidden = true;
      uploader.setState("Already sent: waiting for the server…");
      uploader.el.detailOut.textContent = uploader.human(state.file.size) + " · all sent before you pressed Cancel, so it can no longer be stopped";
      uploader.announce("“" + state.file.name + "” had already been sent when you pressed Cancel: waiting for the server’s answer.");
      return;
    }
    uploader.stopWatching();
    state.cancelled = true;
    if (state.xhr) state.xhr.abort();
    uploader.current = null;
    uploader.setBusy(false);
    uploader.el.panel.hidden = true;
    uploader.clearMessages();
    uploader.el.input.focus();
    if (!state.id) {
      uploader.announce("Upload of " + state.file.name + " cancelled.");
      return;
    }
    uploader.remember(state.file, null);
    uploader.json("DELETE", uploader.config.uploadsUrl + state.id)
      .then(function (response) {
        // Refused as finished: the "complete" may have reached the server before the Cancel.
        if (response.status === 409 && response.data.code === "upload_finished") return uploader.completedAs(state.id);
        return null;
      })
      .catch(function () {
        return null;
      })
      .then(function (contributionId) {
        if (contributionId) keptAfterCancel(state, contributionId);
        else uploader.announce("Upload of " + state.file.name + " cancelled.");
      });
  }

  // Cancel came after the file reached the server, which made contribution ``id`` of it.
  function keptAfterCancel(state, id) {
    if (latest !== state) {
      refreshRows(); // another upload has the panel now; the list still shows this one
      return;
    }
    uploader.el.panel.hidden = false;
    finished(state.file, { id: id }, "“" + state.file.name + "” had already arrived when you pressed Cancel, so it was kept.");
  }

  // ---------- choosing a file ----------

  uploader.el.input.addEventListener("change", function () {
    var file = uploader.el.input.files && uploader.el.input.files[0];
    if (file) upload(file);
    uploader.el.input.value = ""; // choosing the same file again (to resume) fires change again
  });

  uploader.el.cancelButton.addEventListener("click", cancel);

  var depth = 0; // dragenter/dragleave fire for every child the pointer crosses
  uploader.el.dropzone.addEventListener("dragenter", function (event) {
    event.preventDefault();
    depth += 1;
    if (!uploader.current) uploader.el.dropzone.classList.add("is-dragover");
  });
  uploader.el.dropzone.addEventListener("dragover", function (event) {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = uploader.current ? "none" : "copy";
  });
  uploader.el.dropzone.addEventListener("dragleave", function () {
    depth = Math.max(0, depth - 1);
    if (depth === 0) uploader.el.dropzone.classList.remove("is-dragover");
  });
  uploader.el.dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    depth = 0;
    uploader.el.dropzone.classList.remove("is-dragover");
    if (uploader.current) return;
    var files = event.dataTransfer ? event.dataTransfer.files : null;
    if (!files || !files.length) return;
    if (files.length > 1) {
      uploader.showError("Drop one file at a time: each file becomes its own contribution with its own report.");
      return;
    }
    upload(files[0]);
  });
  // A file dropped next to the zone must not replace the page with the file.
  window.addEventListener("dragover", function (event) {
    if (!uploader.el.dropzone.contains(event.target)) event.preventDefault();
  });
  window.addEventListener("drop", function (event) {
    if (!uploader.el.dropzone.contains(event.target)) event.preventDefault();
  });

  Object.assign(uploader, {
    refreshRows: refreshRows,
  });
})();
