/* Spans and boxes in the row viewer (templates/datasets_app/_row_annotations*.html).
   Boxes are drawn by the server (SVG); this marks each spans row's consensus spans in its text
   ([data-ann-text]) from the offsets in the row's label list (li[data-start][data-end]), in the
   colour the server gave its class (li[data-colour], as on the labeling page), writes each
   span's quoted text into that list, and ties list entries to their mark or box on hover and
   focus. Offsets count code points (Python str indexes), not UTF-16 units. Without it the text
   reads plain and the list still names every span by class and offsets.
   Loaded with the viewer, so htmx brings it again on each swap: it runs once and re-marks the
   swapped rows on htmx:load. */
(function () {
  "use strict";

  if (window.DataBountyAnnotations) {
    window.DataBountyAnnotations.run(document);
    return;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function spansOf(items, length) {
    var spans = [];
    items.forEach(function (item, index) {
      var start = parseInt(item.getAttribute("data-start"), 10);
      var end = parseInt(item.getAttribute("data-end"), 10);
      if (isNaN(start) || isNaN(end) || start < 0 || end > length || start >= end) return;
      spans.push({
        start: start,
        end: end,
        label: item.getAttribute("data-label") || "",
        colour: item.getAttribute("data-colour") || "ann-c0",
        number: index + 1,
        item: item,
      });
    });
    return spans;
  }

  function markText(box, items) {
    var chars = Array.from(box.textContent);
    var spans = spansOf(items, chars.length);
    if (!spans.length) return;
    spans.forEach(function (span) {
      var quote = span.item.querySelector("[data-ann-quote]");
      if (quote) quote.textContent = chars.slice(span.start, span.end).join("");
    });
    var out = document.createDocumentFragment();
    window.DataBounty.spanPieces(chars.length, spans).forEach(function (piece) {
      var text = chars.slice(piece.from, piece.to).join("");
      var over = piece.spans;
      if (!over.length) {
        out.appendChild(document.createTextNode(text));
      } else {
        // The innermost span's colour; under overlapping spans, the outermost's as a top rule.
        over.sort(function (a, b) {
          return a.end - a.start - (b.end - b.start) || a.number - b.number;
        });
        var mark = el("mark", "ann-mark " + over[0].colour, text);
        if (over.length > 1) {
          mark.classList.add("ann-mark--overlap");
          mark.style.setProperty("--ann-outer", "var(--" + over[over.length - 1].colour + ")");
        }
        mark.setAttribute(
          "data-ann-spans",
          over
            .map(function (span) {
              return span.number;
            })
            .sort(function (a, b) {
              return a - b;
            })
            .join(" ")
        );
        mark.title = over
          .map(function (span) {
            return span.label;
          })
          .join(", ");
        out.appendChild(mark);
      }
      // Each span ending here is followed by its class name, in text.
      spans.forEach(function (span) {
        if (span.end !== piece.to) return;
        var tag = el("span", "ann-tag " + span.colour, span.label);
        tag.setAttribute("data-ann-tag", span.number);
        out.appendChild(tag);
      });
    });
    box.textContent = "";
    box.appendChild(out);
  }

  function targets(row, number) {
    return row.querySelectorAll(
      '.ann-mark[data-ann-spans~="' + number + '"], .ann-box[data-ann-box="' + number + '"]'
    );
  }

  function link(row, items) {
    items.forEach(function (item, index) {
      if (!item.hasAttribute("tabindex")) item.setAttribute("tabindex", "0");
      function toggle(on) {
        targets(row, index + 1).forEach(function (node) {
          node.classList.toggle("is-active", on);
        });
      }
      ["mouseenter", "focus"].forEach(function (name) {
        item.addEventListener(name, function () {
          toggle(true);
        });
      });
      ["mouseleave", "blur"].forEach(function (name) {
        item.addEventListener(name, function () {
          toggle(false);
        });
      });
    });
  }

  function run(root) {
    root.querySelectorAll("tr[data-row-id]").forEach(function (row) {
      if (row.hasAttribute("data-ann-done")) return;
      var list = row.querySelector("[data-ann-list]");
      var items = list ? Array.prototype.slice.call(list.children) : [];
      row.setAttribute("data-ann-done", "");
      var text = row.querySelector("[data-ann-text]");
      if (text && items.length) markText(text, items);
      if (items.length) link(row, items);
    });
  }

  window.DataBountyAnnotations = { run: run };
  document.addEventListener("htmx:load", function (event) {
    run(event.target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      run(document);
    });
  } else {
    run(document);
  }
})();
