/* Sign-In with Ethereum against our API (EIP-4361, https://eips.ethereum.org/EIPS/eip-4361):
   the message, exactly as siwe-py's prepare_message renders it, and the calls that fetch a
   nonce, log in and log out (the URLs are the wallet dialog's data-* attributes). Failures are
   the FlowError and ServerError of wallet_errors.js. */
(function () {
  "use strict";

  var signIn = window.DataBounty.signIn;
  if (!signIn) return;

  var MESSAGE_TTL_MS = 10 * 60 * 1000;

  function expectedChainId() {
    return (window.DataBounty && window.DataBounty.chainId && window.DataBounty.chainId()) || null;
  }

  function csrfToken() {
    return (window.DataBounty && window.DataBounty.csrfToken && window.DataBounty.csrfToken()) || "";
  }

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
        throw new signIn.FlowError("offline");
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
    return fetchJson(signIn.config.nonceUrl, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
      function (result) {
        if (!result.ok) throw new signIn.ServerError(result.status, result.data);
        return result.data;
      }
    );
  }

  Object.assign(signIn, {
    expectedChainId: expectedChainId,
    csrfToken: csrfToken,
    buildMessage: buildMessage,
    postJson: postJson,
    fetchNonce: fetchNonce,
  });
})();
