/* The labeling queue's API, for the labeling page (label.js):

   GET  /api/v1/datasets/<slug>/labeling/next  → 200 {id, data} (reserved for this person) | 204
   POST /api/v1/items/<id>/labels/ {"value"}   → 201, then the next item
   POST /api/v1/items/<id>/skip                → 204, then the next item
   POST /api/v1/datasets/<slug>/labeling/undo  → 200 {id, data}: the last labelled item, again

   DataBounty.labelingApi(method, url, body) resolves to {status, data} (data null on 204) and
   rejects with {status, code, detail}: the server's refusal, or words for a lost connection
   (status 0, code "network") or a lost session, ready to show as they are. */
(function () {
  "use strict";

  function api(method, url, body) {
    var headers = { Accept: "application/json", "X-CSRFToken": window.DataBounty ? window.DataBounty.csrfToken() : "" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(
      function (response) {
        if (response.status === 204) return { status: 204, data: null };
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            if (response.ok) return { status: response.status, data: data };
            if (response.status === 403 && !data.code) {
              data.detail = "You are signed out. Reload the page and sign in again.";
            }
            throw {
              status: response.status,
              code: data.code || "error",
              detail: data.detail || "Something went wrong (HTTP " + response.status + "). Try again.",
            };
          });
      },
      function () {
        throw { status: 0, code: "network", detail: "We couldn’t reach DataBounty. Check your connection and try again." };
      }
    );
  }

  window.DataBounty = Object.assign(window.DataBounty || {}, { labelingApi: api });
})();
