/* The wallet sign-in's failures, and what each one means in words. FlowError: a step of ours
   failed (its code); Abandoned: the flow was left (the dialog closed, or another flow began);
   ServerError: the API refused ({detail, code}); wallets reject with EIP-1193 error codes
   (https://eips.ethereum.org/EIPS/eip-1193#provider-errors). describe() turns any of them into
   the title, lead and text of the dialog's error view (wallet.js showError). ensureCurrent(id)
   throws Abandoned once the flow `id` is no longer the one running. Shared with the other
   wallet*.js through window.DataBounty.signIn. */
(function () {
  "use strict";

  var signIn = window.DataBounty.signIn;
  if (!signIn) return;

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

  function ensureCurrent(id) {
    if (id !== signIn.state.run) throw new Abandoned();
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
    var walletCode = window.DataBounty.walletErrorCode(error);
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

  Object.assign(signIn, {
    FlowError: FlowError,
    Abandoned: Abandoned,
    ServerError: ServerError,
    ensureCurrent: ensureCurrent,
    describe: describe,
  });
})();
