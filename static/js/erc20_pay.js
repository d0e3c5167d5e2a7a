/* Paying an ERC-20 amount from the connected wallet (EIP-1193): the bounty page's "Fund this
   bounty" card (templates/payments/_bounty_status.html) and a license order's "Pay" card
   (templates/payments/_purchase_pay.html).

   Every element with [data-erc20-pay] is one payment, described by its data attributes:
     data-token        the ERC-20 contract            data-pay-to     the recipient (treasury)
     data-amount       base units, a decimal string (may exceed 2^53: handled as BigInt)
     data-decimals, data-symbol                        data-chain-id   the chain to pay on
     data-payer        the address the transfer must come from (verification checks it)
     data-form         selector of the hash form to submit (default: its [data-pay-form])
     data-refused      optional selector of the "this hash was refused" message
     data-expires-in   optional seconds left to pay (from the server's clock, so a wrong clock
                       here cannot loop): a countdown in [data-pay-countdown], then a reload
     data-balance-url  optional JSON endpoint of the payer's token balance (payments.views.wallet
                       .token_balance), shown in [data-pay-balance] beside the button
   and, for the messages: data-subject ("this bounty"), data-verb ("funded"), data-goal ("fund
   this bounty"), data-payer-role ("its sponsor’s address"), data-amount-label ("the pool").
   Inside it: [data-pay-wallet-box] (shown when this script runs), [data-pay-wallet] (the
   button) and [data-pay-status] (the live status line).

   The button asks the wallet for its account and chain, checks both, reads the balance with
   eth_call balanceOf, sends transfer(payTo, amount) with eth_sendTransaction, and submits the
   hash with the card's "paste the hash" form: a plain POST that also works without JavaScript.
   The wallet is the one last used to sign in, else the first found (EIP-6963 announcements,
   else window.ethereum): wallet_discovery.js finds them, loaded on every page by base.html. */
