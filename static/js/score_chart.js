/* The contribution report's "row quality" chart (Chart.js 4, static/vendor/chart.umd.min.js),
   after the pattern of dataset_chart.js. Reads the json_script #score-distribution ({rows, min,
   median, max, mean, buckets: [{low, high, rows}]}) and draws the accepted rows per score bucket.
   The report arrives by htmx while validation runs, so it also draws after each swap. The same
   numbers are in the table below the chart. */
(function () {
  "use strict";

  var cssVar = window.DataBounty.cssVar; // static/js/app.js

  function range(bucket) {
    return bucket.low.toFixed(1) + "–" + bucket.high.toFixed(1);
  }

  function draw() {
    var box = document.querySelector("[data-score-chart]");
    var source = document.getElementById("score-distribution");
    if (!box || !source || typeof window.Chart === "undefined") return;
    var canvas = box.querySelector("canvas");
    if (window.Chart.getChart(canvas)) return; // already drawn
    var buckets = JSON.parse(source.textContent).buckets;
    var text = cssVar("--color-text-muted") || "#4b5563";

    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: buckets.map(range),
        datasets: [
          {
            label: "Accepted rows",
            // An empty bucket has no bar; any other is at least minBarLength tall, so 40 flagged
            // rows beside 4,000 clean ones still show.
            data: buckets.map(function (b) {
              return b.rows || null;
            }),
            minBarLength: 3,
            backgroundColor: cssVar("--color-brand") || "#4f46e5",
            hoverBackgroundColor: cssVar("--color-accent") || cssVar("--color-brand"),
            borderRadius: 4,
            maxBarThickness: 36,
          },
        ],
      },
      options: window.DataBounty.chartOptions(
        {
          title: function (items) {
            return "Score " + items[0].label;
          },
          label: function (item) {
            return " " + item.parsed.y.toLocaleString() + " row" + (item.parsed.y === 1 ? "" : "s");
          },
        },
        {
          scales: {
            x: {
              grid: { display: false },
              title: { display: true, text: "Quality score", color: text },
              ticks: { color: text, maxRotation: 0, autoSkip: true, autoSkipPadding: 8 },
            },
            y: {
              beginAtZero: true,
              grid: { color: cssVar("--color-border") || "#e2e6ef" },
              border: { display: false },
              title: { display: true, text: "Rows", color: text },
              ticks: { color: text, precision: 0 },
            },
          },
        }
      ),
    });
    box.classList.add("is-ready");
  }

  document.addEventListener("htmx:afterSettle", draw);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
