/* The browser's wallets: announced over EIP-6963 (https://eips.ethereum.org/EIPS/eip-6963), else
   window.ethereum; and which one (its rdns) was last used to sign in, so it is found again on the
   next page. For wallet.js and wallet_session.js, and page scripts (DataBounty.wallets()). */
(function () {
  "use strict";

  var dialog = document.getElementById("wallet-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;

  var STORAGE_KEY = "databounty:wallet"; // rdns of the wallet last used to sign in
  var FALLBACK_RDNS = "window.ethereum";

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

  Object.assign(window.DataBounty.signIn, {
    availableWallets: availableWallets,
    findWallet: findWallet,
    remember: remember,
    remembered: remembered,
  });
  window.DataBounty.wallets = availableWallets;
})();
