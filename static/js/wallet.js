/* DataBounty: Sign-In with Ethereum (EIP-4361, https://eips.ethereum.org/EIPS/eip-4361).

   Finds wallets over EIP-6963 (falling back to window.ethereum), connects, checks the network,
   asks the wallet to sign the server's message and posts it to /api/v1/auth/login. Every step
   reports in the dialog (templates/accounts/wallet_dialog.html), and every failure says what
   happened and offers a way on. Signed in, it runs the header menu and watches the wallet for
   account and network changes. Pages work without it: the header links to /signin/ and
   sign-out is a plain form. ethers (500 kB) loads only for the DEBUG dev wallet, which also pays
   (DataBounty.devWallet(): an EIP-1193 provider for static/js/erc20_pay.js that signs with the
   dev key and sends through the server's DEBUG-only JSON-RPC relay). */
(function () {
  "use strict";

  var dialog = document.getElementById("wallet-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;

  var RETRYABLE = ["nonce_expired", "nonce_reused", "expired", "nonce_unknown", "nonce_session_mismatch"];
  var SLOW_WALLET_MS = 8000; // after this, suggest opening the wallet: it may be locked
  var MESSAGE_TTL_MS = 10 * 60 * 1000;
  var STORAGE_KEY = "databounty:wallet"; // rdns of the wallet last used to sign in
  var FALLBACK_RDNS = "window.ethereum";
  var CHAIN_NAMES = {
    1: "Ethereum Mainnet",
    10: "OP Mainnet",
    137: "Polygon",
    8453: "Base",
    42161: "Arbitrum One",
    11155111: "Sepolia",
    31337: "Anvil local",
  };

  var config = {
    nonceUrl: dialog.dataset.nonceUrl,
    loginUrl: dialog.dataset.loginUrl,
    logoutUrl: dialog.dataset.logoutUrl,
    ethersSrc: dialog.dataset.ethersSrc,
    debug: dialog.hasAttribute("data-debug"),
    devRpcUrl: dialog.dataset.devRpcUrl || "", // only with DEBUG on a local chain
  };
  var devWallets = readJson("dev-wallets") || [];
  var signedInChip = document.querySelector("#wallet-slot [data-address]");
  var sessionAddress = signedInChip ? signedInChip.getAttribute("data-address") : null;

  var title = dialog.querySelector("[data-wallet-title]");
  var body = dialog.querySelector("[data-wallet-body]");
  var live = dialog.querySelector("[data-wallet-live]");
  var opener = null;
  var run = 0; // bumped to abandon a flow when the dialog closes or another one starts
  var view = null; // name of the view on screen, for event handlers
  var pendingChain = null; // {wallet, address, expected, id} while "wrong network" is shown

  // ---------- helpers ----------

  function readJson(id) {
    var element = document.getElementById(id);
    if (!element) return null;
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

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

  function shortAddress(address) {
    return address.slice(0, 6) + "\u2026" + address.slice(-4);
  }

  function chainName(chainId) {
    var name = CHAIN_NAMES[chainId];
    return name ? name + " (chain " + chainId + ")" : "chain " + chainId;
  }

  function expectedChainId() {
    return (window.DataBounty && window.DataBounty.chainId && window.DataBounty.chainId()) || null;
  }

  function csrfToken() {
    return (window.DataBounty && window.DataBounty.csrfToken && window.DataBounty.csrfToken()) || "";
  }

  function toHex(bytes) {
    var out = "0x";
    for (var i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, "0");
    return out;
  }

  // Only same-site paths: the server already checked ?next, this keeps it that way.
  function safeNext(value) {
    return typeof value === "string" && value.charAt(0) === "/" && value.charAt(1) !== "/" &&
      value.indexOf("\\") === -1 ? value : null;
  }

  function remember(rdns) {
    try {
      if (rdns) window.localStorage.setItem(STORAGE_KEY, rdns);
      else window.localStorage.removeItem(STORAGE_KEY);
    } catch (error) {
      /* private mode: account-change notices just won't follow across reloads */
    }
  }

  function remembered() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (error) {
      return null;
    }
  }

  // ---------- EIP-55 checksums: keccak-256 over 64-bit lanes (BigInt) ----------
  // Wallets may return lowercase addresses; EIP-4361 messages must carry the EIP-55 form.

  var MASK64 = (1n << 64n) - 1n;
  var ROUND_CONSTANTS = [];
  var RHO = [];
  var PI = [];
  (function () {
    var lfsr = 1;
    for (var round = 0; round < 24; round++) {
      var constant = 0n;
      for (var j = 0; j < 7; j++) {
        if (lfsr & 1) constant ^= 1n << BigInt((1 << j) - 1);
        lfsr = lfsr & 0x80 ? ((lfsr << 1) ^ 0x71) & 0xff : lfsr << 1;
      }
      ROUND_CONSTANTS.push(constant);
    }
    var x = 1;
    var y = 0;
    for (var t = 0; t < 24; t++) {
      RHO.push(BigInt((((t + 1) * (t + 2)) / 2) % 64));
      var nextY = (2 * x + 3 * y) % 5;
      x = y;
      y = nextY;
      PI.push(x + 5 * y);
    }
  })();

  function rotl(value, shift) {
    return ((value << shift) | (value >> (64n - shift))) & MASK64;
  }

  function keccakF(state) {
    var c = new Array(5);
    for (var round = 0; round < 24; round++) {
      var x, y;
      for (x = 0; x < 5; x++) c[x] = state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20];
      for (x = 0; x < 5; x++) {
        var d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1n);
        for (y = 0; y < 25; y += 5) state[x + y] ^= d;
      }
      var current = state[1];
      for (var t = 0; t < 24; t++) {
        var saved = state[PI[t]];
        state[PI[t]] = rotl(current, RHO[t]);
        current = saved;
      }
      for (y = 0; y < 25; y += 5) {
        var row = state.slice(y, y + 5);
        for (x = 0; x < 5; x++) state[y + x] = row[x] ^ ((row[(x + 1) % 5] ^ MASK64) & row[(x + 2) % 5]);
      }
      state[0] ^= ROUND_CONSTANTS[round];
    }
  }

  function keccak256(bytes) {
    var rate = 136;
    var padded = new Uint8Array(bytes.length + rate - (bytes.length % rate));
    padded.set(bytes);
    padded[bytes.length] ^= 0x01;
    padded[padded.length - 1] ^= 0x80;
    var state = new Array(25).fill(0n);
    for (var offset = 0; offset < padded.length; offset += rate) {
      for (var lane = 0; lane < rate / 8; lane++) {
        var value = 0n;
        for (var b = 7; b >= 0; b--) value = (value << 8n) | BigInt(padded[offset + lane * 8 + b]);
        state[lane] ^= value;
      }
      keccakF(state);
    }
    var out = new Uint8Array(32);
    for (var i = 0; i < 32; i++) out[i] = Number((state[i >> 3] >> BigInt(8 * (i & 7))) & 0xffn);
    return out;
  }

  function toChecksumAddress(address) {
    if (typeof address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(address)) {
      throw new FlowError("bad_address");
    }
    var lower = address.slice(2).toLowerCase();
    var hash = toHex(keccak256(new TextEncoder().encode(lower))).slice(2);
    var out = "0x";
    for (var i = 0; i < 40; i++) out += parseInt(hash[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
    return out;
  }

  // ---------- EIP-4361 message, exactly as siwe-py's prepare_message renders it ----------

  function buildMessage(nonce, address, now) {
    var issued = now || new Date();
    var expires = new Date(issued.getTime() + MESSAGE_TTL_MS);
    return [
      nonce.domain + " wants you to sign in with your Ethereum account:",
      address,
      "",
      nonce.statement,
      "",
      "URI: " + nonce.uri,
      "Version: 1",
      "Chain ID: " + nonce.chain_id,
      "Nonce: " + nonce.nonce,
      "Issued At: " + issued.toISOString(),
      "Expiration Time: " + expires.toISOString(),
    ].join("\n");
  }

  // ---------- errors ----------

  function FlowError(code, detail, extra) {
    this.code = code;
    this.detail = detail || "";
    this.extra = extra || {};
  }

  function Abandoned() {}

  function ServerError(status, data) {
    this.status = status;
    this.code = (data && data.code) || "error";
    this.detail = (data && data.detail) || "";
    this.data = data || {};
  }

  function walletErrorCode(error) {
    if (!error) return null;
    if (typeof error.code === "number") return error.code;
    // Some wallets wrap the EIP-1193 error (e.g. MetaMask mobile's data.originalError).
    var inner = error.data && (error.data.originalError || error.data);
    return inner && typeof inner.code === "number" ? inner.code : null;
  }

  // ---------- server calls ----------

  function fetchJson(url, options) {
    return window.fetch(url, options).then(
      function (response) {
        if (response.status === 204) return { ok: true, status: 204, data: {} };
        return response.json().then(
          function (data) {
            return { ok: response.ok, status: response.status, data: data };
          },
          function () {
            return { ok: response.ok, status: response.status, data: {} };
          }
        );
      },
      function () {
        throw new FlowError("offline");
      }
    );
  }

  function postJson(url, payload) {
    return fetchJson(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
  }

  function fetchNonce() {
    return fetchJson(config.nonceUrl, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
      function (result) {
        if (!result.ok) throw new ServerError(result.status, result.data);
        return result.data;
      }
    );
  }

  var ethersPromise = null;
  function loadEthers() {
    if (window.ethers) return Promise.resolve(window.ethers);
    if (!ethersPromise) {
      ethersPromise = new Promise(function (resolve, reject) {
        var script = h("script", { src: config.ethersSrc, async: true });
        script.onload = function () {
          if (window.ethers) resolve(window.ethers);
          else reject(new FlowError("ethers_unavailable"));
        };
        script.onerror = function () {
          ethersPromise = null;
          script.remove();
          reject(new FlowError("ethers_unavailable"));
        };
        document.head.append(script);
      });
    }
    return ethersPromise;
  }

  // ---------- wallet discovery (EIP-6963) ----------

  var announced = new Map(); // uuid -> {info, provider}
  window.addEventListener("eip6963:announceProvider", function (event) {
    var detail = event.detail;
    if (!detail || !detail.info || !detail.provider || typeof detail.provider.request !== "function") return;
    announced.set(detail.info.uuid || detail.info.rdns, { info: detail.info, provider: detail.provider });
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));

  function fallbackName(provider) {
    if (provider.isRabby) return "Rabby";
    if (provider.isCoinbaseWallet) return "Coinbase Wallet";
    if (provider.isMetaMask) return "MetaMask";
    return "Browser wallet";
  }

  function availableWallets() {
    var list = Array.from(announced.values());
    if (!list.length && window.ethereum && typeof window.ethereum.request === "function") {
      list.push({
        info: { uuid: FALLBACK_RDNS, rdns: FALLBACK_RDNS, name: fallbackName(window.ethereum), icon: "" },
        provider: window.ethereum,
      });
    }
    return list;
  }

  function findWallet(rdns) {
    return availableWallets().find(function (wallet) {
      return wallet.info.rdns === rdns;
    });
  }

  var watched = new WeakSet();
  function watch(wallet) {
    var provider = wallet.provider;
    if (watched.has(provider) || typeof provider.on !== "function") return;
    watched.add(provider);
    provider.on("accountsChanged", function (accounts) {
      onAccountsChanged(wallet, accounts);
    });
    provider.on("chainChanged", function (chainId) {
      onChainChanged(wallet, parseInt(chainId, 16));
    });
  }

  // ---------- the dialog ----------

  function open(trigger) {
    opener = trigger || document.activeElement;
    if (!dialog.open) dialog.showModal();
  }

  function close() {
    run++;
    view = null;
    pendingChain = null;
    if (dialog.open) dialog.close();
  }

  dialog.addEventListener("close", function () {
    // The event is queued: by the time it fires the dialog may be showing something new.
    if (dialog.open) return;
    run++;
    view = null;
    pendingChain = null;
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

  // Renders one view: {name, title, tone, lead, text, content, actions, announce}. Focus goes to
  // the primary action, or the title, so keyboard and screen reader users follow the steps.
  function render(spec) {
    view = spec.name;
    dialog.setAttribute("data-view", spec.name);
    dialog.removeAttribute("data-error-code");
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
    return h("span", { class: "wallet-address", title: address, text: shortAddress(address) });
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
    if (view === "progress" && current) {
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

  function ensureCurrent(id) {
    if (id !== run) throw new Abandoned();
  }

  // ---------- the views ----------

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

  function devOption() {
    var icon = h("span", { class: "wallet-option__icon wallet-option__icon--dev", "aria-hidden": "true" });
    icon.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" focusable="false"><path d="M8 8l-4 4 4 4M16 8l4 4-4 4M13.5 5.5l-3 13" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>';
    return option(icon, "Use a dev wallet", "Local development only: anvil test keys", showDevWallets);
  }

  function start(trigger) {
    open(trigger);
    // Ask again: an extension that loaded after this script announces itself now.
    window.dispatchEvent(new Event("eip6963:requestProvider"));
    var wallets = availableWallets();
    if (!wallets.length) return showNoWallet();
    if (wallets.length === 1 && !(config.debug && devWallets.length)) return connect(wallets[0]);
    showPicker(wallets);
  }

  function showPicker(wallets) {
    run++;
    var list = h("ul", { class: "wallet-options", role: "list" });
    wallets.forEach(function (wallet) {
      list.append(option(walletIcon(wallet.info), wallet.info.name, "Detected in this browser", function () {
        connect(wallet);
      }));
    });
    if (config.debug && devWallets.length) list.append(devOption());
    render({
      name: "picker",
      title: "Connect a wallet",
      lead: wallets.length > 1 ? "Several wallets are installed. Which one holds the account you want to use?" : "Choose how to sign in.",
      content: [list],
      focus: list.querySelector("button"),
    });
  }

  function showNoWallet() {
    run++;
    var actions = [{ label: "Reload page", primary: true, onClick: function () { window.location.reload(); } }];
    var content = [
      h("p", { class: "wallet-view__text", text: "On a phone, open this page in your wallet app\u2019s built-in browser instead." }),
    ];
    if (config.debug && devWallets.length) {
      content.push(h("ul", { class: "wallet-options", role: "list" }, devOption()));
    }
    render({
      name: "no-wallet",
      title: "No wallet found",
      tone: "info",
      lead: "Signing in needs an Ethereum wallet in this browser.",
      text: "Install a wallet extension such as MetaMask, Rabby or Coinbase Wallet, set up an account, then reload this page.",
      content: content,
      actions: actions,
      announce: "No wallet found. Install a wallet extension such as MetaMask, Rabby or Coinbase Wallet, then reload this page.",
    });
  }

  function showDevWallets() {
    run++;
    var list = h("ul", { class: "wallet-options wallet-options--dev", role: "list" });
    devWallets.forEach(function (dev, index) {
      var icon = h("span", { class: "wallet-option__icon wallet-option__icon--avatar", "aria-hidden": "true", text: String(index + 1) });
      list.append(option(icon, "Dev account " + (index + 1), shortAddress(dev.address), function () {
        signInWithDevWallet(dev);
      }));
    });
    var wallets = availableWallets();
    render({
      name: "dev-wallets",
      title: "Use a dev wallet",
      tone: "warning",
      lead: "Local development only.",
      text: "These are anvil\u2019s public test accounts: anyone can use their keys, so never send them real funds. The page signs the message itself, no extension needed.",
      content: [list],
      actions: wallets.length ? [{ label: "Back", onClick: function () { showPicker(wallets); } }] : [],
      focus: list.querySelector("button"),
    });
  }

  function showWrongNetwork(wallet, address, current, expected, id) {
    pendingChain = { wallet: wallet, address: address, expected: expected, id: id };
    render({
      name: "wrong-network",
      title: "Switch network",
      tone: "warning",
      lead: current === null ? "This site signs you in on another network." : "Your wallet is on " + chainName(current) + ".",
      text: "DataBounty runs on " + chainName(expected) + ". Switch your wallet to it to sign in.",
      announce: "Wrong network. DataBounty runs on " + chainName(expected) + ".",
      actions: [
        { label: "Switch network", primary: true, onClick: function () { switchNetwork(wallet, address, expected); } },
        { label: "Cancel", onClick: close },
      ],
    });
  }

  function showUnknownNetwork(wallet, address, expected) {
    var canAdd = config.debug && expected === 31337;
    render({
      name: "unknown-network",
      title: "Add the network",
      tone: "warning",
      lead: "Your wallet doesn\u2019t know " + chainName(expected) + " yet.",
      text: canAdd
        ? "Add the local Anvil network (RPC http://127.0.0.1:8545) to your wallet, then we switch to it."
        : "Add this network in your wallet\u2019s network settings (chain ID " + expected + "), then try again.",
      actions: canAdd
        ? [
            { label: "Add network", primary: true, onClick: function () { addLocalNetwork(wallet, address, expected); } },
            { label: "Cancel", onClick: close },
          ]
        : [
            { label: "Try again", primary: true, onClick: function () { connect(wallet); } },
            { label: "Close", onClick: close },
          ],
    });
  }

  function showSuccess(address) {
    render({
      name: "success",
      title: "Signed in",
      tone: "success",
      lead: ["Signed in as ", addressNode(address), "."],
      text: "One moment\u2026",
      announce: "Signed in as " + shortAddress(address) + ".",
    });
  }

  // What went wrong, in words, with a way on. `retry` repeats the failed step.
  function showError(error, retry, step) {
    if (error instanceof Abandoned) return;
    if (error instanceof ServerError && error.code === "chain_mismatch" && retry.wallet && retry.address) {
      var accepted = (error.data.accepted_chain_ids || [])[0];
      if (accepted) return showWrongNetwork(retry.wallet, retry.address, null, accepted, run);
    }
    var message = describe(error, step);
    var actions = [];
    if (message.retry !== false) actions.push({ label: "Try again", primary: true, onClick: retry });
    if (message.reload) actions.push({ label: "Reload page", primary: !actions.length, onClick: function () { window.location.reload(); } });
    actions.push({ label: "Close", onClick: close });
    render({
      name: "error",
      title: message.title,
      tone: "error",
      lead: message.lead,
      text: message.text,
      actions: actions,
      // The error box is role=alert: announced when it appears.
    });
    dialog.setAttribute("data-error-code", error.code === undefined ? "unknown" : String(error.code));
  }

  function describe(error, step) {
    var code = error && error.code;
    if (error instanceof ServerError) {
      var detail = error.detail;
      switch (code) {
        case "rate_limited":
          return { title: "Too many attempts", lead: "Please wait a minute, then try again.", text: "This limit protects accounts from people guessing at them." };
        case "chain_unavailable":
          return { title: "We couldn\u2019t check your signature", lead: "The blockchain node we use to check it isn\u2019t answering right now.", text: "Try again in a minute." };
        case "account_disabled":
          return { title: "This account is suspended", lead: detail || "This account can\u2019t sign in.", text: "If you think this is a mistake, contact the DataBounty team.", retry: false };
        case "bad_signature":
          return { title: "The signature didn\u2019t match", lead: "Your wallet signed with a different account than the one it connected.", text: "Choose the account you want in your wallet, then try again." };
        case "nonce_expired":
        case "expired":
        case "nonce_reused":
        case "nonce_unknown":
        case "nonce_session_mismatch":
          return { title: "Your sign-in request expired", lead: "We made a fresh one, but it didn\u2019t go through either.", text: "Try again. If this keeps happening, check that your computer\u2019s clock is right." };
        case "issued_in_future":
        case "not_yet_valid":
          return { title: "Your clock seems to be off", lead: detail, text: "Check your computer\u2019s date and time settings, then try again." };
        case "permission_denied":
          if (/csrf/i.test(detail)) {
            return { title: "This page is out of date", lead: "Your session changed since the page loaded.", text: "Reload the page, then sign in again.", retry: false, reload: true };
          }
          break;
        default:
          break;
      }
      if (error.status >= 500) {
        return { title: "Something went wrong on our side", lead: detail || "The server couldn\u2019t finish signing you in.", text: "Try again in a moment." };
      }
      return { title: "Sign-in didn\u2019t work", lead: detail || "The server refused the sign-in (HTTP " + error.status + ").", text: "Try again." };
    }
    if (error instanceof FlowError) {
      if (code === "offline") return { title: "We couldn\u2019t reach DataBounty", lead: "Check your internet connection, then try again." };
      if (code === "locked") return { title: "Your wallet is locked", lead: "It didn\u2019t share an account with this site.", text: "Unlock your wallet and choose an account, then try again." };
      if (code === "ethers_unavailable") return { title: "The dev wallet didn\u2019t load", lead: "Its signing library could not be loaded.", text: "Reload the page and try again." };
      if (code === "bad_address") return { title: "Your wallet returned an unusual address", lead: "We can only sign in Ethereum accounts (0x followed by 40 hex digits)." };
      if (code === "switch_rejected") return { title: "Network not switched", lead: "You cancelled the network switch.", text: "DataBounty needs your wallet on the right network to sign you in." };
    }
    var walletCode = walletErrorCode(error);
    if (walletCode === 4001) {
      return step === "connect"
        ? { title: "You cancelled the request", lead: "Your wallet didn\u2019t connect to DataBounty.", text: "If your wallet is locked, unlock it first. Then try again." }
        : { title: "You cancelled the request", lead: "Nothing was signed.", text: "Signing is free and sends no transaction: it only proves the address is yours." };
    }
    if (walletCode === -32002) {
      return { title: "Your wallet has a request waiting", lead: "Open your wallet (its icon in the browser toolbar) and finish or dismiss the request waiting there.", text: "Then try again." };
    }
    if (walletCode === 4100) {
      return { title: "Your wallet isn\u2019t connected to this site", lead: "It may be locked, or the account may not be connected to DataBounty.", text: "Unlock your wallet, connect the account you want, then try again." };
    }
    if (walletCode === 4200) {
      return { title: "Your wallet can\u2019t do this", lead: "It doesn\u2019t support signing messages (personal_sign).", text: "Try another wallet." };
    }
    var text = error && error.message ? String(error.message) : "";
    return { title: "Your wallet reported a problem", lead: text || "The wallet request failed.", text: "Try again, or try another wallet." };
  }

  // ---------- the sign-in flow ----------

  function walletRequest(wallet, method, params, slowHint) {
    var request = wallet.provider.request({ method: method, params: params || [] });
    if (!slowHint) return request;
    var timer = window.setTimeout(function () {
      if (view !== "progress") return;
      progress(
        "Still waiting for your wallet\u2026",
        "Open " + wallet.info.name + " from your browser toolbar: it may be locked, or its window may be hidden.",
        "Unlock it and approve the request. Closing this dialog cancels the sign-in."
      );
    }, SLOW_WALLET_MS);
    return request.finally(function () {
      window.clearTimeout(timer);
    });
  }

  function connect(wallet) {
    var id = ++run;
    var step = "connect";
    var address = null;
    watch(wallet);
    progress("Waiting for your wallet\u2026", "Approve the connection in " + wallet.info.name + ".", "");
    return walletRequest(wallet, "eth_requestAccounts", [], true)
      .then(function (accounts) {
        ensureCurrent(id);
        if (!Array.isArray(accounts) || !accounts.length) throw new FlowError("locked");
        address = toChecksumAddress(accounts[0]);
        return wallet.provider.request({ method: "eth_chainId" }).then(function (chainHex) {
          ensureCurrent(id);
          var chainId = parseInt(chainHex, 16);
          var expected = expectedChainId();
          if (expected && chainId !== expected) return showWrongNetwork(wallet, address, chainId, expected, id);
          step = "sign";
          return signAndVerify(id, injectedSigner(wallet, address, chainId));
        });
      })
      .catch(function (error) {
        if (error instanceof Abandoned) return;
        var retry = function () { connect(wallet); };
        retry.wallet = wallet;
        retry.address = address;
        showError(error, retry, step);
      });
  }

  function injectedSigner(wallet, address, chainId) {
    return {
      address: address,
      chainId: chainId,
      rdns: wallet.info.rdns,
      wallet: wallet,
      signingText: "Sign the message in " + wallet.info.name + ".",
      sign: function (message) {
        // personal_sign takes the message as 0x-hex UTF-8 bytes; wallets show it as text.
        return wallet.provider.request({
          method: "personal_sign",
          params: [toHex(new TextEncoder().encode(message)), address],
        });
      },
    };
  }

  function signInWithDevWallet(dev) {
    var id = ++run;
    progress("Loading the dev wallet\u2026", "Preparing anvil\u2019s test key in this page.", "");
    return loadEthers()
      .then(function (ethers) {
        ensureCurrent(id);
        var signer = new ethers.Wallet(dev.private_key);
        return signAndVerify(id, {
          address: signer.address,
          chainId: null,
          rdns: "dev",
          signingText: "The dev wallet signs in this page.",
          sign: function (message) {
            return signer.signMessage(message);
          },
        });
      })
      .catch(function (error) {
        if (error instanceof Abandoned) return;
        showError(error, function () { signInWithDevWallet(dev); }, "sign");
      });
  }

  // ---------- the dev wallet pays (DEBUG on a local chain only) ----------

  // The signed-in dev account as a wallet for erc20_pay.js: {info, provider}, provider an
  // EIP-1193 subset. ethers signs with the dev key; reads and the raw transaction go through
  // the same-origin relay (CSRF header included), which forwards them to our node.
  function devWallet() {
    if (!config.debug || !config.devRpcUrl || !sessionAddress) return null;
    var dev = devWallets.find(function (candidate) {
      return String(candidate.address).toLowerCase() === sessionAddress.toLowerCase();
    });
    if (!dev) return null;
    var signerPromise = null;

    function signer() {
      if (!signerPromise) {
        signerPromise = loadEthers().then(function (ethers) {
          var request = new ethers.FetchRequest(new URL(config.devRpcUrl, window.location.href).href);
          request.setHeader("X-CSRFToken", csrfToken());
          var network = ethers.Network.from(expectedChainId() || 31337);
          var provider = new ethers.JsonRpcProvider(request, network, { staticNetwork: network, batchMaxCount: 1 });
          return new ethers.Wallet(dev.private_key, provider);
        });
        signerPromise.catch(function () {
          signerPromise = null;
        });
      }
      return signerPromise;
    }

    function providerError(code, message) {
      var error = new Error(message);
      error.code = code;
      return error;
    }

    var provider = {
      isDataBountyDevWallet: true,
      request: function (args) {
        var method = args && args.method;
        var params = (args && args.params) || [];
        if (method === "eth_requestAccounts" || method === "eth_accounts") return Promise.resolve([dev.address]);
        if (method === "wallet_switchEthereumChain") {
          return provider.request({ method: "eth_chainId" }).then(function (hex) {
            var wanted = params[0] && params[0].chainId;
            if (wanted && parseInt(wanted, 16) !== parseInt(hex, 16)) {
              throw providerError(4902, "The dev wallet only knows the local chain.");
            }
            return null;
          });
        }
        return signer().then(function (wallet) {
          if (method === "eth_sendTransaction") {
            var tx = params[0] || {};
            if (tx.from && String(tx.from).toLowerCase() !== dev.address.toLowerCase()) {
              throw providerError(4100, "The dev wallet holds only " + dev.address + ".");
            }
            return wallet.sendTransaction({ to: tx.to, data: tx.data, value: tx.value || 0 }).then(function (sent) {
              return sent.hash;
            });
          }
          return wallet.provider.send(method, params);
        });
      },
    };
    return { info: { name: "the dev wallet", rdns: "dev", dev: true }, provider: provider };
  }

  // Nonce → message → signature → login; on a stale nonce, once more with a fresh one.
  function signAndVerify(id, signer) {
    pendingChain = null;
    var attempt = 0;

    function once() {
      return fetchNonce().then(function (nonce) {
        ensureCurrent(id);
        if (signer.chainId !== null && nonce.chain_id && signer.chainId !== nonce.chain_id && signer.wallet) {
          return showWrongNetwork(signer.wallet, signer.address, signer.chainId, nonce.chain_id, id);
        }
        var message = buildMessage(nonce, signer.address);
        progress(
          "Signing\u2026",
          signer.signingText,
          attempt > 0
            ? "Your first sign-in request had expired, so here is a fresh one: please sign again."
            : ["It proves ", addressNode(signer.address), " is yours. It is free and sends no transaction."]
        );
        return Promise.resolve(signer.sign(message)).then(function (signature) {
          ensureCurrent(id);
          progress("Verifying\u2026", "Checking your signature.", "");
          return postJson(config.loginUrl, { message: message, signature: signature }).then(function (result) {
            ensureCurrent(id);
            if (result.ok) return done(result.data.address || signer.address, signer.rdns);
            var error = new ServerError(result.status, result.data);
            if (RETRYABLE.indexOf(error.code) !== -1 && attempt === 0) {
              attempt++;
              return once();
            }
            throw error;
          });
        });
      });
    }

    return once();
  }

  function done(address, rdns) {
    remember(rdns);
    showSuccess(address);
    var holder = document.querySelector("[data-wallet-next]");
    var next = holder ? safeNext(holder.getAttribute("data-wallet-next")) : null;
    if (next) window.location.assign(next);
    else window.location.reload();
  }

  function switchNetwork(wallet, address, expected) {
    var id = ++run;
    pendingChain = null;
    progress("Switching network\u2026", "Approve the switch to " + chainName(expected) + " in " + wallet.info.name + ".", "");
    wallet.provider
      .request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + expected.toString(16) }] })
      .then(function () {
        ensureCurrent(id);
        return continueOnChain(wallet, address, expected, id);
      })
      .catch(function (error) {
        if (error instanceof Abandoned) return;
        var code = walletErrorCode(error);
        if (code === 4902) return showUnknownNetwork(wallet, address, expected);
        if (code === 4001) error = new FlowError("switch_rejected");
        showError(error, function () { switchNetwork(wallet, address, expected); }, "switch");
      });
  }

  function addLocalNetwork(wallet, address, expected) {
    var id = ++run;
    progress("Adding the network\u2026", "Approve adding Anvil local in " + wallet.info.name + ".", "");
    wallet.provider
      .request({
        method: "wallet_addEthereumChain",
        params: [{
          chainId: "0x" + expected.toString(16),
          chainName: "Anvil local",
          rpcUrls: ["http://127.0.0.1:8545"],
          nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
        }],
      })
      .then(function () {
        ensureCurrent(id);
        switchNetwork(wallet, address, expected);
      })
      .catch(function (error) {
        if (error instanceof Abandoned) return;
        showError(error, function () { addLocalNetwork(wallet, address, expected); }, "switch");
      });
  }

  function continueOnChain(wallet, address, expected, id) {
    return wallet.provider.request({ method: "eth_chainId" }).then(function (chainHex) {
      ensureCurrent(id);
      var chainId = parseInt(chainHex, 16);
      if (chainId !== expected) return showWrongNetwork(wallet, address, chainId, expected, id);
      return signAndVerify(id, injectedSigner(wallet, address, chainId)).catch(function (error) {
        if (error instanceof Abandoned) return;
        var retry = function () { connect(wallet); };
        retry.wallet = wallet;
        retry.address = address;
        showError(error, retry, "sign");
      });
    });
  }

  // ---------- wallet events ----------

  function onChainChanged(wallet, chainId) {
    // The person switched in the wallet itself while we asked them to: carry on.
    if (view === "wrong-network" && pendingChain && pendingChain.wallet === wallet) {
      var pending = pendingChain;
      if (chainId === pending.expected) {
        var id = ++run;
        pendingChain = null;
        continueOnChain(wallet, pending.address, pending.expected, id);
      } else {
        showWrongNetwork(wallet, pending.address, chainId, pending.expected, pending.id);
      }
    }
    if (sessionAddress) showChainNotice(chainId);
    document.dispatchEvent(new CustomEvent("databounty:chainchanged", { detail: { chainId: chainId } }));
  }

  function showChainNotice(chainId) {
    var expected = expectedChainId();
    var notice = document.querySelector("[data-wallet-chain-notice]");
    var wrong = expected && chainId !== expected;
    if (signedInChip) signedInChip.classList.toggle("wallet-chip--wrong-chain", Boolean(wrong));
    if (notice) {
      notice.hidden = !wrong;
      notice.textContent = wrong ? "Your wallet is on " + chainName(chainId) + "; payments here use " + chainName(expected) + "." : "";
    }
  }

  function onAccountsChanged(wallet, accounts) {
    if (!sessionAddress || !Array.isArray(accounts) || !accounts.length) return;
    var now = String(accounts[0]);
    if (now.toLowerCase() === sessionAddress.toLowerCase()) {
      if (view === "account-changed") close();
      return;
    }
    if (view === "progress") return; // mid-flow: the flow signs with the account it connected
    var address;
    try {
      address = toChecksumAddress(now);
    } catch (error) {
      return;
    }
    run++;
    open(document.activeElement);
    render({
      name: "account-changed",
      title: "Your wallet switched accounts",
      tone: "info",
      lead: ["You are signed in here as ", addressNode(sessionAddress), ", but " + wallet.info.name + " now uses ", addressNode(address), "."],
      text: ["Sign in again to use ", addressNode(address), ", or sign out. You can also stay signed in as ", addressNode(sessionAddress), "."],
      announce: "Your wallet switched accounts.",
      actions: [
        { label: "Sign in as " + shortAddress(address), primary: true, onClick: function () { connect(wallet); } },
        { label: "Sign out", onClick: signOut },
        { label: "Stay signed in", onClick: close },
      ],
    });
  }

  // ---------- signed in: menu and sign-out ----------

  function signOut(event) {
    var form = event && event.target && event.target.closest ? event.target.closest("form") : null;
    if (event && event.preventDefault) event.preventDefault();
    postJson(config.logoutUrl)
      .then(function (result) {
        if (!result.ok) throw new ServerError(result.status, result.data);
        remember(null);
        window.location.reload();
      })
      .catch(function () {
        // The API did not answer: the plain form still signs out (POST /signout/).
        var fallback = form || document.querySelector("form[data-wallet-signout]");
        if (fallback) HTMLFormElement.prototype.submit.call(fallback);
      });
  }

  document.addEventListener("submit", function (event) {
    if (event.target.matches("form[data-wallet-signout]")) signOut(event);
  });

  function setupMenu() {
    var menu = document.querySelector("[data-wallet-menu]");
    if (!menu) return;
    var summary = menu.querySelector("summary");
    document.addEventListener("click", function (event) {
      if (menu.open && !menu.contains(event.target)) menu.open = false;
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        summary.focus();
      }
    });
    menu.addEventListener("focusout", function (event) {
      if (menu.open && event.relatedTarget && !menu.contains(event.relatedTarget)) menu.open = false;
    });
  }

  // ---------- connect buttons ----------

  // The header's "Connect wallet" link (to /signin/) becomes a button that opens the dialog;
  // other [data-wallet-connect] controls rendered disabled for no-JS are switched on.
  function upgradeConnectControls() {
    document.querySelectorAll("[data-wallet-connect]").forEach(function (control) {
      var button = control;
      if (control.tagName === "A") {
        button = h("button", { type: "button", class: control.className, "data-wallet-connect": true });
        button.append.apply(button, Array.from(control.childNodes));
        control.replaceWith(button);
      }
      button.disabled = false;
      button.removeAttribute("aria-disabled");
      button.removeAttribute("title");
      button.setAttribute("aria-haspopup", "dialog");
    });
  }

  document.addEventListener("click", function (event) {
    var control = event.target.closest("[data-wallet-connect]");
    if (!control) return;
    event.preventDefault();
    start(control);
  });

  function setupSignedIn() {
    var rdns = remembered();
    var wallet = rdns && rdns !== "dev" ? findWallet(rdns) : null;
    if (wallet) watch(wallet);
  }

  // For page scripts (payments) and tests.
  window.DataBounty = Object.assign(window.DataBounty || {}, {
    toChecksumAddress: toChecksumAddress,
    keccak256: keccak256,
    wallets: availableWallets,
    openWalletDialog: start,
    devWallet: devWallet,
  });

  if (sessionAddress) {
    setupMenu();
    setupSignedIn();
  } else {
    upgradeConnectControls();
  }
})();