(function () {
  "use strict";

  var cards = document.querySelectorAll("[data-erc20-pay]");
  if (!cards.length) return;

  var TRANSFER = "0xa9059cbb"; // transfer(address,uint256)
  var BALANCE_OF = "0x70a08231"; // balanceOf(address)
  var PENDING_PREFIX = "databounty:erc20-pay:"; // + the form's action: a hash not yet submitted

  // ---------- wallets ----------

  // With DEBUG on a local chain, a person signed in with the dev wallet pays with it too
  // (wallet_dev.js: it signs in the page and sends through the server's dev relay).
  function devWallet() {
    return typeof window.DataBounty.devWallet === "function" ? window.DataBounty.devWallet() : null;
  }

  // The wallet last used to sign in (the dev wallet too), else the first one found.
  function payingWallet() {
    var remembered = window.DataBounty.rememberedWallet();
    var dev = remembered === "dev" ? devWallet() : null;
    if (dev) return dev;
    return (remembered && window.DataBounty.findWallet(remembered)) || window.DataBounty.wallets()[0] || devWallet();
  }

  function request(provider, method, params) {
    return provider.request({ method: method, params: params || [] });
  }

  // ---------- ABI encoding (by hand: two fixed-size calls need no ABI library) ----------

  function word(hex) {
    return hex.replace(/^0x/, "").toLowerCase().padStart(64, "0");
  }

  function sameAddress(a, b) {
    return typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();
  }

  function PayError(text) {
    this.text = text;
  }

  // ---------- one payment card ----------

  function setUp(card) {
    var data = card.dataset;
    var config = {
      token: data.token,
      payTo: data.payTo,
      amount: BigInt(data.amount),
      decimals: Number(data.decimals),
      symbol: data.symbol,
      chainId: Number(data.chainId),
      payer: data.payer,
      subject: data.subject || "this payment",
      verb: data.verb || "paid",
      goal: data.goal || "pay",
      payerRole: data.payerRole || "the expected address",
      amountLabel: data.amountLabel || "the payment",
    };
    var box = card.querySelector("[data-pay-wallet-box]");
    var button = card.querySelector("[data-pay-wallet]");
    var status = card.querySelector("[data-pay-status]");
    var form = data.form ? document.querySelector(data.form) : card.querySelector("[data-pay-form]");
    var hashInput = form && form.querySelector('input[name="tx_hash"]');
    if (!box || !button || !status || !form || !hashInput) return;
    var statusClass = status.classList[0] || "pay-status";
    var pendingKey = PENDING_PREFIX + form.action;
    var busy = false;
    var expired = false;

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

    function show(tone, text, spinning) {
      status.hidden = false;
      status.className = statusClass + (tone ? " " + statusClass + "--" + tone : "");
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

    function describe(error, step) {
      if (error instanceof PayError) return error.text;
      var code = window.DataBounty.walletErrorCode(error);
      if (code === 4001) {
        return step === "send"
          ? "You rejected the transaction in your wallet. Nothing was sent."
          : step === "switch"
            ? "You kept your wallet on its current network. Switch it to chain " + config.chainId + " to " + config.goal + "."
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

    function ensureChain(provider) {
      return request(provider, "eth_chainId").then(function (hex) {
        var current = parseInt(hex, 16);
        if (current === config.chainId) return;
        show("", "Your wallet is on chain " + current + "; " + config.subject + " is paid on chain " + config.chainId + ". Approve the switch in your wallet\u2026", true);
        return request(provider, "wallet_switchEthereumChain", [{ chainId: "0x" + config.chainId.toString(16) }])
          .catch(function (error) {
            throw new PayError(describe(error, "switch"));
          })
          .then(function () {
            return request(provider, "eth_chainId");
          })
          .then(function (again) {
            if (parseInt(again, 16) !== config.chainId) {
              throw new PayError("Your wallet is still on chain " + parseInt(again, 16) + ". Switch it to chain " + config.chainId + " and try again.");
            }
          });
      });
    }

    function checkBalance(provider, account) {
      var call = { to: config.token, data: BALANCE_OF + word(account) };
      return request(provider, "eth_call", [call, "latest"]).then(function (result) {
        var balance = BigInt(result && result !== "0x" ? result : "0x0");
        if (balance < config.amount) {
          throw new PayError(
            "Not enough " + config.symbol + ": your wallet holds " + formatAmount(balance) + " and " + config.amountLabel +
              " needs " + formatAmount(config.amount) + ". Top it up, then try again."
          );
        }
      });
    }

    // The payer's balance beside the button, read on the server's node (whatever the wallet).
    var balanceLine = card.querySelector("[data-pay-balance]");
    function showBalance() {
      if (!balanceLine || !data.balanceUrl) return;
      window
        .fetch(data.balanceUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (info) {
          if (!info || typeof info.balance !== "string") {
            balanceLine.hidden = true;
            return;
          }
          var balance = BigInt(info.balance);
          var enough = balance >= config.amount;
          balanceLine.hidden = false;
          balanceLine.classList.toggle("pay-balance--short", !enough);
          balanceLine.textContent = "Your balance: " + formatAmount(balance) + (enough ? "" : " \u2014 not enough for " + config.amountLabel);
        })
        .catch(function () {
          balanceLine.hidden = true;
        });
    }

    function submitHash(hash) {
      // The same POST as the manual form (CSRF token included): the server redirects back here.
      hashInput.value = hash;
      show("success", "Transaction sent: " + hash + ". Submitting it for verification\u2026", true);
      try {
        window.sessionStorage.setItem(pendingKey, hash);
      } catch (error) {
        /* the hash is in the field anyway */
      }
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else form.submit();
    }

    function pay() {
      if (busy || expired) return;
      var wallet = payingWallet();
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
          if (!account) throw new PayError("Your wallet shared no account. Unlock it and try again.");
          if (!sameAddress(account, config.payer)) {
            throw new PayError(
              "Your wallet uses " + window.DataBounty.shortAddress(account) + ", but " + config.subject + " must be " +
                config.verb + " from " + config.payerRole + " " + window.DataBounty.shortAddress(config.payer) +
                ". Switch accounts in your wallet and try again."
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
          show(
            "",
            wallet.info.dev
              ? "The dev wallet is sending " + formatAmount(config.amount) + " to the treasury\u2026"
              : "Confirm the transfer of " + formatAmount(config.amount) + " to the treasury in your wallet\u2026",
            true
          );
          return request(provider, "eth_sendTransaction", [
            { from: account, to: config.token, data: TRANSFER + word(config.payTo) + word(config.amount.toString(16)), value: "0x0" },
          ]);
        })
        .then(function (hash) {
          if (typeof hash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(hash)) {
            throw new PayError("Your wallet did not return a transaction hash. If it sent the transfer, paste its hash below.");
          }
          submitHash(hash);
        })
        .catch(function (error) {
          busy = false;
          button.disabled = expired;
          show("error", describe(error, step));
          showBalance();
        });
    }

    // The time left to pay, if the payment expires; at zero the page reloads to say so.
    function startCountdown() {
      var secondsLeft = parseInt(data.expiresIn || "", 10);
      var countdown = card.querySelector("[data-pay-countdown]");
      if (isNaN(secondsLeft) || !countdown) return;
      var started = Date.now();
      function pad(n) {
        return String(n).padStart(2, "0");
      }
      function tick() {
        var elapsed = Math.floor((Date.now() - started) / 1000);
        var left = Math.max(0, secondsLeft - elapsed);
        var hours = Math.floor(left / 3600);
        var minutes = Math.floor((left % 3600) / 60);
        countdown.textContent = (hours ? hours + ":" + pad(minutes) : String(minutes)) + ":" + pad(left % 60) + " left";
        if (left > 0) return;
        expired = true;
        button.disabled = true;
        // One more second, so the server has seen the expiry too and shows "expired" on reload.
        if (elapsed > secondsLeft && !busy) {
          window.clearInterval(timer);
          window.location.reload();
        }
      }
      var timer = window.setInterval(tick, 1000);
      tick();
    }

    button.addEventListener("click", pay);
    box.hidden = false;
    startCountdown();
    showBalance();

    // A hash sent earlier whose submission never finished (the page was closed mid-way) goes
    // back in the field; one the server already saw (and refused: it is named there) is forgotten.
    try {
      var pending = window.sessionStorage.getItem(pendingKey);
      var refused = data.refused && document.querySelector(data.refused);
      if (pending && refused && refused.textContent.toLowerCase().indexOf(pending.toLowerCase()) !== -1) {
        window.sessionStorage.removeItem(pendingKey);
      } else if (pending && !hashInput.value) {
        hashInput.value = pending;
      }
    } catch (error) {
      /* private mode */
    }
  }

  cards.forEach(setUp);
})();
