/* The browser's wallets: announced over EIP-6963 (https://eips.ethereum.org/EIPS/eip-6963), else
   window.ethereum; which one (its rdns) was last used to sign in, so it is found again on the
   next page; and two readings of what wallets return: an address's short form, and an EIP-1193
   error's code. They need no wallet dialog: the sign-in (wallet*.js) and page scripts that pay
   (erc20_pay.js) share them as DataBounty.wallets(), findWallet(rdns), rememberWallet(rdns),
   rememberedWallet(), shortAddress(address) and walletErrorCode(error). */
(function () {
  "use strict";

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

  function rememberWallet(rdns) {
    try {
      if (rdns) window.localStorage.setItem(STORAGE_KEY, rdns);
      else window.localStorage.removeItem(STORAGE_KEY);
    } catch (error) {
      /* private mode: account-change notices just won't follow across reloads */
    }
  }

  function rememberedWallet() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (error) {
      return null;
    }
  }

  function shortAddress(address) {
    return address.slice(0, 6) + "\u2026" + address.slice(-4);
  }

  function walletErrorCode(error) {
    if (!error) return null;
    if (typeof error.code === "number") return error.code;
    // Some wallets wrap the EIP-1193 error (e.g. MetaMask mobile's data.originalError).
    var inner = error.data && (error.data.originalError || error.data);
    return inner && typeof inner.code === "number" ? inner.code : null;
  }

  window.DataBounty = Object.assign(window.DataBounty || {}, {
    wallets: availableWallets,
    findWallet: findWallet,
    rememberWallet: rememberWallet,
    rememberedWallet: rememberedWallet,
    shortAddress: shortAddress,
    walletErrorCode: walletErrorCode,
  });
})();
