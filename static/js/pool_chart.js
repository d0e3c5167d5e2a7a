/* The bounty page's pool charts (Chart.js 4, static/vendor/chart.umd.min.js), after the pattern
   of dataset_chart.js. Reads the json_script #bounty-pool: {symbol, funded, awarded, left,
   epochs: [{number, end, awarded, left}]}, amounts as exact decimal strings in tokens. Draws a
   doughnut of awarded vs left and, once epochs are computed, a line of what was left after each
   one. Numbers are plotted as floats (only the drawing is approximate); tooltips show the exact
   strings, and the same numbers are in the table below the charts. */
(function () {
  "use strict";

  var cssVar = window.DataBounty.cssVar; // static/js/app.js

  // "1234567.5" → "1,234,567.5": grouping only, never rounding.
  function group(text) {
    var parts = String(text).split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts.join(".");
  }

  function colours() {
    return {
      awarded: cssVar("--color-brand") || "#4f46e5",
      left: cssVar("--color-success-border") || "#a7f3d0",
      leftLine: cssVar("--color-success-text") || "#065f46",
      text: cssVar("--color-text-muted") || "#4b5563",
      grid: cssVar("--color-border") || "#e2e6ef",
      surface: cssVar("--color-surface") || "#ffffff",
    };
  }

  function draw() {
    var source = document.getElementById("bounty-pool");
    if (!source || typeof window.Chart === "undefined") return;
    var pool = JSON.parse(source.textContent);
    var symbol = pool.symbol;
    var c = colours();
    var reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var charts = [];

    var doughnutCanvas = document.querySelector("[data-pool-doughnut]");
    if (doughnutCanvas) {
      var exact = [pool.awarded, pool.left];
      charts.push(
        new window.Chart(doughnutCanvas, {
          type: "doughnut",
          data: {
            labels: ["Awarded", "Left"],
            datasets: [
              {
                data: exact.map(Number),
                backgroundColor: [c.awarded, c.left],
                borderColor: c.surface,
                borderWidth: 2,
              },
            ],
          },
          options: {
            responsive: true,
            maintainAspectRatio: false,
            cutout: "62%",
            animation: reduceMotion ? false : { duration: 400 },
            plugins: {
              legend: { position: "bottom", labels: { color: c.text, boxWidth: 12, boxHeight: 12 } },
              tooltip: {
                callbacks: {
                  label: function (item) {
                    return " " + item.label + ": " + group(exact[item.dataIndex]) + " " + symbol;
                  },
                },
              },
            },
          },
        })
      );
      doughnutCanvas.closest("[data-chart]").classList.add("is-ready");
    }

    var lineCanvas = document.querySelector("[data-pool-line]");
    if (lineCanvas && pool.epochs.length) {
      // The first point is the funded pool, before any epoch.
      var points = [{ label: "Start", left: pool.funded }].concat(
        pool.epochs.map(function (epoch) {
          return { label: "Epoch " + epoch.number, left: epoch.left, awarded: epoch.awarded };
        })
      );
      charts.push(
        new window.Chart(lineCanvas, {
          type: "line",
          data: {
            labels: points.map(function (p) {
              return p.label;
            }),
            datasets: [
              {
                label: "Left in the pool (" + symbol + ")",
                data: points.map(function (p) {
                  return Number(p.left);
                }),
                borderColor: c.leftLine,
                backgroundColor: c.left,
                pointBackgroundColor: c.leftLine,
                fill: "origin",
                tension: 0.2,
                stepped: false,
              },
            ],
          },
          options: window.DataBounty.chartOptions(
            {
              label: function (item) {
                var p = points[item.dataIndex];
                var text = " Left: " + group(p.left) + " " + symbol;
                return p.awarded === undefined ? text : [text, " Awarded: " + group(p.awarded) + " " + symbol];
              },
            },
            {
              scales: {
                x: { grid: { display: false }, ticks: { color: c.text, maxRotation: 0, autoSkip: true } },
                y: { beginAtZero: true, grid: { color: c.grid }, border: { display: false }, ticks: { color: c.text } },
              },
            }
          ),
        })
      );
      lineCanvas.closest("[data-chart]").classList.add("is-ready");
    }

    // Follow the operating system between light and dark without a reload.
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () {
      var now = colours();
      charts.forEach(function (chart) {
        var set = chart.data.datasets[0];
        if (chart.config.type === "doughnut") {
          set.backgroundColor = [now.awarded, now.left];
          set.borderColor = now.surface;
          chart.options.plugins.legend.labels.color = now.text;
        } else {
          set.borderColor = now.leftLine;
          set.backgroundColor = now.left;
          set.pointBackgroundColor = now.leftLine;
          chart.options.scales.x.ticks.color = now.text;
          chart.options.scales.y.ticks.color = now.text;
          chart.options.scales.y.grid.color = now.grid;
        }
        chart.update();
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
