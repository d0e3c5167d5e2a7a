/* Image bounding boxes on the labeling page: label.js asks this annotator to draw the item's
   image and hands it the number keys, arrows, Delete/Backspace, Escape and [ / ].

   Drag on the image (mouse, pen or finger) to draw a box; it gets the current class (the last
   one chosen; the first at the start) and is selected; N adds one in the middle instead (no
   pointer needed). A tap or click without dragging selects
   the smallest box under it (or nothing); a drag that starts on the selected box moves it. 1–9 or a class button sets the selected box's class
   (and the class of the boxes drawn next). Arrows move the selected box by one pixel of the
   ORIGINAL image (with Ctrl: 10), Shift+arrows resize it (right/down grow), Delete or Backspace removes it,
   [ and ] select the previous/next box, Escape lets go of it.

   Boxes are kept and sent as {x, y, w, h, label} in whole pixels of the original image (the
   item's stored width/height, else the file's natural size), always inside the image; the
   screen only scales them. */
(function () {
  "use strict";

  var registry = (window.DataBountyAnnotators = window.DataBountyAnnotators || {});
  var DRAG_PX = 4; // screen pixels a pointer must travel before a press becomes a drag
  var MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  registry.boxes = function (ctx) {
    var h = ctx.h;
    var classes = ctx.classes;
    var classButtons = ctx.form.querySelectorAll("[data-class-index]");

    var width = 0; // the original image's size, in its own pixels
    var height = 0;
    var boxes = []; // [{x, y, w, h, label}] in original pixels, in the order drawn
    var selected = -1;
    var current = 0; // the class index new boxes get
    var stage = null;
    var image = null;
    var layer = null;
    var drag = null;
    var resizeObserver = null;

    var colourOf = ctx.colourOf;

    function where(box) {
      return "x " + box.x + ", y " + box.y + ", " + box.w + " × " + box.h + " px";
    }

    function describe(value) {
      if (!value.length) return "no boxes";
      var names = value.map(function (box) {
        return box.label;
      });
      return value.length + (value.length === 1 ? " box: " : " boxes: ") + names.join(", ");
    }

    // ---------- drawing ----------

    function place(element, box) {
      element.style.left = (100 * box.x) / width + "%";
      element.style.top = (100 * box.y) / height + "%";
      element.style.width = (100 * box.w) / width + "%";
      element.style.height = (100 * box.h) / height + "%";
    }

    function paint() {
      if (!layer || !width) return;
      var shown = stage.clientHeight / height; // screen pixels per image pixel
      var shapes = boxes.map(function (box, index) {
        var name = "ann-box " + colourOf(box.label) + (index === selected ? " is-selected" : "");
        if (box.y * shown < 18) name += " ann-box--top"; // no room above: the tag goes inside
        var shape = h("div", { class: name }, [
          h("span", { class: "ann-box__tag" }, index + 1 + " " + box.label),
        ]);
        place(shape, box);
        return shape;
      });
      if (drag && drag.box) {
        var ghost = h("div", { class: "ann-box ann-box--drawing " + colourOf(classes[current]) });
        place(ghost, drag.box);
        shapes.push(ghost);
      }
      layer.replaceChildren.apply(layer, shapes);
    }

    function renderList() {
      var items = boxes.map(function (box, index) {
        var pick = h(
          "button",
          { class: "annotate-item__pick", type: "button", "data-select": index, "aria-pressed": index === selected ? "true" : "false" },
          [h("span", { class: "annotate-item__label" }, index + 1 + " " + box.label), h("span", { class: "annotate-item__where" }, where(box))]
        );
        var remove = ctx.removeButton(index, "Remove box " + (index + 1) + " (" + box.label + ")");
        return h("li", { class: "annotate-item " + colourOf(box.label) + (index === selected ? " is-selected" : "") }, [pick, remove]);
      });
      ctx.showAnnotations(items);
      classButtons.forEach(function (button) {
        button.setAttribute("aria-pressed", Number(button.getAttribute("data-class-index")) === current ? "true" : "false");
      });
    }

    function refresh() {
      paint();
      renderList();
    }

    // The image as large as the item panel's width and 70 % of the window's height allow.
    function fit() {
      if (!stage || !width || !stage.parentNode) return;
      var room = stage.parentNode.clientWidth;
      var tall = Math.max(160, window.innerHeight * 0.7);
      var scale = Math.min(room / width, tall / height);
      stage.style.width = Math.max(1, Math.floor(width * scale)) + "px";
    }

    function setSize(w, h) {
      width = w;
      height = h;
      image.setAttribute("width", String(w));
      image.setAttribute("height", String(h));
      stage.classList.add("is-ready");
      fit();
      paint();
    }

    // ---------- pointer: draw, or select ----------

    function toImage(event) {
      var rect = image.getBoundingClientRect();
      return {
        x: clamp(((event.clientX - rect.left) * width) / rect.width, 0, width),
        y: clamp(((event.clientY - rect.top) * height) / rect.height, 0, height),
      };
    }

    function boxBetween(a, b) {
      var x0 = Math.round(Math.min(a.x, b.x));
      var y0 = Math.round(Math.min(a.y, b.y));
      var x1 = Math.round(Math.max(a.x, b.x));
      var y1 = Math.round(Math.max(a.y, b.y));
      return { x: x0, y: y0, w: x1 - x0, h: y1 - y0, label: classes[current] };
    }

    function contains(box, point) {
      return point.x >= box.x && point.x <= box.x + box.w && point.y >= box.y && point.y <= box.y + box.h;
    }

    function boxAt(point) {
      var best = -1;
      boxes.forEach(function (box, index) {
        if (contains(box, point) && (best < 0 || box.w * box.h <= boxes[best].w * boxes[best].h)) best = index;
      });
      return best;
    }

    function onDown(event) {
      if (!width || ctx.isBusy() || event.button > 0 || drag) return;
      event.preventDefault();
      stage.setPointerCapture(event.pointerId);
      var from = toImage(event);
      // A drag that starts on the selected box moves it; anywhere else it draws a new one.
      var moving = selected >= 0 && contains(boxes[selected], from) ? boxes[selected] : null;
      drag = { id: event.pointerId, from: from, x: event.clientX, y: event.clientY, box: null, moving: moving, moved: false,
        start: moving ? { x: moving.x, y: moving.y } : null };
    }

    function moveTo(event) {
      var at = toImage(event);
      var box = drag.moving;
      box.x = clamp(Math.round(drag.start.x + at.x - drag.from.x), 0, width - box.w);
      box.y = clamp(Math.round(drag.start.y + at.y - drag.from.y), 0, height - box.h);
      drag.moved = true;
    }

    function onMove(event) {
      if (!drag || event.pointerId !== drag.id) return;
      if (!drag.box && !drag.moved && Math.hypot(event.clientX - drag.x, event.clientY - drag.y) < DRAG_PX) return;
      if (drag.moving) moveTo(event);
      else drag.box = boxBetween(drag.from, toImage(event));
      paint();
    }

    function onUp(event) {
      if (!drag || event.pointerId !== drag.id) return;
      var made = drag.box ? boxBetween(drag.from, toImage(event)) : null;
      var from = drag.from;
      var moved = drag.moved ? drag.moving : null;
      if (moved) moveTo(event);
      drag = null;
      ctx.clearError();
      if (moved) {
        refresh();
        ctx.announce("Box " + (selected + 1) + " moved to " + where(moved) + ".");
      } else if (made && made.w >= 1 && made.h >= 1) add(made, "drawn");
      else select(boxAt(from));
    }

    function add(made, how) {
      boxes.push(made);
      selected = boxes.length - 1;
      refresh();
      ctx.announce("Box " + boxes.length + " " + how + " as " + made.label + ", " + where(made) + ". 1–9 change its class, arrows move it.");
    }

    function onCancel(event) {
      if (!drag || event.pointerId !== drag.id) return;
      drag = null;
      paint();
    }

    // ---------- keys and buttons ----------

    function select(index) {
      selected = index >= 0 && index < boxes.length ? index : -1;
      refresh();
      if (selected >= 0) ctx.announce("Box " + (selected + 1) + " selected: " + boxes[selected].label + ", " + where(boxes[selected]) + ".");
    }

    function choose(index) {
      var name = classes[index];
      current = index;
      if (selected >= 0) {
        boxes[selected].label = name;
        ctx.announce("Box " + (selected + 1) + " is now " + name + ".");
      } else {
        ctx.announce("New boxes will be " + name + ".");
      }
      ctx.clearError();
      refresh();
    }

    function remove(index) {
      var box = boxes.splice(index, 1)[0];
      if (!box) {
        ctx.announce("There is no box to remove.");
        return;
      }
      selected = -1;
      ctx.clearError();
      refresh();
      ctx.announce("Removed box " + (index + 1) + " (" + box.label + "). " + describe(boxes) + ".");
    }

    function nudge(key, resize, step) {
      var box = boxes[selected];
      var dx = MOVES[key][0] * step;
      var dy = MOVES[key][1] * step;
      if (resize) {
        box.w = clamp(box.w + dx, 1, width - box.x);
        box.h = clamp(box.h + dy, 1, height - box.y);
      } else {
        box.x = clamp(box.x + dx, 0, width - box.w);
        box.y = clamp(box.y + dy, 0, height - box.h);
      }
      refresh();
    }

    function keydown(event) {
      var key = event.key;
      if (MOVES[key] && selected >= 0 && !event.metaKey) {
        nudge(key, event.shiftKey, event.ctrlKey ? 10 : 1);
        return true;
      }
      if (event.ctrlKey || event.metaKey) return false;
      if ((key === "n" || key === "N") && width) {
        // Without a pointer: a box in the middle, a quarter of the image, to move and resize.
        var wide = Math.max(1, Math.round(width / 4));
        var tall = Math.max(1, Math.round(height / 4));
        add({ x: Math.round((width - wide) / 2), y: Math.round((height - tall) / 2), w: wide, h: tall, label: classes[current] }, "added");
        return true;
      }
      if (key === "Delete" || key === "Backspace") {
        remove(selected >= 0 ? selected : boxes.length - 1);
        return true;
      }
      if ((key === "[" || key === "]") && boxes.length) {
        var step = key === "]" ? 1 : -1;
        select(selected < 0 ? (step > 0 ? 0 : boxes.length - 1) : (selected + step + boxes.length) % boxes.length);
        return true;
      }
      if (key === "Escape" && selected >= 0) {
        select(-1);
        ctx.announce("No box selected.");
        return true;
      }
      return false;
    }

    window.addEventListener("resize", fit);

    return {
      field: function (item, columns) {
        return ctx.firstField(item, columns, "image", function (value) {
          return value && typeof value === "object" && typeof value.url === "string";
        });
      },
      render: function (value, item) {
        // The labeling API also sends the image's URL and original size as the server knows them.
        var known = item.annotate || {};
        var size = known.width > 0 && known.height > 0 ? known : value;
        boxes = [];
        selected = -1;
        drag = null;
        width = 0;
        height = 0;
        image = h("img", {
          class: "annotate-image",
          src: known.image_url || value.url,
          alt: "The image to label" + (value.name || value.file_name ? " (" + (value.name || value.file_name) + ")" : ""),
          draggable: "false",
        });
        layer = h("div", { class: "annotate-layer", "aria-hidden": "true" });
        stage = h("div", { class: "annotate-stage", "data-annotate-stage": "" }, [image, layer]);
        stage.addEventListener("pointerdown", onDown);
        stage.addEventListener("pointermove", onMove);
        stage.addEventListener("pointerup", onUp);
        stage.addEventListener("pointercancel", onCancel);
        stage.addEventListener("contextmenu", function (event) {
          event.preventDefault(); // a long press draws; it should not open the image menu
        });
        image.addEventListener("error", function () {
          ctx.showError("The image could not be loaded. Skip this item or try again later.");
        });
        if (size.width > 0 && size.height > 0) {
          setSize(Number(size.width), Number(size.height));
        } else {
          image.addEventListener("load", function () {
            setSize(image.naturalWidth, image.naturalHeight);
          });
        }
        if (resizeObserver) resizeObserver.disconnect();
        if (window.ResizeObserver) {
          resizeObserver = new ResizeObserver(fit);
          window.requestAnimationFrame(function () {
            if (stage.parentNode) resizeObserver.observe(stage.parentNode);
            fit();
          });
        }
        return stage;
      },
      reset: function (previous) {
        boxes = Array.isArray(previous)
          ? previous.map(function (box) {
              return { x: box.x, y: box.y, w: box.w, h: box.h, label: box.label };
            })
          : [];
        selected = -1;
        refresh();
      },
      value: function () {
        return boxes.map(function (box) {
          return { x: box.x, y: box.y, w: box.w, h: box.h, label: box.label };
        });
      },
      choose: choose,
      remove: remove,
      click: function (button) { // a box's entry in the list selects it (again: lets go)
        if (!button.hasAttribute("data-select")) return;
        var index = Number(button.getAttribute("data-select"));
        select(index === selected ? -1 : index);
      },
      keydown: keydown,
      describe: describe,
    };
  };
})();
