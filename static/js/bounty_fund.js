/* Funding a bounty from the connected wallet (EIP-1193), on the bounty page's "Fund this bounty"
   card (templates/payments/_bounty_status.html).

   The card carries what to send: the token contract, the treasury, the amount in base units
   (a decimal string: it may exceed 2^53, so it is handled as BigInt), the chain and the sponsor's
   address (verification checks the transfer came from it). The button asks the wallet for its
   account and chain, checks both, reads the token balance with eth_call balanceOf, sends an
   ERC-20 transfer(treasury, amount) with eth_sendTransaction, and then submits the hash with
   the card's own "paste the hash" form, which is a plain POST that works without JavaScript.
   Wallets are found as in wallet.js: EIP-6963 announcements, else window.ethereum. */
(function () {
  "use strict";

  var card = document.querySelector("[data-bounty-fund]");
  if (!card) return;

  var TRANSFER = "0xa9059cbb"; // transfer(address,uint256)
  var BALANCE_OF = "0x70a08231"; // balanceOf(address)
  var STORAGE_KEY = "databounty:wallet"; // the wallet last used to sign in (wallet.js)

  var config = {
    token: card.dataset.token,
    treasury: card.dataset.treasury,
    amount: BigInt(card.dataset.amount),
    decimals: Number(card.dataset.decimals),
    symbol: card.dataset.symbol,
    chainId: Number(card.dataset.chainId),
    sponsor: card.dataset.sponsor,
  };
  var box = card.querySelector("[data-fund-wallet-box]");
  var button = card.querySelector("[data-fund-wallet]");
  var status = card.querySelector("[data-fund-status]");
  var form = card.querySelector("[data-fund-form]");
  var hashInput = form && form.querySelector('input[name="tx_hash"]');
  var busy = false;

  // ---------- wallets ----------

  var announced = new Map();
  window.addEventListener("eip6963:announceProvider", function (event) {
    var detail = event.detail;
    if (!detail || !detail.info || !detail.provider || typeof detail.provider.request !== "function") return;
    announced.set(detail.info.rdns || detail.info.uuid, detail);
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));

  function findWallet() {
    var remembered = null;
    try {
      remembered = window.localStorage.getItem(STORAGE_KEY);
    } catch (error) {
      /* private mode */
    }
    if (remembered && announced.has(remembered)) return announced.get(remembered);
    var first = announced.values().next();
    if (!first.done) return first.value;
    if (window.ethereum && typeof window.ethereum.request === "function") {
      return { info: { name: "your wallet", rdns: "window.ethereum" }, provider: window.ethereum };
    }
    return null;
  }

  // ---------- amounts and ABI encoding (by hand: two fixed-size calls need no ABI library) ----------

  function formatAmount(value) {
    var base = 10n ** BigInt(config.decimals);
    var whole = value / base;
    var fraction = value % base;
    var text = whole.toLocaleString("en-US");
    if (config.decimals && fraction) {
      text += "." + fraction.toString().padStart(config.decimals, "0").replace(/0+$/, "");
    }
    return text + " " + config.symbol;
  }

  function word(hex) {
    return hex.replace(/^0x/, "").toLowerCase().padStart(64, "0");
  }

  function transferData() {
    return TRANSFER + word(config.treasury) + word(config.amount.toString(16));
  }

  function shortAddress(address) {
    return address.slice(0, 6) + "\u2026" + address.slice(-4);
  }

  function sameAddress(a, b) {
    return typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();
  }

  // ---------- status line ----------

  function show(tone, text, spinning) {
    status.hidden = false;
    status.className = "fund-card__status" + (tone ? " fund-card__status--" + tone : "");
    status.textContent = "";
    if (spinning) {
      var spinner = document.createElement("span");
      spinner.className = "spinner";
      spinner.setAttribute("aria-hidden", "true");
      status.append(spinner);
    }
    var message = document.createElement("span");
    message.textContent = text;
    status.append(message);
    status.setAttribute("role", tone === "error" ? "alert" : "status");
  }

  function FundError(text) {
    this.text = text;
  }

  function walletErrorCode(error) {
    if (!error) return null;
    if (typeof error.code === "number") return error.code;
    var inner = error.data && (error.data.originalError || error.data);
    return inner && typeof inner.code === "number" ? inner.code : null;
  }

  function describe(error, step) {
    if (error instanceof FundError) return error.text;
    var code = walletErrorCode(error);
    if (code === 4001) {
      return step === "send"
        ? "You rejected the transaction in your wallet. Nothing was sent."
        : step === "switch"
          ? "You kept your wallet on its current network. Switch it to chain " + config.chainId + " to fund this bounty."
          : "You declined the connection in your wallet. Nothing was sent.";
    }
    if (code === 4100) return "Your wallet is locked or not connected to this site. Unlock it and try again.";
    if (code === -32002) return "Your wallet already has a request open. Finish or close it in the wallet, then try again.";
    if (code === 4902) return "Your wallet does not know chain " + config.chainId + ". Add that network to it, then try again.";
    var detail = error && (error.message || (error.data && error.data.message));
    if (detail && /insufficient funds/i.test(detail)) {
      return "Your account has too little ether to pay for gas. Add some, then try again.";
    }
    return "Your wallet could not " + (step === "send" ? "send the transaction" : "answer") + (detail ? ": " + detail : ".");
  }

  // ---------- the flow ----------

  function request(provider, method, params) {
    return provider.request({ method: method, params: params || [] });
  }

  function ensureChain(provider) {
    return request(provider, "eth_chainId").then(function (hex) {
      var current = parseInt(hex, 16);
      if (current === config.chainId) return;
      show("", "Your wallet is on chain " + current + "; this bounty is paid on chain " + config.chainId + ". Approve the switch in your wallet\u2026", true);
      return request(provider, "wallet_switchEthereumChain", [{ chainId: "0x" + config.chainId.toString(16) }])
        .catch(function (error) {
          throw new FundError(describe(error, "switch"));
        })
        .then(function () {
          return request(provider, "eth_chainId");
        })
        .then(function (again) {
          if (parseInt(again, 16) !== config.chainId) {
            throw new FundError("Your wallet is still on chain " + parseInt(again, 16) + ". Switch it to chain " + config.chainId + " and try again.");
          }
        });
    });
  }

  function checkBalance(provider, account) {
    var call = { to: config.token, data: BALANCE_OF + word(account) };
    return request(provider, "eth_call", [call, "latest"]).then(function (result) {
      var balance = BigInt(result && result !== "0x" ? result : "0x0");
      if (balance < config.amount) {
        throw new FundError(
          "Not enough " + config.symbol + ": your wallet holds " + formatAmount(balance) + " and the pool needs " +
            formatAmount(config.amount) + ". Top it up, then try again."
        );
      }
    });
  }

  function submitHash(hash) {
    // The same POST as the manual form (CSRF token included): the server redirects back here.
    hashInput.value = hash;
    show("success", "Transaction sent: " + hash + ". Submitting it for verification\u2026", true);
    try {
      window.sessionStorage.setItem("databounty:funding:" + form.action, hash);
    } catch (error) {
      /* the hash is in the field anyway */
    }
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
  }

  function fund() {
    if (busy) return;
    var wallet = findWallet();
    if (!wallet) {
      show("error", "No wallet found in this browser. Install one, or send the transfer from any wallet and paste its hash below.");
      return;
    }
    var provider = wallet.provider;
    var account = null;
    var step = "connect";
    busy = true;
    button.disabled = true;
    show("", "Connecting to " + wallet.info.name + "\u2026", true);
    request(provider, "eth_requestAccounts")
      .then(function (accounts) {
        account = Array.isArray(accounts) && accounts.length ? String(accounts[0]) : null;
        if (!account) throw new FundError("Your wallet shared no account. Unlock it and try again.");
        if (!sameAddress(account, config.sponsor)) {
          throw new FundError(
            "Your wallet uses " + shortAddress(account) + ", but this bounty must be funded from its sponsor\u2019s address " +
              shortAddress(config.sponsor) + ". Switch accounts in your wallet and try again."
          );
        }
        step = "switch";
        return ensureChain(provider);
      })
      .then(function () {
        step = "balance";
        show("", "Checking your " + config.symbol + " balance\u2026", true);
        return checkBalance(provider, account);
      })
      .then(function () {
        step = "send";
        show("", "Confirm the transfer of " + formatAmount(config.amount) + " to the treasury in your wallet\u2026", true);
        return request(provider, "eth_sendTransaction", [
          { from: account, to: config.token, data: transferData(), value: "0x0" },
        ]);
      })
      .then(function (hash) {
        if (typeof hash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(hash)) {
          throw new FundError("Your wallet did not return a transaction hash. If it sent the transfer, paste its hash below.");
        }
        submitHash(hash);
      })
      .catch(function (error) {
        busy = false;
        button.disabled = false;
        show("error", describe(error, step));
      });
  }

  button.addEventListener("click", fund);
  box.hidden = false;

  // A hash sent earlier whose submission never finished (the page was closed mid-way) goes back
  // in the field; one the server already saw (and refused: it is named above) is forgotten.
  try {
    var key = "databounty:funding:" + form.action;
    var pending = window.sessionStorage.getItem(key);
    var refused = document.getElementById("funding-refused");
    if (pending && refused && refused.textContent.toLowerCase().indexOf(pending.toLowerCase()) !== -1) {
      window.sessionStorage.removeItem(key);
    } else if (pending && hashInput && !hashInput.value) {
      hashInput.value = pending;
    }
  } catch (error) {
    /* private mode */
  }
})();
