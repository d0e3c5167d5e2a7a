/* The dataset page's "labels per day" chart (Chart.js 4, static/vendor/chart.umd.min.js).
   Reads the numbers from the json_script #labels-per-day ([{day: "YYYY-MM-DD", labels: n}], days
   without labels left out), fills the gaps with zeros up to today, and draws bars in the brand
   colours of the current (light or dark) theme. The same numbers are in a table beside it. */
(function () {
  "use strict";

  var DAY_MS = 24 * 60 * 60 * 1000;

  var cssVar = window.DataBounty.cssVar; // static/js/app.js

  function parseDay(iso) {
    var parts = iso.split("-").map(Number);
    return new Date(Date.UTC(parts[0], parts[1] - 1, parts[2]));
  }

  function isoDay(date) {
    return date.toISOString().slice(0, 10);
  }

  // Every day from the first one with labels (at most 30 days back) to today, zeros included,
  // so a quiet day shows as a gap rather than vanishing.
  function series(rows) {
    var counts = {};
    rows.forEach(function (row) {
      counts[row.day] = row.labels;
    });
    var now = new Date();
    var today = new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()));
    var first = rows.length ? parseDay(rows[0].day) : today;
    var earliest = new Date(today.getTime() - 29 * DAY_MS);
    if (first < earliest) first = earliest;
    var last = rows.length ? parseDay(rows[rows.length - 1].day) : today;
    if (last < today) last = today;
    // At least a week on the axis, so one day of labels is not one fat bar.
    if ((last - first) / DAY_MS < 6) first = new Date(last.getTime() - 6 * DAY_MS);
    var days = [];
    for (var t = first.getTime(); t <= last.getTime(); t += DAY_MS) {
      var day = isoDay(new Date(t));
      days.push({ day: day, labels: counts[day] || 0 });
    }
    return days;
  }

  function label(iso, options) {
    return parseDay(iso).toLocaleDateString(undefined, Object.assign({ timeZone: "UTC" }, options));
  }

  function draw() {
    var canvas = document.querySelector("[data-chart-canvas]");
    var source = document.getElementById("labels-per-day");
    if (!canvas || !source || typeof window.Chart === "undefined") return;
    var days = series(JSON.parse(source.textContent));
    var total = days.reduce(function (sum, d) {
      return sum + d.labels;
    }, 0);
    var peak = days.reduce(function (best, d) {
      return d.labels > best.labels ? d : best;
    }, days[0]);
    canvas.setAttribute(
      "aria-label",
      "Bar chart of labels per day from " + label(days[0].day, { day: "numeric", month: "long" }) +
        " to " + label(days[days.length - 1].day, { day: "numeric", month: "long" }) + ": " +
        total + " label" + (total === 1 ? "" : "s") + " in all, at most " + peak.labels + " on " +
        label(peak.day, { day: "numeric", month: "long" }) + ". The numbers are also in the table below."
    );

    var brand = cssVar("--color-brand") || "#4f46e5";
    var text = cssVar("--color-text-muted") || "#4b5563";
    var grid = cssVar("--color-border") || "#e2e6ef";

    var chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: days.map(function (d) {
          return label(d.day, { day: "numeric", month: "short" });
        }),
        datasets: [
          {
            label: "Labels",
            data: days.map(function (d) {
              return d.labels;
            }),
            backgroundColor: brand,
            hoverBackgroundColor: cssVar("--color-accent") || brand,
            borderRadius: 4,
            maxBarThickness: 28,
          },
        ],
      },
      options: window.DataBounty.chartOptions(
        {
          title: function (items) {
            return label(days[items[0].dataIndex].day, { weekday: "short", day: "numeric", month: "long" });
          },
          label: function (item) {
            return " " + item.parsed.y + " label" + (item.parsed.y === 1 ? "" : "s");
          },
        },
        {
          scales: {
            x: {
              grid: { display: false },
              ticks: { color: text, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 },
            },
            y: {
              beginAtZero: true,
              grid: { color: grid },
              border: { display: false },
              ticks: { color: text, precision: 0 },
            },
          },
        }
      ),
    });
    canvas.closest("[data-chart]").classList.add("is-ready");

    // Follow the operating system between light and dark without a reload.
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () {
      chart.data.datasets[0].backgroundColor = cssVar("--color-brand");
      chart.options.scales.x.ticks.color = cssVar("--color-text-muted");
      chart.options.scales.y.ticks.color = cssVar("--color-text-muted");
      chart.options.scales.y.grid.color = cssVar("--color-border");
      chart.update();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
