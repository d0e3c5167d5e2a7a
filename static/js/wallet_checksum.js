/* EIP-55 checksummed addresses (https://eips.ethereum.org/EIPS/eip-55) and the keccak-256 they
   hash with, over 64-bit lanes (BigInt). Wallets may return lowercase addresses; EIP-4361
   messages must carry the EIP-55 form. For the wallet sign-in (wallet*.js), page scripts and
   tests: DataBounty.toChecksumAddress (a TypeError for anything but 0x and 40 hex digits),
   DataBounty.keccak256 (bytes to 32 bytes) and DataBounty.toHex (bytes to 0x-hex). */
(function () {
  "use strict";

  function toHex(bytes) {
    var out = "0x";
    for (var i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, "0");
    return out;
  }

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
      throw new TypeError("Not an Ethereum address: " + address);
    }
    var lower = address.slice(2).toLowerCase();
    var hash = toHex(keccak256(new TextEncoder().encode(lower))).slice(2);
    var out = "0x";
    for (var i = 0; i < 40; i++) out += parseInt(hash[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
    return out;
  }

  window.DataBounty = Object.assign(window.DataBounty || {}, {
    toChecksumAddress: toChecksumAddress,
    keccak256: keccak256,
    toHex: toHex,
  });
})();
