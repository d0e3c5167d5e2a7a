/* DataBounty: Sign-In with Ethereum (EIP-4361, https://eips.ethereum.org/EIPS/eip-4361).

   Finds wallets over EIP-6963 (falling back to window.ethereum), connects, checks the network,
   asks the wallet to sign the server's message and posts it to /api/v1/auth/login. Every step
   reports in the dialog (templates/accounts/wallet_dialog.html), and every failure says what
   happened and offers a way on. Signed in, it runs the header menu and watches the wallet for
   account and network changes. Pages work without it: the header links to /signin/ and
   sign-out is a plain form.

   This file is the flow and its views; it runs last of the wallet scripts (templates/base.html
   loads them in this order). The first two need no dialog and serve page scripts too, on
   window.DataBounty; wallet_dialog.js creates window.DataBounty.signIn when the page can show
   the dialog, and the others add their parts to it (and do nothing without it):
     wallet_checksum.js   keccak-256 and EIP-55 checksummed addresses
     wallet_discovery.js  the browser's wallets (EIP-6963), the one last used, short addresses
                          and wallet error codes
     wallet_dialog.js     the dialog: its settings, state, and drawing one view
     wallet_errors.js     what can go wrong, and the words for it
     wallet_siwe.js       the EIP-4361 message, and the nonce, login and logout calls
     wallet_session.js    signed in: the header menu, sign-out, account and network changes
     wallet_dev.js        the DEBUG dev wallet, which signs in and pays (DataBounty.devWallet) */
