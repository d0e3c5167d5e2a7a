/* DataBounty: small progressive enhancements for every page. Pages work without it; it adds
   dismissable messages, the mobile menu, copy buttons, and helpers page scripts share
   (window.DataBounty). */
(function () {
  "use strict";

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") || "" : "";
  }

  // Shared by page scripts (wallet sign-in, uploads): the CSRF token for fetch() calls that
  // htmx does not make, and the chain the server expects wallets to be on.
  window.DataBounty = Object.assign(window.DataBounty || {}, {
    csrfToken: function () {
      return meta("csrf-token");
    },
    chainId: function () {
      return Number(meta("chain-id")) || null;
    },
    // Speak `text` in an aria-live region. Emptied first and refilled after a tick, so the same
    // words said twice are announced twice.
    announce: function (region, text) {
      region.textContent = "";
      window.setTimeout(function () {
        region.textContent = text;
      }, 30);
    },
    // For the Chart.js scripts (dataset_chart.js, pool_chart.js, score_chart.js, column_stats.js):
    // a colour of the current (light or dark) theme, and the options their charts share: the chart
    // fills its box, moves only when the visitor allows motion, has no legend, and its tooltip
    // says `callbacks`. `more` adds options (scales, indexAxis); `duration` in ms, 400 unless given.
    cssVar: function (name) {
      return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    },
    chartOptions: function (callbacks, more, duration) {
      var reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      return Object.assign(
        {
          responsive: true,
          maintainAspectRatio: false,
          animation: reduceMotion ? false : { duration: duration || 400 },
          plugins: { legend: { display: false }, tooltip: { callbacks: callbacks } },
        },
        more
      );
    },
    // For the span marking of the labeling page (label_spans.js) and the row viewer
    // (viewer_annotations.js): a text of `length` characters cut at every start and end of
    // `spans` ({start, end}, end exclusive, within the text), as its pieces in order, each
    // {from, to, spans: the spans covering all of it, in their given order}.
    spanPieces: function (length, spans) {
      var cuts = [0, length];
      spans.forEach(function (span) {
        cuts.push(span.start, span.end);
      });
      cuts.sort(function (a, b) {
        return a - b;
      });
      var pieces = [];
      for (var i = 0; i + 1 < cuts.length; i++) {
        var from = cuts[i];
        var to = cuts[i + 1];
        if (from === to) continue;
        pieces.push({
          from: from,
          to: to,
          spans: spans.filter(function (span) {
            return span.start <= from && span.end >= to;
          }),
        });
      }
      return pieces;
    },
  });

  // Messages: the dismiss button removes its message. Keyboard focus moves to the next message's
  // dismiss button, or to the main content once none are left, instead of falling to <body>.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (!button) return;
    var message = button.closest("[data-message]");
    if (!message) return;
    var container = message.parentElement;
    message.remove();
    var next = container && container.querySelector("[data-message] [data-dismiss]");
    if (next) {
      next.focus();
      return;
    }
    if (container) container.remove();
    var main = document.getElementById("main");
    if (main) main.focus({ preventScroll: true });
  });

  // Mobile navigation: the toggle opens and closes the menu; Escape or following a link closes it.
  function setupNav() {
    var header = document.querySelector("[data-nav]");
    var toggle = header && header.querySelector("[data-nav-toggle]");
    if (!toggle) return;

    function setOpen(open) {
      header.classList.toggle("is-nav-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }

    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });

    header.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        toggle.focus();
      }
    });

    header.addEventListener("click", function (event) {
      if (event.target.closest(".site-nav a")) setOpen(false);
    });

    // Back on a wide screen the menu is always visible: drop the "open" state.
    var wide = window.matchMedia("(min-width: 48rem)");
    wide.addEventListener("change", function (query) {
      if (query.matches) setOpen(false);
    });
  }

  // Copy buttons: <button data-copy="#input-id"> copies that field's value and says so (the
  // nearest [data-copy-status] live region announces it). Falls back to selecting the text.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent;
    var label = button.querySelector("[data-copy-label]") || button;
    var scope = button.closest("section") || document;
    var status = scope.querySelector("[data-copy-status]");
    var original = label.getAttribute("data-original") || label.textContent;
    label.setAttribute("data-original", original);

    function report(copied) {
      label.textContent = copied ? "Copied" : "Press Ctrl+C to copy";
      if (status) status.textContent = copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (or ⌘C) to copy.";
      window.setTimeout(function () {
        label.textContent = original;
      }, 2500);
    }

    function selectSource() {
      if (typeof source.select === "function") {
        source.focus();
        source.select();
      }
    }

    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          report(true);
        },
        function () {
          selectSource();
          report(false);
        }
      );
    } else {
      selectSource();
      report(false);
    }
  });

  // Read-only fields holding something to copy select all of it on focus.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  // htmx: keep the CSRF header on every request even if a fragment replaces <body> attributes.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = meta("csrf-token");
    if (token && !event.detail.headers["X-CSRFToken"]) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupNav);
  } else {
    setupNav();
  }
})();
