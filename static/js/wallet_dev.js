/* The dev wallet (DEBUG only): anvil's public test accounts (the dialog's #dev-wallets JSON),
   signed with ethers in the page; ethers (500 kB) loads only when it is used. It signs in
   (wallet.js), and with DEBUG on a local chain it also pays: DataBounty.devWallet(), an EIP-1193
   provider for static/js/erc20_pay.js that signs with the dev key and sends through the
   server's DEBUG-only JSON-RPC relay. */
(function () {
  "use strict";

  var signIn = window.DataBounty.signIn;
  if (!signIn) return;

  var devWallets = readJson("dev-wallets") || [];

  function readJson(id) {
    var element = document.getElementById(id);
    if (!element) return null;
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

  var ethersPromise = null;
  function loadEthers() {
    if (window.ethers) return Promise.resolve(window.ethers);
    if (!ethersPromise) {
      ethersPromise = new Promise(function (resolve, reject) {
        var script = signIn.h("script", { src: signIn.config.ethersSrc, async: true });
        script.onload = function () {
          if (window.ethers) resolve(window.ethers);
          else reject(new signIn.FlowError("ethers_unavailable"));
        };
        script.onerror = function () {
          ethersPromise = null;
          script.remove();
          reject(new signIn.FlowError("ethers_unavailable"));
        };
        document.head.append(script);
      });
    }
    return ethersPromise;
  }

  // The signed-in dev account as a wallet for erc20_pay.js: {info, provider}, provider an
  // EIP-1193 subset. ethers signs with the dev key; reads and the raw transaction go through
  // the same-origin relay (CSRF header included), which forwards them to our node.
  function devWallet() {
    if (!signIn.config.debug || !signIn.config.devRpcUrl || !signIn.sessionAddress) return null;
    var dev = devWallets.find(function (candidate) {
      return String(candidate.address).toLowerCase() === signIn.sessionAddress.toLowerCase();
    });
    if (!dev) return null;
    var signerPromise = null;

    function signer() {
      if (!signerPromise) {
        signerPromise = loadEthers().then(function (ethers) {
          var request = new ethers.FetchRequest(new URL(signIn.config.devRpcUrl, window.location.href).href);
          request.setHeader("X-CSRFToken", signIn.csrfToken());
          var network = ethers.Network.from(signIn.expectedChainId() || 31337);
          var provider = new ethers.JsonRpcProvider(request, network, { staticNetwork: network, batchMaxCount: 1 });
          return new ethers.Wallet(dev.private_key, provider);
        });
        signerPromise.catch(function () {
          signerPromise = null;
        });
      }
      return signerPromise;
    }

    function providerError(code, message) {
      var error = new Error(message);
      error.code = code;
      return error;
    }

    var provider = {
      isDataBountyDevWallet: true,
      request: function (args) {
        var method = args && args.method;
        var params = (args && args.params) || [];
        if (method === "eth_requestAccounts" || method === "eth_accounts") return Promise.resolve([dev.address]);
        if (method === "wallet_switchEthereumChain") {
          return provider.request({ method: "eth_chainId" }).then(function (hex) {
            var wanted = params[0] && params[0].chainId;
            if (wanted && parseInt(wanted, 16) !== parseInt(hex, 16)) {
              throw providerError(4902, "The dev wallet only knows the local chain.");
            }
            return null;
          });
        }
        return signer().then(function (wallet) {
          if (method === "eth_sendTransaction") {
            var tx = params[0] || {};
            if (tx.from && String(tx.from).toLowerCase() !== dev.address.toLowerCase()) {
              throw providerError(4100, "The dev wallet holds only " + dev.address + ".");
            }
            return wallet.sendTransaction({ to: tx.to, data: tx.data, value: tx.value || 0 }).then(function (sent) {
              return sent.hash;
            });
          }
          return wallet.provider.send(method, params);
        });
      },
    };
    return { info: { name: "the dev wallet", rdns: "dev", dev: true }, provider: provider };
  }

  Object.assign(signIn, { devWallets: devWallets, loadEthers: loadEthers });
  window.DataBounty.devWallet = devWallet;
})();