(function () {
  "use strict";

  var signIn = window.DataBounty.signIn;
  if (!signIn) return;
  var state = signIn.state; // which flow runs, which view shows (wallet_dialog.js)

  var RETRYABLE = ["nonce_expired", "nonce_reused", "expired", "nonce_unknown", "nonce_session_mismatch"];
  var SLOW_WALLET_MS = 8000; // after this, suggest opening the wallet: it may be locked

  // Only same-site paths: the server already checked ?next, this keeps it that way.
  function safeNext(value) {
    return typeof value === "string" && value.charAt(0) === "/" && value.charAt(1) !== "/" &&
      value.indexOf("\\") === -1 ? value : null;
  }

  // Wallets may return lowercase addresses; EIP-4361 messages must carry the EIP-55 form.
  function checksummed(address) {
    try {
      return window.DataBounty.toChecksumAddress(address);
    } catch (error) {
      throw new signIn.FlowError("bad_address");
    }
  }

  // ---------- the views ----------

  function devOption() {
    var icon = signIn.h("span", { class: "wallet-option__icon wallet-option__icon--dev", "aria-hidden": "true" });
    icon.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" focusable="false"><path d="M8 8l-4 4 4 4M16 8l4 4-4 4M13.5 5.5l-3 13" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>';
    return signIn.option(icon, "Use a dev wallet", "Local development only: anvil test keys", showDevWallets);
  }

  function start(trigger) {
    signIn.open(trigger);
    // Ask again: an extension that loaded after this script announces itself now.
    window.dispatchEvent(new Event("eip6963:requestProvider"));
    var wallets = window.DataBounty.wallets();
    if (!wallets.length) return showNoWallet();
    if (wallets.length === 1 && !(signIn.config.debug && signIn.devWallets.length)) return connect(wallets[0]);
    showPicker(wallets);
  }

  function showPicker(wallets) {
    state.run++;
    var list = signIn.h("ul", { class: "wallet-options", role: "list" });
    wallets.forEach(function (wallet) {
      list.append(signIn.option(signIn.walletIcon(wallet.info), wallet.info.name, "Detected in this browser", function () {
        connect(wallet);
      }));
    });
    if (signIn.config.debug && signIn.devWallets.length) list.append(devOption());
    signIn.render({
      name: "picker",
      title: "Connect a wallet",
      lead: wallets.length > 1 ? "Several wallets are installed. Which one holds the account you want to use?" : "Choose how to sign in.",
      content: [list],
      focus: list.querySelector("button"),
    });
  }

  function showNoWallet() {
    state.run++;
    var actions = [{ label: "Reload page", primary: true, onClick: function () { window.location.reload(); } }];
    var content = [
      signIn.h("p", { class: "wallet-view__text", text: "On a phone, open this page in your wallet app\u2019s built-in browser instead." }),
    ];
    if (signIn.config.debug && signIn.devWallets.length) {
      content.push(signIn.h("ul", { class: "wallet-options", role: "list" }, devOption()));
    }
    signIn.render({
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
    state.run++;
    var list = signIn.h("ul", { class: "wallet-options wallet-options--dev", role: "list" });
    signIn.devWallets.forEach(function (dev, index) {
      var icon = signIn.h("span", { class: "wallet-option__icon wallet-option__icon--avatar", "aria-hidden": "true", text: String(index + 1) });
      list.append(signIn.option(icon, "Dev account " + (index + 1), window.DataBounty.shortAddress(dev.address), function () {
        signInWithDevWallet(dev);
      }));
    });
    var wallets = window.DataBounty.wallets();
    signIn.render({
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
    state.pendingChain = { wallet: wallet, address: address, expected: expected, id: id };
    signIn.render({
      name: "wrong-network",
      title: "Switch network",
      tone: "warning",
      lead: current === null ? "This site signs you in on another network." : "Your wallet is on " + signIn.chainName(current) + ".",
      text: "DataBounty runs on " + signIn.chainName(expected) + ". Switch your wallet to it to sign in.",
      announce: "Wrong network. DataBounty runs on " + signIn.chainName(expected) + ".",
      actions: [
        { label: "Switch network", primary: true, onClick: function () { switchNetwork(wallet, address, expected); } },
        { label: "Cancel", onClick: signIn.close },
      ],
    });
  }

  function showUnknownNetwork(wallet, address, expected) {
    var canAdd = signIn.config.debug && expected === 31337;
    signIn.render({
      name: "unknown-network",
      title: "Add the network",
      tone: "warning",
      lead: "Your wallet doesn\u2019t know " + signIn.chainName(expected) + " yet.",
      text: canAdd
        ? "Add the local Anvil network (RPC http://127.0.0.1:8545) to your wallet, then we switch to it."
        : "Add this network in your wallet\u2019s network settings (chain ID " + expected + "), then try again.",
      actions: canAdd
        ? [
            { label: "Add network", primary: true, onClick: function () { addLocalNetwork(wallet, address, expected); } },
            { label: "Cancel", onClick: signIn.close },
          ]
        : [
            { label: "Try again", primary: true, onClick: function () { connect(wallet); } },
            { label: "Close", onClick: signIn.close },
          ],
    });
  }

  function showSuccess(address) {
    signIn.render({
      name: "success",
      title: "Signed in",
      tone: "success",
      lead: ["Signed in as ", signIn.addressNode(address), "."],
      text: "One moment\u2026",
      announce: "Signed in as " + window.DataBounty.shortAddress(address) + ".",
    });
  }

  // What went wrong, in words, with a way on. `retry` repeats the failed step.
  function showError(error, retry, step) {
    if (error instanceof signIn.Abandoned) return;
    if (error instanceof signIn.ServerError && error.code === "chain_mismatch" && retry.wallet && retry.address) {
      var accepted = (error.data.accepted_chain_ids || [])[0];
      if (accepted) return showWrongNetwork(retry.wallet, retry.address, null, accepted, state.run);
    }
    var message = signIn.describe(error, step);
    var actions = [];
    if (message.retry !== false) actions.push({ label: "Try again", primary: true, onClick: retry });
    if (message.reload) actions.push({ label: "Reload page", primary: !actions.length, onClick: function () { window.location.reload(); } });
    actions.push({ label: "Close", onClick: signIn.close });
    signIn.render({
      name: "error",
      title: message.title,
      tone: "error",
      lead: message.lead,
      text: message.text,
      actions: actions,
      errorCode: error.code === undefined ? "unknown" : String(error.code),
      // The error box is role=alert: announced when it appears.
    });
  }

  // ---------- the sign-in flow ----------

  function walletRequest(wallet, method, params, slowHint) {
    var request = wallet.provider.request({ method: method, params: params || [] });
    if (!slowHint) return request;
    var timer = window.setTimeout(function () {
      if (state.view !== "progress") return;
      signIn.progress(
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
    var id = ++state.run;
    var step = "connect";
    var address = null;
    signIn.watch(wallet);
    signIn.progress("Waiting for your wallet\u2026", "Approve the connection in " + wallet.info.name + ".", "");
    return walletRequest(wallet, "eth_requestAccounts", [], true)
      .then(function (accounts) {
        signIn.ensureCurrent(id);
        if (!Array.isArray(accounts) || !accounts.length) throw new signIn.FlowError("locked");
        address = checksummed(accounts[0]);
        return wallet.provider.request({ method: "eth_chainId" }).then(function (chainHex) {
          signIn.ensureCurrent(id);
          var chainId = parseInt(chainHex, 16);
          var expected = signIn.expectedChainId();
          if (expected && chainId !== expected) return showWrongNetwork(wallet, address, chainId, expected, id);
          step = "sign";
          return signAndVerify(id, injectedSigner(wallet, address, chainId));
        });
      })
      .catch(function (error) {
        if (error instanceof signIn.Abandoned) return;
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
          params: [window.DataBounty.toHex(new TextEncoder().encode(message)), address],
        });
      },
    };
  }

  function signInWithDevWallet(dev) {
    var id = ++state.run;
    signIn.progress("Loading the dev wallet\u2026", "Preparing anvil\u2019s test key in this page.", "");
    return signIn.loadEthers()
      .then(function (ethers) {
        signIn.ensureCurrent(id);
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
        if (error instanceof signIn.Abandoned) return;
        showError(error, function () { signInWithDevWallet(dev); }, "sign");
      });
  }

  // Nonce → message → signature → login; on a stale nonce, once more with a fresh one.
  function signAndVerify(id, signer) {
    state.pendingChain = null;
    var attempt = 0;

    function once() {
      return signIn.fetchNonce().then(function (nonce) {
        signIn.ensureCurrent(id);
        if (signer.chainId !== null && nonce.chain_id && signer.chainId !== nonce.chain_id && signer.wallet) {
          return showWrongNetwork(signer.wallet, signer.address, signer.chainId, nonce.chain_id, id);
        }
        var message = signIn.buildMessage(nonce, signer.address);
        signIn.progress(
          "Signing\u2026",
          signer.signingText,
          attempt > 0
            ? "Your first sign-in request had expired, so here is a fresh one: please sign again."
            : ["It proves ", signIn.addressNode(signer.address), " is yours. It is free and sends no transaction."]
        );
        return Promise.resolve(signer.sign(message)).then(function (signature) {
          signIn.ensureCurrent(id);
          signIn.progress("Verifying\u2026", "Checking your signature.", "");
          return signIn.postJson(signIn.config.loginUrl, { message: message, signature: signature }).then(function (result) {
            signIn.ensureCurrent(id);
            if (result.ok) return done(result.data.address || signer.address, signer.rdns);
            var error = new signIn.ServerError(result.status, result.data);
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
    window.DataBounty.rememberWallet(rdns);
    showSuccess(address);
    var holder = document.querySelector("[data-wallet-next]");
    var next = holder ? safeNext(holder.getAttribute("data-wallet-next")) : null;
    if (next) window.location.assign(next);
    else window.location.reload();
  }

  function switchNetwork(wallet, address, expected) {
    var id = ++state.run;
    state.pendingChain = null;
    signIn.progress("Switching network\u2026", "Approve the switch to " + signIn.chainName(expected) + " in " + wallet.info.name + ".", "");
    wallet.provider
      .request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + expected.toString(16) }] })
      .then(function () {
        signIn.ensureCurrent(id);
        return continueOnChain(wallet, address, expected, id);
      })
      .catch(function (error) {
        if (error instanceof signIn.Abandoned) return;
        var code = window.DataBounty.walletErrorCode(error);
        if (code === 4902) return showUnknownNetwork(wallet, address, expected);
        if (code === 4001) error = new signIn.FlowError("switch_rejected");
        showError(error, function () { switchNetwork(wallet, address, expected); }, "switch");
      });
  }

  function addLocalNetwork(wallet, address, expected) {
    var id = ++state.run;
    signIn.progress("Adding the network\u2026", "Approve adding Anvil local in " + wallet.info.name + ".", "");
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
        signIn.ensureCurrent(id);
        switchNetwork(wallet, address, expected);
      })
      .catch(function (error) {
        if (error instanceof signIn.Abandoned) return;
        showError(error, function () { addLocalNetwork(wallet, address, expected); }, "switch");
      });
  }

  function continueOnChain(wallet, address, expected, id) {
    return wallet.provider.request({ method: "eth_chainId" }).then(function (chainHex) {
      signIn.ensureCurrent(id);
      var chainId = parseInt(chainHex, 16);
      if (chainId !== expected) return showWrongNetwork(wallet, address, chainId, expected, id);
      return signAndVerify(id, injectedSigner(wallet, address, chainId)).catch(function (error) {
        if (error instanceof signIn.Abandoned) return;
        var retry = function () { connect(wallet); };
        retry.wallet = wallet;
        retry.address = address;
        showError(error, retry, "sign");
      });
    });
  }

  // ---------- connect buttons ----------

  // The header's "Connect wallet" link (to /signin/) becomes a button that opens the dialog;
  // other [data-wallet-connect] controls rendered disabled for no-JS are switched on.
  function upgradeConnectControls() {
    document.querySelectorAll("[data-wallet-connect]").forEach(function (control) {
      var button = control;
      if (control.tagName === "A") {
        button = signIn.h("button", { type: "button", class: control.className, "data-wallet-connect": true });
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

  Object.assign(signIn, {
    connect: connect,
    continueOnChain: continueOnChain,
    showWrongNetwork: showWrongNetwork,
  });
  // For page scripts (payments) and tests.
  window.DataBounty.openWalletDialog = start;

  if (signIn.sessionAddress) {
    signIn.setupMenu();
    signIn.setupSignedIn();
  } else {
    upgradeConnectControls();
  }
})();
