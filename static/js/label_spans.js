/* Text spans (named entities) on the labeling page: label.js asks this annotator to draw the
   item's text and hands it the number keys, Backspace and Escape.

   The labeler selects text (mouse, touch handles, a double-click, or from the keyboard in the
   focused text: arrows, Shift+arrows, Ctrl for words), then presses 1–9 or taps a class: the selection becomes a span {start, end, label} in CHARACTER offsets of the original
   text (Python's code points, end exclusive; an emoji is one character, a line break is one).
   The DOM counts UTF-16 units, so offsets go through a code point ⇄ UTF-16 table both ways.
   Whitespace at either end of a selection is left out. Overlapping spans are refused here when
   the dataset forbids them (data-allow-overlap on the labeler), as the server would. */
(function () {
  "use strict";

  var registry = (window.DataBountyAnnotators = window.DataBountyAnnotators || {});

  registry.spans = function (ctx) {
    var h = ctx.h;
    var classes = ctx.classes;
    var allowOverlap = ctx.root.getAttribute("data-allow-overlap") === "true";
    var hint = ctx.form.querySelector("[data-annotate-hint]");
    var defaultHint = hint ? hint.textContent : "";

    var text = "";
    var units = [0]; // units[i] = UTF-16 offset of code point i; units[length] = text.length
    var spans = []; // in the order they were made: [{start, end, label}]
    var pending = null; // the selection waiting for a class: {start, end}
    var textRoot = null;
    var pieces = []; // the text's pieces as paint() last drew them, each with its UTF-16 offset (data-o)
    var words = null; // wordList(): the text's words, once asked for

    var colourOf = ctx.colourOf;

    function indexText(value) {
      text = value;
      words = null;
      units = [0];
      for (var i = 0; i < value.length; ) {
        i += value.codePointAt(i) > 0xffff ? 2 : 1;
        units.push(i);
      }
    }

    function length() {
      return units.length - 1;
    }

    // The code point at or before (roundUp: at or after) a UTF-16 offset.
    function toCodePoint(unit, roundUp) {
      var low = 0;
      var high = units.length - 1;
      while (low < high) {
        var middle = (low + high + 1) >> 1;
        if (units[middle] <= unit) low = middle;
        else high = middle - 1;
      }
      return roundUp && units[low] < unit ? low + 1 : low;
    }

    function slice(start, end) {
      return text.slice(units[start], units[end]);
    }

    function quote(span) {
      var shown = slice(span.start, span.end).replace(/\s+/g, " ");
      if (shown.length > 40) shown = shown.slice(0, 39) + "…";
      return "“" + shown + "”";
    }

    function overlaps(a, b) {
      return a.start < b.end && b.start < a.end;
    }

    // ---------- the text, with its spans marked ----------

    function paint() {
      if (!textRoot) return;
      pieces = window.DataBounty.spanPieces(length(), spans).map(function (cut) {
        var covering = cut.spans;
        var piece = h(covering.length ? "mark" : "span", { "data-o": units[cut.from] }, slice(cut.from, cut.to));
        if (covering.length) {
          var top = covering[covering.length - 1];
          var name = "ann-seg " + colourOf(top.label);
          if (covering.length > 1) name += " ann-seg--stacked";
          if (covering.some(function (span) { return span.start === cut.from; })) name += " ann-seg--first";
          var ending = covering.filter(function (span) {
            return span.end === cut.to;
          });
          if (ending.length) {
            name += " ann-seg--last";
            piece.setAttribute("data-tag", ending.map(function (span) { return span.label; }).join(" · "));
          }
          piece.className = name;
        }
        return piece;
      });
      textRoot.replaceChildren.apply(textRoot, pieces);
    }

    function renderList() {
      var items = spans.map(function (span, index) {
        return h("li", { class: "annotate-item " + colourOf(span.label) }, [
          h("span", { class: "annotate-item__label" }, span.label),
          h("span", { class: "annotate-item__text" }, quote(span)),
          h("span", { class: "annotate-item__where" }, span.start + "–" + span.end),
          ctx.removeButton(index, "Remove " + span.label + " " + quote(span)),
        ]);
      });
      ctx.showAnnotations(items);
    }

    function showHint() {
      if (!hint) return;
      hint.textContent = pending
        ? "Selected " + quote(pending) + " (" + pending.start + "–" + pending.end + "): press 1–" +
          Math.min(9, classes.length) + " or tap a class."
        : defaultHint;
      hint.classList.toggle("is-pending", Boolean(pending));
    }

    function refresh() {
      paint();
      renderList();
      showHint();
    }

    // ---------- the selection, in code points ----------

    // A selection boundary as a UTF-16 offset into the text: inside a piece it is the piece's
    // own offset plus the offset in its text; anywhere else (the container, a line between
    // pieces, outside the text) it is the start of the first piece at or after it.
    function unitOffset(node, offset) {
      if (node.nodeType === Node.TEXT_NODE && node.parentNode && textRoot.contains(node)) {
        var piece = node.parentNode.closest("[data-o]");
        if (piece) return Number(piece.getAttribute("data-o")) + offset;
      }
      var point = document.createRange();
      point.setStart(node, offset);
      for (var i = 0; i < pieces.length; i++) {
        if (point.comparePoint(pieces[i], 0) >= 0) return Number(pieces[i].getAttribute("data-o"));
      }
      return text.length;
    }

    // The DOM position of a UTF-16 offset: [text node, offset in it].
    function domPoint(unit) {
      for (var i = pieces.length - 1; i >= 0; i--) {
        var from = Number(pieces[i].getAttribute("data-o"));
        if (from <= unit) return [pieces[i].firstChild, Math.min(unit - from, pieces[i].firstChild.length)];
      }
      return [textRoot, 0];
    }

    // Keyboard selection in the focused text: arrows move a caret, Shift extends, Ctrl moves by
    // word (the server's tokens: runs of letters/digits, or one punctuation mark).
    var WORD = /[\p{L}\p{N}\p{M}_]+|[^\p{L}\p{N}\p{M}_\s]/gu;
    var caret = { anchor: 0, focus: 0 };

    // The words of the text as [start, end] code points, in order: found on the first Ctrl+arrow.
    function wordList() {
      if (words) return words;
      words = [];
      var match;
      WORD.lastIndex = 0;
      while ((match = WORD.exec(text))) {
        words.push([toCodePoint(match.index, false), toCodePoint(match.index + match[0].length, true)]);
      }
      return words;
    }

    function wordStep(from, forward) {
      var all = wordList();
      var i;
      if (forward) {
        for (i = 0; i < all.length; i++) if (all[i][1] > from) return all[i][1];
        return length();
      }
      for (i = all.length - 1; i >= 0; i--) if (all[i][0] < from) return all[i][0];
      return 0;
    }

    function moveCaret(event) {
      var forward = event.key === "ArrowRight";
      var at = caret.focus;
      var next = event.ctrlKey ? wordStep(at, forward) : clampIndex(at + (forward ? 1 : -1));
      caret.focus = next;
      if (!event.shiftKey) caret.anchor = next;
      var a = domPoint(units[caret.anchor]);
      var b = domPoint(units[caret.focus]);
      window.getSelection().setBaseAndExtent(a[0], a[1], b[0], b[1]);
      if (event.shiftKey && caret.anchor !== caret.focus) {
        var from = Math.min(caret.anchor, caret.focus);
        var to = Math.max(caret.anchor, caret.focus);
        ctx.announce("Selected " + quote({ start: from, end: to }) + ".");
      } else {
        ctx.announce(slice(next, next + 1).replace(/\s/, "space") || "end of the text");
      }
    }

    function clampIndex(index) {
      return Math.max(0, Math.min(length(), index));
    }

    function isBlank(index) {
      return /^\s$/.test(slice(index, index + 1));
    }

    function readSelection() {
      var selection = window.getSelection();
      if (!textRoot || !selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
      var range = selection.getRangeAt(0);
      if (!range.intersectsNode(textRoot)) return null;
      var start = toCodePoint(unitOffset(range.startContainer, range.startOffset), false);
      var end = toCodePoint(unitOffset(range.endContainer, range.endOffset), true);
      while (start < end && isBlank(start)) start++;
      while (end > start && isBlank(end - 1)) end--;
      return start < end ? { start: start, end: end } : null;
    }

    document.addEventListener("selectionchange", function () {
      if (!textRoot || !textRoot.isConnected) return;
      var selected = readSelection();
      if (selected) {
        pending = selected;
        ctx.clearError();
        showHint();
      }
    });

    // ---------- what the labeler does ----------

    function add(index) {
      var name = classes[index];
      var selected = readSelection() || pending;
      if (!selected) {
        ctx.showError("Select some text in the item first, then press " + (index + 1) + " or tap “" + name + "”.");
        return;
      }
      var span = { start: selected.start, end: selected.end, label: name };
      var same = spans.filter(function (other) {
        return other.start === span.start && other.end === span.end && other.label === name;
      })[0];
      if (same) {
        ctx.showError(quote(span) + " is already marked as " + name + ".");
        return;
      }
      var clash = allowOverlap ? null : spans.filter(function (other) { return overlaps(other, span); })[0];
      if (clash) {
        ctx.showError(
          quote(span) + " overlaps the " + clash.label + " span " + quote(clash) +
            ". Spans may not overlap in this dataset: remove that span first (Backspace removes the last one)."
        );
        return;
      }
      spans.push(span);
      pending = null;
      var selection = window.getSelection();
      if (selection) selection.removeAllRanges();
      ctx.clearError();
      refresh();
      ctx.announce("Marked " + quote(span) + " as " + name + ". " + describe(spans) + ".");
    }

    function remove(index) {
      var span = spans.splice(index, 1)[0];
      if (!span) {
        ctx.announce("There is no span to remove.");
        return;
      }
      ctx.clearError();
      refresh();
      ctx.announce("Removed " + span.label + " " + quote(span) + ". " + describe(spans) + ".");
    }

    function describe(value) {
      if (!value.length) return "no spans";
      var names = value.slice(0, 3).map(function (span) {
        return span.label + " " + (text ? quote(span) : span.start + "–" + span.end);
      });
      if (value.length > 3) names.push("…");
      return value.length + (value.length === 1 ? " span: " : " spans: ") + names.join(", ");
    }

    return {
      field: function (item, columns) { // the first text column, as the server picks it
        return ctx.firstField(item, columns, "string", function (value) {
          return typeof value === "string";
        });
      },
      render: function (value, item) {
        // The labeling API also sends the text the server checks offsets against.
        indexText(item.annotate && typeof item.annotate.text === "string" ? item.annotate.text : value);
        spans = [];
        pending = null;
        textRoot = h("div", {
          class: "annotate-text",
          "data-annotate-text": "",
          role: "region",
          tabindex: "0",
          "aria-label": "Text to mark: select a passage, then choose its class",
          "aria-describedby": "annotate-hint",
        });
        textRoot.addEventListener("focus", function () {
          caret = { anchor: 0, focus: 0 };
        });
        textRoot.addEventListener("mousedown", function () {
          pending = null; // a new selection starts
          showHint();
        });
        paint();
        return textRoot;
      },
      reset: function (previous) {
        spans = Array.isArray(previous)
          ? previous
              .filter(function (span) {
                return span && span.start >= 0 && span.end <= length() && span.start < span.end;
              })
              .map(function (span) {
                return { start: span.start, end: span.end, label: span.label };
              })
          : [];
        pending = null;
        refresh();
      },
      value: function () {
        return spans
          .map(function (span) {
            return { start: span.start, end: span.end, label: span.label };
          })
          .sort(function (a, b) {
            return a.start - b.start || a.end - b.end || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
          });
      },
      choose: add,
      remove: remove,
      keydown: function (event) {
        var inText = textRoot && textRoot.contains(event.target);
        if (inText && (event.key === "ArrowLeft" || event.key === "ArrowRight") && !event.metaKey) {
          moveCaret(event);
          return true;
        }
        if (event.ctrlKey || event.metaKey) return false;
        if (event.key === "Backspace") {
          remove(spans.length - 1);
          return true;
        }
        if (event.key === "Escape" && pending) {
          pending = null;
          window.getSelection().removeAllRanges();
          showHint();
          return true;
        }
        return false;
      },
      describe: describe,
    };
  };
})();
