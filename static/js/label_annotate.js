/* The labeling page's side of the span and box annotators: label_spans.js / label_boxes.js
   register a maker in window.DataBountyAnnotators[task], and label.js calls
   DataBounty.labelAnnotator(host) once to make the one for its task (null when there is none).
   This gives the annotator what it works with beside label.js's own helpers: each class's
   colour, the list of what it holds, the field it draws when the server names none; and it
   routes the form's class buttons, × buttons and the annotator's own buttons to it. label.js
   hands it the annotated field, the keys it wants, number keys and the value to send (see
   label_spans.js / label_boxes.js for the annotator's methods). */
(function () {
  "use strict";

  // host: {task, root, form, classes, colours, h, announce, showError, clearError, isBusy}, where
  // colours maps each class to its colour class, from the server's one rule (datasets_app/
  // templatetags/label_colours.py), so the row viewer shows a class in the colour it was marked in here.
  function labelAnnotator(host) {
    var makeAnnotator = window.DataBountyAnnotators && window.DataBountyAnnotators[host.task];
    if (!makeAnnotator) return null;
    var form = host.form;
    var classes = host.classes;
    var colours = host.colours;
    var h = host.h;
    var annotateList = form.querySelector("[data-annotate-list]");
    var annotateCount = form.querySelector("[data-annotate-count]");
    var annotateEmpty = form.querySelector("[data-annotate-empty]");

    // The list of what the annotator holds, its count, and the note shown while it is empty.
    function showAnnotations(items) {
      annotateList.replaceChildren.apply(annotateList, items);
      if (annotateCount) annotateCount.textContent = String(items.length);
      if (annotateEmpty) annotateEmpty.hidden = items.length > 0;
    }

    // The × that ends an item of that list; data-remove carries the item's index back to the annotator.
    function removeButton(index, label) {
      return h("button", { class: "annotate-remove", type: "button", "data-remove": index, "aria-label": label }, "×");
    }

    function colourOf(name) {
      return colours[name] || "ann-c0";
    }

    // The first column of ``dtype`` (in the dataset's order, then the item's) whose value
    // ``accepts``: the column an annotator draws when the server names none.
    function firstField(item, columns, dtype, accepts) {
      var names = columns
        .filter(function (column) {
          return column.dtype === dtype;
        })
        .map(function (column) {
          return column.name;
        })
        .concat(Object.keys(item.data));
      return names.filter(function (name) {
        return accepts(item.data[name]);
      })[0] || null;
    }

    form.querySelectorAll("[data-class-index]").forEach(function (button) {
      button.classList.add(colourOf(classes[Number(button.getAttribute("data-class-index"))]));
    });
    var annotator = makeAnnotator({
      root: host.root,
      form: form,
      classes: classes,
      colourOf: colourOf,
      firstField: firstField,
      h: h,
      showAnnotations: showAnnotations,
      removeButton: removeButton,
      announce: host.announce,
      showError: host.showError,
      clearError: host.clearError,
      isBusy: host.isBusy,
    });

    // A class button chooses the class, an item's × removes it; other buttons are the annotator's.
    form.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || button.disabled || host.isBusy()) return;
      if (button.hasAttribute("data-class-index")) annotator.choose(Number(button.getAttribute("data-class-index")));
      else if (button.hasAttribute("data-remove")) annotator.remove(Number(button.getAttribute("data-remove")));
      else if (annotator.click) annotator.click(button);
    });
    // A click on a class button keeps the text selection it is about to label and leaves the
    // focus where it was, so Enter still submits.
    form.addEventListener("mousedown", function (event) {
      if (event.target.closest("[data-class-index]")) event.preventDefault();
    });
    return annotator;
  }

  window.DataBounty = Object.assign(window.DataBounty || {}, { labelAnnotator: labelAnnotator });
})();
