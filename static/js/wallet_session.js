/* Signed in: watches the wallet for account and network changes (EIP-1193 accountsChanged and
   chainChanged), runs the header's wallet menu, and signs out through the API (the plain
   sign-out form when it does not answer). A wallet switched to the expected network while the
   dialog asked for it carries on with the sign-in (wallet.js, through window.DataBounty.signIn). */
(function () {
  "use strict";

  var dialog = document.getElementById("wallet-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;

  var signedInChip = document.querySelector("#wallet-slot [data-address]");
  var sessionAddress = signedInChip ? signedInChip.getAttribute("data-address") : null;
  var signIn = window.DataBounty.signIn;
  var config = signIn.config;
  var state = signIn.state;
  var open = signIn.open;
  var close = signIn.close;
  var render = signIn.render;
  var addressNode = signIn.addressNode;
  var shortAddress = signIn.shortAddress;
  var chainName = signIn.chainName;
  var expectedChainId = signIn.expectedChainId;
  var postJson = signIn.postJson;
  var ServerError = signIn.ServerError;
  var findWallet = signIn.findWallet;
  var remember = signIn.remember;
  var remembered = signIn.remembered;
  var toChecksumAddress = window.DataBounty.toChecksumAddress;

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

  function onChainChanged(wallet, chainId) {
    // The person switched in the wallet itself while we asked them to: carry on.
    if (state.view === "wrong-network" && state.pendingChain && state.pendingChain.wallet === wallet) {
      var pending = state.pendingChain;
      if (chainId === pending.expected) {
        var id = ++state.run;
        state.pendingChain = null;
        signIn.continueOnChain(wallet, pending.address, pending.expected, id);
      } else {
        signIn.showWrongNetwork(wallet, pending.address, chainId, pending.expected, pending.id);
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
      if (state.view === "account-changed") close();
      return;
    }
    if (state.view === "progress") return; // mid-flow: the flow signs with the account it connected
    var address;
    try {
      address = toChecksumAddress(now);
    } catch (error) {
      return;
    }
    state.run++;
    open(document.activeElement);
    render({
      name: "account-changed",
      title: "Your wallet switched accounts",
      tone: "info",
      lead: ["You are signed in here as ", addressNode(sessionAddress), ", but " + wallet.info.name + " now uses ", addressNode(address), "."],
      text: ["Sign in again to use ", addressNode(address), ", or sign out. You can also stay signed in as ", addressNode(sessionAddress), "."],
      announce: "Your wallet switched accounts.",
      actions: [
        { label: "Sign in as " + shortAddress(address), primary: true, onClick: function () { signIn.connect(wallet); } },
        { label: "Sign out", onClick: signOut },
        { label: "Stay signed in", onClick: close },
      ],
    });
  }

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

  function setupSignedIn() {
    var rdns = remembered();
    var wallet = rdns && rdns !== "dev" ? findWallet(rdns) : null;
    if (wallet) watch(wallet);
  }

  Object.assign(signIn, {
    sessionAddress: sessionAddress,
    watch: watch,
    setupMenu: setupMenu,
    setupSignedIn: setupSignedIn,
  });
})();
