/* Following validation to its verdict (through window.DataBounty.uploader): once uploaded,
   GET /api/v1/contributions/<id>/ is polled until validation ends, and the panel shows the
   verdict (accepted, partly accepted, rejected), its main reasons and the report. */
(function () {
  "use strict";

  var uploader = window.DataBounty.uploader;
  if (!uploader) return;

  var FINISHED = ["accepted", "partially_accepted", "rejected", "failed"];
  var POLL_MS = 1500;
  var TOP_REASONS = 3;
  var watching = null; // the contribution whose validation is being followed: {id, stopped}

  function stopWatching() {
    if (watching) watching.stopped = true;
    watching = null;
  }

  function watch(file, id) {
    var watcher = { id: id, stopped: false, failures: 0 };
    watching = watcher;
    var url = uploader.config.contributionUrl.replace(/\/0\/$/, "/" + id + "/");

    function again() {
      if (watcher.failures > uploader.MAX_FAILURES) {
        uploader.el.detailOut.textContent = uploader.human(file.size) + " · still being checked: the report page follows it";
        return;
      }
      // Slower after failures (a server restarting), at most every 15 s.
      window.setTimeout(poll, Math.min(15000, POLL_MS * Math.pow(2, watcher.failures)));
    }

    function poll() {
      if (watcher.stopped) return;
      uploader.json("GET", url).then(
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
            uploader.setState(data.status === "validating" ? "Checking rows… " + (Number(data.progress) || 0) + "%" : "Queued for validation");
            uploader.el.detailOut.textContent = uploader.human(file.size) + (data.rows_total ? " · " + count(Number(data.rows_total), "row") + " read so far" : " · waiting for a validation worker…");
          } else {
            // A 5xx may pass; a 403 or 404 will not (signed out, or gone): give up at once.
            watcher.failures = uploader.transient(response) ? watcher.failures + 1 : uploader.MAX_FAILURES + 1;
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
    uploader.el.verdictBox.className = "message message--" + verdict.tone + " upload-message upload-verdict upload-verdict--" + data.status;
    uploader.el.verdictTitle.textContent = title;
    uploader.el.verdictText.textContent = text;
    uploader.el.verdictReasons.replaceChildren.apply(
      uploader.el.verdictReasons,
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
    uploader.el.verdictReasons.hidden = reasons.length === 0;
    uploader.el.verdictLink.href = uploader.config.reportUrl.replace(/\/0\/$/, "/" + data.id + "/");
    uploader.el.verdictBox.hidden = false;
    uploader.el.successBox.hidden = true;
    uploader.setState(verdict.state);
    uploader.el.panel.classList.toggle("is-failed", verdict.tone === "error");
    uploader.el.panel.classList.toggle("is-done", verdict.tone !== "error");
    var detail = [uploader.human(file.size), count(total, "row") + " read"];
    if (data.quality_score !== null && data.quality_score !== undefined) detail.push("quality score " + Number(data.quality_score).toFixed(2));
    uploader.el.detailOut.textContent = detail.join(" · ");
    uploader.announce(title + ". " + text + (reasons.length ? " " + reasons[0][0] + ": " + count(reasons[0][1], "row") + "." : ""));
    uploader.refreshRows();
  }

  Object.assign(uploader, {
    stopWatching: stopWatching,
    watch: watch,
  });
})();
