/* The same file twice, refused from its hash (through window.DataBounty.uploader). Before any
   byte is sent, a file up to data-hash-max-bytes is hashed here (SubtleCrypto SHA-256) and
   GET /api/v1/datasets/<slug>/contributions/check?sha256= says whether the very same file was
   contributed already: if so it is refused at once. Larger files, or a browser without
   SubtleCrypto (plain http), are checked by the server on upload (409 duplicate_file). */
(function () {
  "use strict";

  var uploader = window.DataBounty.uploader;
  if (!uploader) return;

  function hex(buffer) {
    return Array.prototype.map
      .call(new Uint8Array(buffer), function (byte) {
        return ("0" + byte.toString(16)).slice(-2);
      })
      .join("");
  }

  // The file's SHA-256 in hex, or null when it is too large to read here or the browser cannot
  // hash (SubtleCrypto exists only in secure contexts): the server checks it on upload anyway.
  function sha256(file) {
    if (file.size > uploader.config.hashMaxBytes || !window.crypto || !window.crypto.subtle || !file.arrayBuffer) {
      return Promise.resolve(null);
    }
    return file
      .arrayBuffer()
      .then(function (buffer) {
        return window.crypto.subtle.digest("SHA-256", buffer);
      })
      .then(hex, function () {
        return null;
      });
  }

  // The server's answer when this very file was contributed before, else null (an unanswered
  // check never stops an upload: the server refuses duplicates itself).
  function earlierCopy(file, state) {
    return sha256(file).then(function (digest) {
      uploader.checkCancelled(state);
      if (!digest) return null;
      return uploader.json("GET", uploader.config.checkUrl + "?sha256=" + digest, undefined, state).then(
        function (response) {
          return response.status === 200 && response.data.duplicate ? response.data : null;
        },
        function (error) {
          if (error.aborted) throw error;
          return null;
        }
      );
    });
  }

  function duplicate(file, earlier) {
    var error = new Error("“" + file.name + "” was already contributed to this dataset (the same SHA-256), so it was not uploaded. Each file is accepted once.");
    error.code = "duplicate_file";
    if (earlier.contribution) error.link = uploader.reportLink(earlier.contribution, "Open its report");
    return error;
  }

  Object.assign(uploader, {
    earlierCopy: earlierCopy,
    duplicate: duplicate,
  });
})();
