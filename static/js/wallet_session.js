/* Signed in: watches the wallet for account and network changes (EIP-1193 accountsChanged and
   chainChanged), runs the header's wallet menu, and signs out through the API (the plain
   sign-out form when it does not answer). A wallet switched to the expected network while the
   dialog asked for it carries on with the sign-in (wallet.js, through window.DataBounty.signIn). */
(function () {
  "use strict";

  var signIn = window.DataBounty.signIn;
  if (!signIn) return;
  var state = signIn.state; // which flow runs, which view shows (wallet_dialog.js)

  var signedInChip = document.querySelector("#wallet-slot [data-address]");
  var sessionAddress = signedInChip ? signedInChip.getAttribute("data-address") : null;

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
    var expected = signIn.expectedChainId();
    var notice = document.querySelector("[data-wallet-chain-notice]");
    var wrong = expected && chainId !== expected;
    if (signedInChip) signedInChip.classList.toggle("wallet-chip--wrong-chain", Boolean(wrong));
    if (notice) {
      notice.hidden = !wrong;
      notice.textContent = wrong ? "Your wallet is on " + signIn.chainName(chainId) + "; payments here use " + signIn.chainName(expected) + "." : "";
    }
  }

  function onAccountsChanged(wallet, accounts) {
    if (!sessionAddress || !Array.isArray(accounts) || !accounts.length) return;
    var now = String(accounts[0]);
    if (now.toLowerCase() === sessionAddress.toLowerCase()) {
      if (state.view === "account-changed") signIn.close();
      return;
    }
    if (state.view === "progress") return; // mid-flow: the flow signs with the account it connected
    var address;
    try {
      address = window.DataBounty.toChecksumAddress(now);
    } catch (error) {
      return;
    }
    state.run++;
    signIn.open(document.activeElement);
    signIn.render({
      name: "account-changed",
      title: "Your wallet switched accounts",
      tone: "info",
      lead: ["You are signed in here as ", signIn.addressNode(sessionAddress), ", but " + wallet.info.name + " now uses ", signIn.addressNode(address), "."],
      text: ["Sign in again to use ", signIn.addressNode(address), ", or sign out. You can also stay signed in as ", signIn.addressNode(sessionAddress), "."],
      announce: "Your wallet switched accounts.",
      actions: [
        { label: "Sign in as " + window.DataBounty.shortAddress(address), primary: true, onClick: function () { signIn.connect(wallet); } },
        { label: "Sign out", onClick: signOut },
        { label: "Stay signed in", onClick: signIn.close },
      ],
    });
  }

  function signOut(event) {
    var form = event && event.target && event.target.closest ? event.target.closest("form") : null;
    if (event && event.preventDefault) event.preventDefault();
    signIn.postJson(signIn.config.logoutUrl)
      .then(function (result) {
        if (!result.ok) throw new signIn.ServerError(result.status, result.data);
        window.DataBounty.rememberWallet(null);
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
    var rdns = window.DataBounty.rememberedWallet();
    var wallet = rdns && rdns !== "dev" ? window.DataBounty.findWallet(rdns) : null;
    if (wallet) watch(wallet);
  }

  Object.assign(signIn, {
    sessionAddress: sessionAddress,
    watch: watch,
    setupMenu: setupMenu,
    setupSignedIn: setupSignedIn,
  });
})();
