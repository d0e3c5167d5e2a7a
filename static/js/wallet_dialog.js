/* The wallet dialog (templates/accounts/wallet_dialog.html): opens and closes it, reads its
   settings (data-* attributes), and draws one view at a time in it: a title, a tone icon, words,
   content and action buttons, with focus and a live region so keyboard and screen reader users
   follow each step. The views themselves, and the flow that chooses them, are in wallet.js;
   `state` (which flow runs, which view shows) is shared with wallet.js and wallet_session.js.
   The first of the sign-in's parts: it creates window.DataBounty.signIn, where the others (each
   run only when it exists) find one another. Without the dialog, or a browser that can show it,
   there is no sign-in in the page. */
(function () {
  "use strict";

  var dialog = document.getElementById("wallet-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;

  var CHAIN_NAMES = {
    1: "Ethereum Mainnet",
    10: "OP Mainnet",
    137: "Polygon",
    8453: "Base",
    42161: "Arbitrum One",
    11155111: "Sepolia",
    31337: "Anvil local",
  };

  // The dialog's settings, for every wallet*.js.
  var config = {
    nonceUrl: dialog.dataset.nonceUrl,
    loginUrl: dialog.dataset.loginUrl,
    logoutUrl: dialog.dataset.logoutUrl,
    ethersSrc: dialog.dataset.ethersSrc,
    debug: dialog.hasAttribute("data-debug"),
    devRpcUrl: dialog.dataset.devRpcUrl || "", // only with DEBUG on a local chain
  };

  var title = dialog.querySelector("[data-wallet-title]");
  var body = dialog.querySelector("[data-wallet-body]");
  var live = dialog.querySelector("[data-wallet-live]");
  var opener = null;
  var state = {
    run: 0, // bumped to abandon a flow when the dialog closes or another one starts
    view: null, // name of the view on screen, for event handlers
    pendingChain: null, // {wallet, address, expected, id} while "wrong network" is shown
  };

  function h(tag, attrs) {
    var element = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "class") element.className = value;
      else if (name === "text") element.textContent = value;
      else if (name.slice(0, 2) === "on") element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : value);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      element.append(child);
    }
    return element;
  }

  function chainName(chainId) {
    var name = CHAIN_NAMES[chainId];
    return name ? name + " (chain " + chainId + ")" : "chain " + chainId;
  }

  function open(trigger) {
    opener = trigger || document.activeElement;
    if (!dialog.open) dialog.showModal();
  }

  function close() {
    state.run++;
    state.view = null;
    state.pendingChain = null;
    if (dialog.open) dialog.close();
  }

  dialog.addEventListener("close", function () {
    // The event is queued: by the time it fires the dialog may be showing something new.
    if (dialog.open) return;
    state.run++;
    state.view = null;
    state.pendingChain = null;
    if (opener && document.contains(opener) && typeof opener.focus === "function") opener.focus();
  });
  dialog.querySelector("[data-wallet-close]").addEventListener("click", close);
  // A click on the backdrop (the <dialog> itself, outside its content box) closes it.
  dialog.addEventListener("click", function (event) {
    if (event.target !== dialog) return;
    var box = dialog.getBoundingClientRect();
    var inside = event.clientX >= box.left && event.clientX <= box.right &&
      event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) close();
  });

  function announce(text) {
    window.DataBounty.announce(live, text);
  }

  // Renders one view: {name, title, tone, lead, text, content, actions, announce, errorCode}.
  // Focus goes to the primary action, or the title, so keyboard and screen reader users follow
  // the steps. An error view puts its code in the dialog's data-error-code.
  function render(spec) {
    state.view = spec.name;
    dialog.setAttribute("data-view", spec.name);
    if (spec.errorCode === undefined) dialog.removeAttribute("data-error-code");
    else dialog.setAttribute("data-error-code", spec.errorCode);
    title.textContent = spec.title;
    var icon = spec.tone ? toneIcon(spec.tone) : null;
    var box = h(
      "div",
      { class: "wallet-view wallet-view--" + (spec.tone || "plain"), role: spec.tone === "error" ? "alert" : null },
      icon,
      // An alert is read on its own: it repeats the dialog's title for screen readers.
      spec.tone === "error" ? h("p", { class: "visually-hidden", text: spec.title + "." }) : null,
      paragraph("wallet-view__lead", spec.lead),
      paragraph("wallet-view__text", spec.text)
    );
    (spec.content || []).forEach(function (node) {
      box.append(node);
    });
    var focusTarget = null;
    if (spec.actions && spec.actions.length) {
      var row = h("div", { class: "wallet-actions" });
      spec.actions.forEach(function (action, index) {
        var button = h(
          "button",
          {
            class: "btn " + (action.primary ? "btn--primary" : "btn--secondary"),
            type: "button",
            onclick: action.onClick,
          },
          action.label
        );
        if (action.attrs) Object.keys(action.attrs).forEach(function (k) { button.setAttribute(k, action.attrs[k]); });
        if (index === 0 || action.primary) focusTarget = focusTarget || button;
        row.append(button);
      });
      box.append(row);
    }
    body.replaceChildren(box);
    if (spec.announce) announce(spec.announce);
    var target = spec.focus || box.querySelector("[data-autofocus]") || focusTarget || title;
    target.focus();
  }

  // Text, or a list of strings and nodes (e.g. addresses that must not wrap).
  function paragraph(className, value) {
    if (!value) return null;
    if (!Array.isArray(value)) return h("p", { class: className, text: value });
    return h.apply(null, ["p", { class: className }].concat(value));
  }

  function addressNode(address) {
    return h("span", { class: "wallet-address", title: address, text: window.DataBounty.shortAddress(address) });
  }

  function toneIcon(tone) {
    if (tone === "progress") return h("span", { class: "wallet-view__spinner spinner", "aria-hidden": "true" });
    var paths = {
      error: '<circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2"/><path d="M12 7.5v5.5M12 16.5v.01" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/>',
      warning: '<path d="M12 3.5l9.5 16.5h-19L12 3.5Z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/><path d="M12 10v4.5M12 17.5v.01" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/>',
      success: '<circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2"/><path d="M7.5 12.5l3 3 6-6.5" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/>',
      info: '<circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2"/><path d="M12 11v5.5M12 7.5v.01" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/>',
    };
    var icon = h("span", { class: "wallet-view__icon wallet-view__icon--" + tone, "aria-hidden": "true" });
    icon.innerHTML = '<svg viewBox="0 0 24 24" width="28" height="28" focusable="false">' + (paths[tone] || paths.info) + "</svg>";
    return icon;
  }

  function plainText(value) {
    if (!Array.isArray(value)) return value || "";
    return value.map(function (part) { return typeof part === "string" ? part : part.textContent; }).join("");
  }

  // A step in progress: the lead says what to do; `text` (optional) adds a hint.
  function progress(stepTitle, lead, text) {
    var current = body.querySelector(".wallet-view--progress");
    if (state.view === "progress" && current) {
      // Update in place, so the Cancel button keeps focus.
      title.textContent = stepTitle;
      current.querySelector(".wallet-view__lead").replaceWith(paragraph("wallet-view__lead", lead));
      var hint = paragraph("wallet-view__text", text || " ");
      hint.hidden = !text;
      current.querySelector(".wallet-view__text").replaceWith(hint);
      announce(stepTitle + " " + plainText(lead));
      return;
    }
    render({
      name: "progress",
      title: stepTitle,
      tone: "progress",
      lead: lead,
      text: text || " ",
      announce: stepTitle + " " + plainText(lead),
      actions: [{ label: "Cancel", onClick: close }],
    });
    body.querySelector(".wallet-view__text").hidden = !text;
  }

  // Pieces of the views: a wallet's icon, and one choice in a list of wallets.

  function walletIcon(info) {
    // EIP-6963 icons are data: URIs by spec; anything else is not fetched.
    if (info.icon && /^data:image\//.test(info.icon)) {
      return h("img", { class: "wallet-option__icon", src: info.icon, alt: "", width: 32, height: 32 });
    }
    var fallback = h("span", { class: "wallet-option__icon wallet-option__icon--generic", "aria-hidden": "true" });
    fallback.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" focusable="false"><path d="M3 7.5A2.5 2.5 0 0 1 5.5 5H18a1 1 0 0 1 1 1v2M3 7.5v10A2.5 2.5 0 0 0 5.5 20H20a1 1 0 0 0 1-1v-9a1 1 0 0 0-1-1H5.5A2.5 2.5 0 0 1 3 7.5Z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/><circle cx="16.5" cy="14.5" r="1.3" fill="currentColor"/></svg>';
    return fallback;
  }

  function option(icon, name, note, onClick) {
    return h(
      "li",
      null,
      h(
        "button",
        { class: "wallet-option", type: "button", onclick: onClick },
        icon,
        h("span", { class: "wallet-option__text" }, h("span", { class: "wallet-option__name", text: name }), note ? h("span", { class: "wallet-option__note", text: note }) : null),
        chevron()
      )
    );
  }

  function chevron() {
    var span = h("span", { class: "wallet-option__chevron", "aria-hidden": "true" });
    span.innerHTML = '<svg viewBox="0 0 20 20" width="16" height="16" focusable="false"><path d="M7.5 5l5 5-5 5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>';
    return span;
  }

  window.DataBounty.signIn = {
    config: config,
    state: state,
    h: h,
    chainName: chainName,
    open: open,
    close: close,
    render: render,
    progress: progress,
    addressNode: addressNode,
    walletIcon: walletIcon,
    option: option,
  };
})();
