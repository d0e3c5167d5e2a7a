/* A release's per-column statistics as charts (Chart.js 4, static/vendor/chart.umd.min.js), after
   the pattern of score_chart.js. Each [data-column-chart="ID"] box holds a canvas; the json_script
   #ID holds {bars: [{label, count}], horizontal, x, y, description} (release_selectors
   ._column_chart). Text lengths and numbers are vertical histograms; the label column's class
   balance is horizontal bars. The same numbers are in the table below each chart. */
(function () {
  "use strict";

  var cssVar = window.DataBounty.cssVar; // static/js/app.js

  function plural(n) {
    return n.toLocaleString() + " row" + (n === 1 ? "" : "s");
  }

  function drawOne(box) {
    var source = document.getElementById(box.getAttribute("data-column-chart"));
    var canvas = box.querySelector("canvas");
    if (!source || !canvas || window.Chart.getChart(canvas)) return;
    var chart = JSON.parse(source.textContent);
    var text = cssVar("--color-text-muted") || "#4b5563";
    var grid = cssVar("--color-border") || "#e2e6ef";
    var valueAxis = {
      beginAtZero: true,
      grid: { color: grid },
      border: { display: false },
      title: { display: true, text: chart.horizontal ? chart.x : chart.y, color: text },
      ticks: { color: text, precision: 0 },
    };
    var categoryAxis = {
      grid: { display: false },
      title: { display: !chart.horizontal, text: chart.x, color: text },
      ticks: { color: text, maxRotation: 0, autoSkip: true, autoSkipPadding: 6 },
    };

    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.bars.map(function (bar) {
          return bar.label;
        }),
        datasets: [
          {
            label: chart.y,
            // An empty bin has no bar; any other is at least minBarLength long, so a rare class
            // beside a common one still shows.
            data: chart.bars.map(function (bar) {
              return bar.count || null;
            }),
            minBarLength: 3,
            backgroundColor: cssVar(chart.horizontal ? "--color-accent" : "--color-brand") || "#4f46e5",
            hoverBackgroundColor: cssVar("--color-brand") || "#4f46e5",
            borderRadius: 3,
            maxBarThickness: chart.horizontal ? 22 : 32,
            categoryPercentage: chart.horizontal ? 0.8 : 0.92,
            barPercentage: chart.horizontal ? 0.9 : 1,
          },
        ],
      },
      options: window.DataBounty.chartOptions(
        {
          label: function (item) {
            return " " + plural(chart.horizontal ? item.parsed.x : item.parsed.y);
          },
        },
        {
          indexAxis: chart.horizontal ? "y" : "x",
          scales: chart.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        },
        300
      ),
    });
    box.classList.add("is-ready");
  }

  function draw() {
    if (typeof window.Chart === "undefined") return;
    document.querySelectorAll("[data-column-chart]").forEach(drawOne);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
