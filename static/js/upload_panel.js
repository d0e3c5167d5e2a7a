/* The uploader's settings and what people see (templates/datasets_app/contribute.html): the
   drop zone's data-* attributes, the panel's parts, sizes and times in words, and the panel's
   state, progress bar (bytes, percent, speed, time left), errors and live announcements.
   The first of the uploader's parts: it creates window.DataBounty.uploader, where the others
   (each run only when it exists) find one another and the upload in progress
   (uploader.current, set by upload.js). Without the drop zone there is no uploader. */
(function () {
  "use strict";

  var root = document.querySelector("[data-upload]");
  if (!root) return;


  // The uploader's settings (the drop zone's data-* attributes), for every upload*.js.
  var config = {
    slug: root.getAttribute("data-slug"),
    maxBytes: Number(root.getAttribute("data-max-bytes")),
    chunkBytes: Number(root.getAttribute("data-chunk-bytes")),
    directUrl: root.getAttribute("data-direct-url"),
    startUrl: root.getAttribute("data-start-url"),
    uploadsUrl: root.getAttribute("data-uploads-url"),
    rowsUrl: root.getAttribute("data-rows-url"),
    reportUrl: root.getAttribute("data-report-url"), // ends in /0/
    contributionUrl: root.getAttribute("data-contribution-url"), // the API's, ends in /0/
    checkUrl: root.getAttribute("data-check-url"),
    hashMaxBytes: Number(root.getAttribute("data-hash-max-bytes")) || 0,
  };

  // Its parts, for every upload*.js.
  var el = {
    dropzone: root.querySelector("[data-dropzone]"),
    input: root.querySelector("[data-file-input]"),
    panel: root.querySelector("[data-upload-panel]"),
    nameOut: root.querySelector("[data-upload-name]"),
    sizeOut: root.querySelector("[data-upload-size]"),
    stateOut: root.querySelector("[data-upload-state]"),
    percentOut: root.querySelector("[data-upload-percent]"),
    progress: root.querySelector("[data-upload-progress]"),
    bar: root.querySelector("[data-upload-bar]"),
    detailOut: root.querySelector("[data-upload-detail]"),
    cancelButton: root.querySelector("[data-upload-cancel]"),
    errorBox: root.querySelector("[data-upload-error]"),
    errorText: root.querySelector("[data-upload-error-text]"),
    successBox: root.querySelector("[data-upload-success]"),
    successText: root.querySelector("[data-upload-success-text]"),
    live: root.querySelector("[data-upload-live]"),
    verdictBox: root.querySelector("[data-upload-verdict]"),
    verdictTitle: root.querySelector("[data-verdict-title]"),
    verdictText: root.querySelector("[data-verdict-text]"),
    verdictReasons: root.querySelector("[data-verdict-reasons]"),
    verdictLink: root.querySelector("[data-verdict-link]"),
  };

  // The first of the uploader's parts: the others (each run only when it exists) find one another here.
  var uploader = (window.DataBounty.uploader = {
    config: config,
    el: el,
    MAX_FAILURES: 8, // in a row, per upload, before giving up
    current: null, // the upload in progress: {file, id, xhr, cancelled, started, startBytes, announced}
  });

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
    window.DataBounty.announce(el.live, text);
  }

  // ``link`` (optional) follows the text, e.g. to the report of the earlier contribution.
  function showError(text, link) {
    el.errorText.replaceChildren(document.createTextNode(text));
    if (link) el.errorText.append(" ", link);
    el.errorBox.hidden = false;
    el.successBox.hidden = true;
  }

  function clearMessages() {
    el.errorBox.hidden = true;
    el.successBox.hidden = true;
    el.verdictBox.hidden = true;
  }

  function reportLink(id, text) {
    var link = document.createElement("a");
    link.href = config.reportUrl.replace(/\/0\/$/, "/" + id + "/");
    link.textContent = text;
    return link;
  }

  function setState(text) {
    el.stateOut.textContent = text;
  }

  function setBusy(busy) {
    root.classList.toggle("is-uploading", busy);
    el.dropzone.classList.toggle("is-disabled", busy);
    el.input.disabled = busy;
    el.cancelButton.hidden = !busy;
  }

  function setProgress(bytes) {
    var state = uploader.current;
    if (!state) return;
    var total = state.file.size;
    var done = Math.min(bytes, total);
    var percent = total ? Math.floor((done / total) * 100) : 0;
    el.bar.style.setProperty("--progress-value", percent + "%");
    el.progress.setAttribute("aria-valuenow", String(percent));
    el.progress.setAttribute("aria-valuetext", percent + "%, " + human(done) + " of " + human(total));
    el.percentOut.textContent = percent + "%";
    var parts = [human(done) + " of " + human(total)];
    // Speed over this session's bytes only: bytes that arrived before a resume took no time now.
    var elapsed = (performance.now() - state.started) / 1000;
    var sent = done - state.startBytes;
    if (elapsed > 0.5 && sent > 0 && done < total) {
      var speed = sent / elapsed;
      parts.push(human(speed) + "/s");
      parts.push(humanTime((total - done) / speed));
    }
    el.detailOut.textContent = parts.join(" · ");
    // Announce at each quarter, not every tick.
    var quarter = Math.floor(percent / 25);
    if (quarter > state.announced && percent < 100) {
      state.announced = quarter;
      announce("Uploaded " + percent + "%.");
    }
  }

  Object.assign(uploader, {
    human: human,
    extension: extension,
    announce: announce,
    showError: showError,
    clearMessages: clearMessages,
    reportLink: reportLink,
    setState: setState,
    setBusy: setBusy,
    setProgress: setProgress,
  });
})();
