/* The labeling page: takes items from the queue one at a time and sends labels back, skips and
   undoes, through the labeling API (label_api.js lists its calls).

   Single-label: one button per class (keys 1–9). Multi-label: checkboxes (keys 1–9 toggle,
   Enter submits). Free text: a text box (Ctrl/⌘+Enter submits). S skips, U undoes. Errors show
   the server's `detail` inline; a live region announces each step.

   Spans and boxes: label_spans.js / label_boxes.js register an annotator in
   window.DataBountyAnnotators[task], and label_annotate.js makes it and routes the form's
   buttons to it; this file hands it the annotated field, the keys it wants, number keys
   (classes) and the value to send (see those files for the annotator's methods). */
(function () {
  "use strict";

  var root = document.querySelector("[data-labeler]");
  if (!root) return;

  var task = root.getAttribute("data-task");
  var nextUrl = root.getAttribute("data-next-url");
  var undoUrl = root.getAttribute("data-undo-url");
  var itemsUrl = root.getAttribute("data-items-url");
  var classes = readJson("label-classes", []);
  var columns = readJson("label-columns", []);
  var today = Number(root.getAttribute("data-today")) || 0;
  var api = window.DataBounty.labelingApi;

  var itemPanel = root.querySelector("[data-item-panel]");
  var itemTitle = root.querySelector("[data-item-title]");
  var itemBadge = root.querySelector("[data-item-badge]");
  var itemBody = root.querySelector("[data-item-body]");
  var controls = root.querySelector("[data-controls]");
  var form = root.querySelector("[data-label-form]");
  var textBox = root.querySelector("[data-label-text]");
  var textCount = root.querySelector("[data-text-count]");
  var errorBox = root.querySelector("[data-label-error]");
  var errorText = root.querySelector("[data-label-error-text]");
  var skipButton = root.querySelector("[data-skip]");
  var undoButton = root.querySelector("[data-undo]");
  var done = root.querySelector("[data-done]");
  var doneUndo = root.querySelector("[data-undo-done]");
  var live = root.querySelector("[data-live]");
  var shortcuts = root.querySelector(".shortcuts");

  var sentNote = root.querySelector("[data-annotate-sent]");
  var annotator = null; // spans/boxes: made once the helpers below exist (label_annotate.js)

  var item = null; // the item on screen: {id, data}
  var history = []; // labels sent from this page, newest last: [{id, value}] (what U takes back)
  var busy = false;

  function readJson(id, fallback) {
    var element = document.getElementById(id);
    try {
      return element ? JSON.parse(element.textContent) : fallback;
    } catch (error) {
      return fallback;
    }
  }

  function h(tag, attrs, children) {
    var element = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (attrs[key] !== null && attrs[key] !== undefined) element.setAttribute(key, attrs[key]);
    });
    [].concat(children || []).forEach(function (child) {
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return element;
  }

  // ---------- what people see ----------

  function announce(text) {
    window.DataBounty.announce(live, text);
  }

  function showError(text) {
    errorText.textContent = text;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.hidden = true;
    errorText.textContent = "";
  }

  function setToday(value) {
    today = Math.max(0, value);
    document.querySelectorAll("[data-today-count]").forEach(function (element) {
      element.textContent = String(today);
    });
  }

  function setBusy(value) {
    busy = value;
    root.classList.toggle("is-busy", value);
    itemBody.setAttribute("aria-busy", value ? "true" : "false");
    form.querySelectorAll("button, input, textarea").forEach(function (control) {
      control.disabled = value;
    });
    skipButton.disabled = value || !item;
    undoButton.disabled = value || history.length === 0;
  }

  function display(value) {
    if (annotator && Array.isArray(value)) return annotator.describe(value);
    return Array.isArray(value) ? value.join(", ") : String(value);
  }

  function fieldValue(column, value) {
    if (column.dtype === "image" && value && typeof value === "object" && value.url) {
      var image = h("img", {
        class: "item-image__img",
        src: value.url,
        alt: "The image to label" + (value.name ? " (" + value.name + ")" : ""),
        width: value.width || null,
        height: value.height || null,
        decoding: "async",
      });
      return h("a", { class: "item-image", href: value.url, target: "_blank", rel: "noopener" }, image);
    }
    if (value === null || value === undefined || value === "") return h("span", { class: "muted" }, "—");
    if (typeof value === "object") return h("code", {}, JSON.stringify(value));
    return h("span", {}, String(value));
  }

  function renderItem(next, note) {
    item = next;
    itemTitle.textContent = "Item " + next.id;
    itemBadge.hidden = !note;
    itemBadge.textContent = note || "";
    itemBody.replaceChildren();
    var names = columns.map(function (column) {
      return column.name;
    });
    Object.keys(next.data).forEach(function (key) {
      if (names.indexOf(key) === -1) names.push(key);
    });
    var single = names.length === 1;
    var annotated = null; // the column the annotator draws: the server's choice, else its own
    if (annotator) {
      annotated = root.getAttribute("data-annotate-column");
      if (!annotated || !(annotated in next.data)) annotated = annotator.field(next, columns);
    }
    names.forEach(function (name) {
      var column = columns.filter(function (c) {
        return c.name === name;
      })[0] || { name: name, dtype: "string" };
      var value = next.data[name];
      var isText = column.dtype === "string" && typeof value === "string";
      var classes = "item-field";
      if (column.dtype === "image") classes += " item-field--image";
      else if (isText && (single || value.length > 24)) classes += " item-field--text";
      if (single) classes += " item-field--single";
      if (name === annotated) classes += " item-field--annotated";
      itemBody.append(
        h("div", { class: classes }, [
          h("span", { class: "item-field__name" }, name),
          h("div", { class: "item-field__value" }, name === annotated ? annotator.render(value, next) : fieldValue(column, value)),
        ])
      );
    });
  }

  function resetForm(previous) {
    clearError();
    form.querySelectorAll("[data-choice]").forEach(function (control) {
      var chosen = previous !== undefined && previous !== null &&
        (Array.isArray(previous) ? previous.indexOf(control.getAttribute("data-choice")) !== -1 : previous === control.getAttribute("data-choice"));
      if (control.type === "checkbox") control.checked = chosen;
      control.classList.toggle("is-previous", chosen);
    });
    if (textBox) {
      textBox.value = typeof previous === "string" ? previous : "";
      updateCount();
    }
    if (annotator) annotator.reset(previous);
  }

  function showControls(previous) {
    controls.hidden = false;
    itemPanel.hidden = false;
    done.hidden = true;
    resetForm(previous);
  }

  function focusItem() {
    if (task === "free_text" && textBox) {
      textBox.focus({ preventScroll: true });
      return;
    }
    var active = document.activeElement;
    if (!active || active === document.body || active.disabled || root.contains(active)) {
      itemTitle.focus({ preventScroll: true });
    }
  }

  function showDone(prefix) {
    item = null;
    itemPanel.hidden = true;
    controls.hidden = true;
    done.hidden = false;
    doneUndo.hidden = history.length === 0;
    var title = done.querySelector("#done-title");
    if (title) title.focus({ preventScroll: true });
    announce(join(prefix, "You’re all caught up: nothing is left to label here right now."));
  }

  function showLoadError(error) {
    itemTitle.textContent = "Couldn’t load the next item";
    itemBadge.hidden = true;
    controls.hidden = true;
    var retry = h("button", { class: "btn btn--secondary btn--sm", type: "button" }, "Try again");
    retry.addEventListener("click", function () {
      loadNext();
    });
    itemBody.replaceChildren(
      h("div", { class: "message message--error", role: "alert" }, [h("p", { class: "message__text" }, error.detail)]),
      h("p", { class: "item-retry" }, retry)
    );
  }

  // ---------- the queue ----------

  function join(prefix, text) {
    return prefix ? prefix + " " + text : text;
  }

  // `prefix` is what just happened ("Labelled …"), announced together with what comes next.
  function loadNext(prefix) {
    setBusy(true);
    itemPanel.hidden = false;
    return api("GET", nextUrl)
      .then(function (response) {
        setBusy(false);
        if (response.status === 204) {
          showDone(prefix);
          return;
        }
        renderItem(response.data);
        showControls();
        setBusy(false);
        focusItem();
        announce(join(prefix, "Item " + response.data.id + " is ready to label."));
      })
      .catch(function (error) {
        setBusy(false);
        showLoadError(error);
      });
  }

  function submit(value) {
    if (busy || !item) return;
    if (task === "multi_label" && (!value || !value.length)) {
      showError("Tick at least one class, or skip the item.");
      return;
    }
    if (task === "free_text" && !String(value || "").trim()) {
      showError("Write the label first, or skip the item.");
      if (textBox) textBox.focus();
      return;
    }
    var labelled = item;
    clearError();
    setBusy(true);
    api("POST", itemsUrl + labelled.id + "/labels/", { value: value })
      .then(function () {
        history.push({ id: labelled.id, value: value });
        setToday(today + 1);
        if (sentNote) {
          sentNote.textContent = "Sent item " + labelled.id + ": " + display(value) + ".";
          sentNote.hidden = false;
        }
        return loadNext("Labelled item " + labelled.id + " “" + display(value) + "”. " + today + " today.");
      })
      .catch(function (error) {
        setBusy(false);
        showError(error.detail);
      });
  }

  function skip() {
    if (busy || !item) return;
    var skipped = item;
    clearError();
    setBusy(true);
    api("POST", itemsUrl + skipped.id + "/skip")
      .then(function () {
        return loadNext("Skipped item " + skipped.id + ".");
      })
      .catch(function (error) {
        setBusy(false);
        showError(error.detail);
      });
  }

  function undo() {
    if (busy || history.length === 0) return;
    clearError();
    setBusy(true);
    api("POST", undoUrl)
      .then(function (response) {
        var last = history.pop();
        setToday(today - 1);
        var previous = last && last.id === response.data.id ? last.value : null;
        renderItem(response.data, "Back from undo");
        showControls(previous);
        setBusy(false);
        focusItem();
        announce(
          "Undone. Item " + response.data.id + " is back" +
            (previous !== null ? ": you had labelled it “" + display(previous) + "”." : ".") + " " + today + " today."
        );
      })
      .catch(function (error) {
        setBusy(false);
        if (!controls.hidden) showError(error.detail);
        else announce(error.detail);
        if (error.code === "nothing_to_undo") {
          history = [];
          undoButton.disabled = true;
          doneUndo.hidden = true;
        }
      });
  }

  function checkedValues() {
    return Array.prototype.map.call(form.querySelectorAll("input[type=checkbox]:checked"), function (box) {
      return box.value;
    });
  }

  function choose(index) {
    var name = classes[index];
    if (name === undefined) return;
    var control = form.querySelector('[data-choice="' + CSS.escape(name) + '"]');
    if (task === "single_label") {
      if (control) {
        control.classList.add("is-pressed");
        window.setTimeout(function () {
          control.classList.remove("is-pressed");
        }, 180);
      }
      submit(name);
    } else if (task === "multi_label" && control && !control.disabled) {
      control.checked = !control.checked;
      clearError();
    } else if (annotator && !busy) {
      annotator.choose(index);
    }
  }

  function updateCount() {
    if (textCount && textBox) textCount.textContent = textBox.value.length + " / " + (textBox.maxLength > 0 ? textBox.maxLength : 2000);
  }

  annotator = window.DataBounty.labelAnnotator({
    task: task,
    root: root,
    form: form,
    classes: classes,
    colours: readJson("label-colours", {}),
    h: h,
    announce: announce,
    showError: showError,
    clearError: clearError,
    isBusy: function () {
      return busy;
    },
  });

  // ---------- events ----------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (task === "single_label") {
      var submitter = event.submitter;
      if (submitter && submitter.hasAttribute("data-choice")) submit(submitter.getAttribute("data-choice"));
    } else if (task === "multi_label") {
      submit(checkedValues());
    } else if (annotator) {
      submit(annotator.value());
    } else {
      submit(textBox ? textBox.value : "");
    }
  });

  form.addEventListener("change", clearError);
  if (textBox) textBox.addEventListener("input", updateCount);
  skipButton.addEventListener("click", skip);
  undoButton.addEventListener("click", undo);
  doneUndo.addEventListener("click", undo);

  function isTyping(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "textarea" || tag === "select" || target.isContentEditable ||
      (tag === "input" && ["checkbox", "radio", "button", "submit"].indexOf(target.type) === -1);
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("dialog, .wallet-menu")) return;

    if (isTyping(target)) {
      if (target === textBox && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        submit(textBox.value);
      } else if (target === textBox && event.key === "Escape") {
        textBox.blur();
        itemTitle.focus({ preventScroll: true });
      }
      return;
    }
    // The annotator sees Ctrl too (Ctrl+arrows: bigger steps); it leaves what it does not use.
    if (annotator && !controls.hidden && !busy && annotator.keydown(event)) {
      event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey) return;

    var key = event.key;
    if (/^[1-9]$/.test(key)) {
      if (event.repeat || controls.hidden) return;
      event.preventDefault();
      choose(Number(key) - 1);
    } else if (key === "Enter" && (task === "multi_label" || annotator) && !controls.hidden) {
      if (target.closest && target.closest("button, a, summary")) return; // their own Enter
      event.preventDefault();
      submit(annotator ? annotator.value() : checkedValues());
    } else if (key === "s" || key === "S") {
      if (controls.hidden) return;
      event.preventDefault();
      skip();
    } else if (key === "u" || key === "U") {
      event.preventDefault();
      undo();
    } else if (key === "?") {
      if (shortcuts) {
        shortcuts.open = !shortcuts.open;
        event.preventDefault();
      }
    }
  });

  // Guidelines start open on a first visit; on a phone they would push the item off screen.
  var guidelines = document.querySelector("details.guidelines");
  if (guidelines && window.matchMedia("(max-width: 47.99rem)").matches) guidelines.open = false;

  setToday(today);
  loadNext();
})();
