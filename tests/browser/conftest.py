"""Playwright (sync API) fixtures: Debian's Chromium, Django's live server, and a test wallet.

The wallet is an EIP-1193 provider injected into every page (``window.ethereum``, also announced
over EIP-6963) whose requests are answered here, in Python: it signs with an anvil test key and
forwards chain reads and transactions to the test's anvil node. A test steers it through the
``wallet`` fixture, for example::

    def test_rejected_signature_shows_an_error(page, wallet, live_server):
        wallet.reject_next = "personal_sign"   # the user clicks "Reject" in the wallet
        page.goto("/")
        ...
        assert [m for m, _ in wallet.requests] == ["eth_requestAccounts", "personal_sign"]
"""

from __future__ import annotations

import functools
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    ViewportSize,
    sync_playwright,
)

from payments.integrations.anvil import AnvilNode, DevAccount, JsonRpcError, rpc_call

# Playwright's sync API keeps an asyncio event loop running on the main thread; Django refuses
# ORM calls from a thread with a running loop unless told this is deliberate.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = ViewportSize(width=1280, height=800)
MOBILE = ViewportSize(width=390, height=844)
DEFAULT_TIMEOUT_MS = 10_000

# EIP-1193 provider errors (https://eips.ethereum.org/EIPS/eip-1193#provider-errors), and
# EIP-3326's "unrecognized chain" for wallet_switchEthereumChain.
USER_REJECTED = 4001
UNAUTHORIZED = 4100
UNSUPPORTED_METHOD = 4200
UNRECOGNIZED_CHAIN = 4902

# Methods a real wallet shows the user a prompt for: the ones ``reject_next = True`` refuses.
PROMPTING_METHODS = frozenset(
    {
        "eth_requestAccounts",
        "personal_sign",
        "eth_signTypedData_v4",
        "eth_sendTransaction",
        "wallet_switchEthereumChain",
        "wallet_addEthereumChain",
        "wallet_watchAsset",
        "wallet_requestPermissions",
    }
)
SIGNING_METHODS = frozenset({"personal_sign", "eth_signTypedData_v4", "eth_sendTransaction"})
# What a page may reach on the node through the wallet; never anvil_*, evm_* or debug_*, and not
# the node's own signing methods (the wallet signs, not the node).
FORWARDED_PREFIXES = ("eth_", "net_", "web3_")
NOT_FORWARDED = frozenset({"eth_sign", "eth_signTransaction", "eth_signTypedData"})

WALLET_NAME = "DataBounty Test Wallet"
WALLET_RDNS = "local.databounty.testwallet"
WALLET_ICON = (
    "data:image/svg+xml,"
    "%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E"
    "%3Crect width='32' height='32' rx='8' fill='%23f59e0b'/%3E"
    "%3Cpath d='M8 12h16v11H8z' fill='%23fff'/%3E%3C/svg%3E"
)

# Runs in every frame before the page's own scripts. Requests cross to Python through the
# exposed function; Python answers {result} or {error: {code, message, data}}, plus events to
# emit (e.g. chainChanged after a switch), so nothing calls back into the page mid-request, or
# {hang: true} for a wallet that never answers (locked, its prompt left unopened).
# ``primary`` is the wallet that owns ``window.ethereum``; others are only announced (EIP-6963),
# as when several wallet extensions are installed.
PROVIDER_SCRIPT = """
(({ info, primary }) => {
  const key = "__dataBountyTest_" + info.rdns;
  if (window[key]) return;
  window[key] = true;
  const listeners = new Map();

  function providerError({ code, message, data }) {
    const error = new Error(message);
    error.code = code;
    if (data !== undefined && data !== null) error.data = data;
    return error;
  }

  function emit(event, payload) {
    for (const listener of [...(listeners.get(event) || [])]) {
      try { listener(payload); } catch (error) { console.error(error); }
    }
  }

  const provider = {
    isDataBountyTest: true,
    async request(args) {
      if (!args || typeof args.method !== "string") {
        throw providerError({ code: -32600, message: "Invalid request: expected {method}" });
      }
      const params = args.params === undefined ? [] : args.params;
      const answer = await window.__dataBountyWallet(args.method, params, info.rdns);
      if (answer.hang) return new Promise(() => {});
      for (const [event, payload] of answer.events || []) emit(event, payload);
      if (answer.error) throw providerError(answer.error);
      return answer.result;
    },
    on(event, listener) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(listener);
      return provider;
    },
    removeListener(event, listener) {
      const set = listeners.get(event);
      if (set) set.delete(listener);
      return provider;
    },
    _emit: emit,
  };
  provider.off = provider.removeListener;
  provider.addListener = provider.on;

  if (primary) Object.defineProperty(window, "ethereum", { value: provider, configurable: true });
  (window.__dataBountyTestProviders = window.__dataBountyTestProviders || []).push(provider);

  // EIP-6963: announce when injected, again once the page has loaded, and whenever asked.
  const detail = Object.freeze({ info: Object.freeze(info), provider });
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
  window.addEventListener("eip6963:requestProvider", announce);
  window.addEventListener("load", announce, { once: true });
  announce();
})
"""


class WalletError(Exception):
    """An EIP-1193 error answer: reaches the page as a rejected promise with ``code``."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


@dataclass
class TestWallet:
    """The injected wallet's state. Tests flip the switches before (or between) page actions.

    - ``account``: the DevAccount whose address the wallet exposes and whose key signs.
    - ``reject_next``: ``True`` rejects the next prompting request (connect, sign, send, switch)
      with 4001 as if the user clicked "Reject"; a method name rejects only the next call of that
      method. Reset after it fires.
    - ``reject_methods``: methods rejected with 4001 every time.
    - ``locked``: ``eth_accounts`` returns ``[]``, ``eth_requestAccounts`` fails with 4001 (the
      user did not unlock), signing fails with 4100.
    - ``connected``: ``False`` behaves like a wallet that never connected to this site:
      ``eth_accounts`` is ``[]`` until ``eth_requestAccounts`` succeeds; signing fails with 4100.
    - ``chain_id``: the chain the wallet is on (anvil's by default; set another to test the
      wrong-network path). ``wallet_switchEthereumChain`` moves between ``known_chain_ids``.
    - ``hang_methods``: methods that never answer (a locked wallet whose popup nobody opens).
    - ``fail_next``: ``(method, code, message)`` answers the next call of ``method`` with that
      EIP-1193 error (e.g. MetaMask's -32002 "request already pending"). Reset after it fires.
    - ``requests``: every ``(method, params)`` the page sent, in order; ``request_wallets`` the
      rdns of the announced wallet each one came through (see ``new_context(extra_wallets=)``).
    """

    __test__ = False  # not a test class, despite the name

    account: DevAccount
    rpc_url: str
    chain_id: int
    known_chain_ids: set[int] = field(default_factory=set)
    reject_next: bool | str = False
    reject_methods: set[str] = field(default_factory=set)
    locked: bool = False
    connected: bool = True
    hang_methods: set[str] = field(default_factory=set)
    fail_next: tuple[str, int, str] | None = None
    requests: list[tuple[str, list[Any]]] = field(default_factory=list)
    request_wallets: list[str] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.known_chain_ids.add(self.chain_id)

    @property
    def address(self) -> str:
        return self.account.address

    @property
    def chain_id_hex(self) -> str:
        return hex(self.chain_id)

    def methods(self) -> list[str]:
        return [method for method, _ in self.requests]

    def assert_sent_transfer(self, token: str, to: str, amount: int) -> None:
        """The page had the wallet connect, check its network and balance, then send
        ``transfer(to, amount)`` of the ERC-20 token at ``token`` from the wallet's account."""
        assert self.methods()[-4:] == [
            "eth_requestAccounts",
            "eth_chainId",
            "eth_call",
            "eth_sendTransaction",
        ]
        sent = self.requests[-1][1][0]
        assert sent["to"] == token and sent["from"] == self.address
        assert sent["data"] == "0xa9059cbb" + to[2:].lower().rjust(64, "0") + f"{amount:064x}"

    # --- things the "user" does in the wallet while a page is open ---

    def switch_account(self, account: DevAccount) -> None:
        self.account = account
        self.emit("accountsChanged", self._visible_accounts())

    def switch_chain(self, chain_id: int) -> None:
        self.chain_id = chain_id
        self.known_chain_ids.add(chain_id)
        self.emit("chainChanged", hex(chain_id))

    def lock(self) -> None:
        self.locked = True
        self.emit("accountsChanged", [])

    def emit(self, event: str, payload: object) -> None:
        """Fire an EIP-1193 event at the listeners of every open page (every announced wallet:
        they share this state)."""
        for page in self.pages:
            if not page.is_closed():
                page.evaluate(
                    "([e, p]) => (window.__dataBountyTestProviders || []).forEach("
                    "(provider) => provider._emit(e, p))",
                    [event, payload],
                )

    # --- the provider ---

    def handle(self, method: str, params: object, rdns: str = WALLET_RDNS) -> dict[str, Any]:
        """Answer one ``request``; called from the page through ``expose_function``."""
        params_list: list[Any] = list(params) if isinstance(params, list) else [params]
        self.requests.append((method, params_list))
        self.request_wallets.append(rdns)
        if method in self.hang_methods:
            return {"hang": True}
        events: list[tuple[str, object]] = []
        try:
            result = self._dispatch(method, params_list, events)
        except WalletError as error:
            return {
                "error": {"code": error.code, "message": error.message, "data": error.data},
                "events": events,
            }
        return {"result": result, "events": events}

    def _dispatch(self, method: str, params: list[Any], events: list[tuple[str, object]]) -> Any:
        if self.fail_next is not None and self.fail_next[0] == method:
            _, code, message = self.fail_next
            self.fail_next = None
            raise WalletError(code, message)
        if method in self.reject_methods or self._take_rejection(method):
            raise WalletError(USER_REJECTED, "User rejected the request.")

        if method == "eth_accounts":
            return self._visible_accounts()
        if method == "eth_requestAccounts":
            if self.locked:
                raise WalletError(USER_REJECTED, "User rejected the request (wallet locked).")
            if not self.connected:
                self.connected = True
                events.append(("connect", {"chainId": self.chain_id_hex}))
                events.append(("accountsChanged", [self.address]))
            return [self.address]
        if method == "eth_chainId":
            return self.chain_id_hex
        if method == "net_version":
            return str(self.chain_id)
        if method == "eth_coinbase":
            return self._visible_accounts()[0] if self._visible_accounts() else None
        if method == "wallet_switchEthereumChain":
            return self._switch_chain(params, events)
        if method == "wallet_addEthereumChain":
            self.known_chain_ids.add(int(params[0]["chainId"], 16))
            return None
        if method in SIGNING_METHODS:
            self._require_authorized()
            if method == "personal_sign":
                return self._personal_sign(params)
            if method == "eth_signTypedData_v4":
                return self._sign_typed_data(params)
            return self._send_transaction(params)
        if method.startswith(FORWARDED_PREFIXES) and method not in NOT_FORWARDED:
            return self._forward(method, params)
        raise WalletError(UNSUPPORTED_METHOD, f"The wallet does not support {method}.")

    def _take_rejection(self, method: str) -> bool:
        target = self.reject_next
        if (target is True and method in PROMPTING_METHODS) or target == method:
            self.reject_next = False
            return True
        return False

    def _visible_accounts(self) -> list[str]:
        return [] if self.locked or not self.connected else [self.address]

    def _require_authorized(self) -> None:
        if self.locked or not self.connected:
            raise WalletError(UNAUTHORIZED, "The wallet is not connected to this site.")

    def _require_own_address(self, address: object) -> None:
        if not isinstance(address, str) or address.lower() != self.address.lower():
            raise WalletError(UNAUTHORIZED, f"The wallet does not hold the account {address}.")

    def _switch_chain(self, params: list[Any], events: list[tuple[str, object]]) -> None:
        chain_id = int(params[0]["chainId"], 16)
        if chain_id not in self.known_chain_ids:
            raise WalletError(UNRECOGNIZED_CHAIN, f"Unrecognized chain ID {hex(chain_id)}.")
        if chain_id != self.chain_id:
            self.chain_id = chain_id
            events.append(("chainChanged", hex(chain_id)))
        return None

    def _personal_sign(self, params: list[Any]) -> str:
        # params are [message, address]; a 0x-hex message is bytes (what ethers sends), anything
        # else is UTF-8 text, as MetaMask treats them.
        message, address = params[0], params[1]
        self._require_own_address(address)
        if isinstance(message, str) and message.startswith("0x"):
            signable = encode_defunct(hexstr=message)
        else:
            signable = encode_defunct(text=str(message))
        signed = Account.sign_message(signable, private_key=self.account.private_key)
        return "0x" + signed.signature.hex().removeprefix("0x")

    def _sign_typed_data(self, params: list[Any]) -> str:
        # EIP-712: params are [address, typedData as JSON string or object].
        address, typed = params[0], params[1]
        self._require_own_address(address)
        full_message = json.loads(typed) if isinstance(typed, str) else typed
        signed = Account.sign_typed_data(self.account.private_key, full_message=full_message)
        return "0x" + signed.signature.hex().removeprefix("0x")

    def _send_transaction(self, params: list[Any]) -> object:
        transaction = dict(params[0])
        transaction.setdefault("from", self.address)
        self._require_own_address(transaction["from"])
        # anvil's default accounts are unlocked: the node signs for the address we vouch for.
        return self._forward("eth_sendTransaction", [transaction])

    def _forward(self, method: str, params: list[Any]) -> object:
        # The page needs the node's error code and revert data (ethers decodes custom errors).
        try:
            return rpc_call(self.rpc_url, method, params, timeout=10)
        except JsonRpcError as exc:
            code = exc.code if isinstance(exc.code, int) else -32603
            raise WalletError(code, exc.message, exc.data) from exc


@dataclass
class PageLog:
    """What went wrong in the browser while a test ran: console errors, uncaught page errors,
    failed requests and responses of 400 or more, one line each.

    Every browser test ends by checking the log is clean (``new_context``'s teardown does it). A
    test that causes an error on purpose names it first, so that anything else still fails it::

        page_log.expect_status(409, "/uploads/", "the server refuses the same file again")
        page_log.expect("ERR_CONNECTION_RESET", "the network drops")
    """

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    # (pattern, why) of the problems the test causes on purpose; see ``expect``.
    allowed: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    # Per page, how many navigations it has started; per request, that count when it was sent.
    # A fetch the browser cancels because its page navigated away (a reload while a balance
    # is being read) is the browser's doing, not a failure of the app.
    _navigations: dict[int, int] = field(default_factory=dict)
    _sent_during: dict[int, int] = field(default_factory=dict)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("request", lambda request: self._on_request(page, request))
        page.on("requestfailed", lambda request: self._on_request_failed(page, request))
        page.on("response", self._on_response)

    def _on_request(self, page: Page, request: Request) -> None:
        if request.is_navigation_request() and request.frame == page.main_frame:
            self._navigations[id(page)] = self._navigations.get(id(page), 0) + 1
        else:
            self._sent_during[id(request)] = self._navigations.get(id(page), 0)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def _on_request_failed(self, page: Page, request: Request) -> None:
        sent_during = self._sent_during.get(id(request))
        if (
            request.failure == "net::ERR_ABORTED"
            and sent_during is not None
            and sent_during < self._navigations.get(id(page), 0)
        ):
            return  # cancelled by the page's own navigation
        self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.failed_requests.append(
                f"{response.request.method} {response.url}: HTTP {response.status}"
            )

    def expect(self, pattern: str, why: str) -> None:
        """Allow the problems that match ``pattern`` (a regular expression searched in each
        line): the test causes them on purpose, for the reason ``why``."""
        self.allowed.append((re.compile(pattern), why))

    def expect_status(self, status: int, url: str, why: str) -> None:
        """Allow the answers with ``status`` from the URLs that contain ``url``, and the console
        error Chromium logs for each ("Failed to load resource: ... status of 404 ...")."""
        url = re.escape(url)
        self.expect(rf"{url}\S*: HTTP {status}$|status of {status} \(.*\) \(\S*{url}\S*\)$", why)

    @property
    def problems(self) -> list[str]:
        """Every problem logged so far that no ``expect`` allows."""
        logged = self.console_errors + self.page_errors + self.failed_requests
        return [line for line in logged if not any(p.search(line) for p, _ in self.allowed)]

    def report(self) -> str:
        """The problems no ``expect`` allows, and the allowances, as a failure message ("" if
        there are none)."""
        if not (problems := self.problems):
            return ""
        allowed = "".join(f"\n  {p.pattern!r}: {why}" for p, why in self.allowed)
        return (
            "the browser logged problems:\n"
            + "\n".join(f"  {line}" for line in problems)
            + (f"\nallowed (page_log.expect):{allowed}" if allowed else "")
            + "\nIf the test causes one on purpose, allow it with page_log.expect_status/expect."
        )

    def assert_clean(self) -> None:
        report = self.report()
        assert not report, report


def verified_by_the_test(task_name: str) -> Any:
    """An autouse fixture for a module whose test runs ``payments.tasks.<task_name>`` itself,
    when it has mined the blocks it wants: the submit's own enqueue must not reach a real worker
    another test left running (it would check the payment on its own schedule, against its own
    settings). Assign it to a module-level name."""

    @pytest.fixture(autouse=True)
    def fixture(monkeypatch: pytest.MonkeyPatch) -> None:
        from payments import tasks

        monkeypatch.setattr(getattr(tasks, task_name), "delay", lambda *args, **kwargs: None)

    return fixture


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright never downloads a browser here."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def wallet(anvil: AnvilNode, dev_wallets: list[DevAccount]) -> TestWallet:
    """The injected wallet, holding anvil's second account (the first one deploys contracts)."""
    return TestWallet(account=dev_wallets[1], rpc_url=anvil.rpc_url, chain_id=anvil.chain_id)


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def new_context(
    browser: Browser,
    live_server: Any,
    wallet: TestWallet,
    page_log: PageLog,
) -> Iterator[Callable[..., BrowserContext]]:
    """Makes browser contexts aimed at the live server (``page.goto("/")`` works) with the test
    wallet injected and every page watched by ``page_log``. Keyword arguments go to
    ``browser.new_context`` (viewport, is_mobile, color_scheme, ...). After the test, fails it
    unless ``page_log`` is clean (an error at the test's teardown lists what the browser logged),
    then closes them all.

    ``inject_wallet=False`` gives a browser without any wallet extension. ``extra_wallets=["Other
    Wallet"]`` also announces more wallets over EIP-6963 (as when several extensions are
    installed); each is backed by the same ``wallet`` and tagged in ``wallet.request_wallets``
    with its rdns (``local.databounty.other-wallet``)."""
    contexts: list[BrowserContext] = []

    def make(
        *, inject_wallet: bool = True, extra_wallets: tuple[str, ...] = (), **options: Any
    ) -> BrowserContext:
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.expose_function("__dataBountyWallet", wallet.handle)
        wallets = [(WALLET_NAME, WALLET_RDNS, WALLET_ICON)] if inject_wallet else []
        wallets += [(name, extra_wallet_rdns(name), WALLET_ICON) for name in extra_wallets]
        for index, (name, rdns, icon) in enumerate(wallets):
            info = {"uuid": str(uuid.uuid4()), "name": name, "icon": icon, "rdns": rdns}
            options_js = json.dumps({"info": info, "primary": index == 0})
            context.add_init_script(f"({PROVIDER_SCRIPT})({options_js});")

        def on_page(page: Page) -> None:
            wallet.pages.append(page)
            page_log.watch(page)

        context.on("page", on_page)
        contexts.append(context)
        return context

    yield make
    report = page_log.report()
    for context in contexts:
        context.close()
    if report:
        pytest.fail(report, pytrace=False)


def extra_wallet_rdns(name: str) -> str:
    return "local.databounty." + "-".join(name.lower().split())


@pytest.fixture
def new_page(new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """``new_page(viewport=MOBILE, is_mobile=True)``: a page in a fresh context of its own."""

    def make(**options: Any) -> Page:
        return new_context(**options).new_page()

    return make


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A 1280x800 page with the test wallet injected, in a fresh context."""
    return new_page()


@pytest.fixture
def mobile_page(new_page: Callable[..., Page]) -> Page:
    """A phone-sized (390x844) touch page with the test wallet injected."""
    return new_page(viewport=MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)


@pytest.fixture
def screenshot(artifacts_dir: Path) -> Callable[..., Path]:
    """``screenshot(page, "home")`` saves ``var/test-artifacts/home.png`` (full page), with CSS
    transitions finished (a dialog caught mid-fade would look broken), after checking what the
    page shows with ``assert_accessible``: every page a browser test looks at is checked.
    ``accessible=False`` skips the check (say why in the test)."""

    def save(page: Page, name: str, *, full_page: bool = True, accessible: bool = True) -> Path:
        if accessible:
            assert_accessible(page)
        path = artifacts_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return save


@pytest.fixture
def sign_in(live_server: Any) -> Callable[..., None]:
    """``sign_in(page, user)`` gives the page's context a logged-in Django session (no SIWE)."""
    from django.conf import settings
    from django.test import Client

    def login(page: Page, user: Any) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
        )

    return login


@contextmanager
def dark_palette(page: Page) -> Iterator[None]:
    """The page in the dark colour scheme within the ``with`` block, light again after it."""
    page.emulate_media(color_scheme="dark")
    try:
        yield
    finally:
        page.emulate_media(color_scheme="light")


def assert_accessible_in_the_dark(page: Page) -> None:
    """``assert_accessible`` with the dark palette (its contrast too); the page is left light."""
    with dark_palette(page):
        assert_accessible(page)


# axe-core (npm devDependency, pinned in package-lock.json), read once and injected on demand.
AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_FAILING_IMPACTS = frozenset({"serious", "critical"})


def assert_accessible(
    page: Page,
    *,
    include: str | None = None,
    disable: tuple[str, ...] = (),
    impacts: frozenset[str] = AXE_FAILING_IMPACTS,
) -> None:
    """Run axe-core over what ``page`` shows now and fail on any WCAG 2.x A/AA violation whose
    impact is serious or critical (colour contrast is one: 4.5:1 for text, 3:1 for large text).

    Call it after the page has settled in the state you want checked (a dialog open, a report
    swapped in): axe only judges what is rendered and visible, so call it again for each state
    worth checking. ``include`` limits the check to a CSS selector's subtree; ``disable`` names
    axe rules to skip (say why in the test). The failure lists each violation with its help
    text, the failing elements' selectors and axe's own summary (e.g. the measured contrast
    ratio and the colours), so it can be fixed from the test output alone::

        page.goto("/")
        assert_accessible(page)
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())  # through the DevTools protocol: no <script> tag left behind
    options: dict[str, Any] = {
        "runOnly": {"type": "tag", "values": AXE_TAGS},
        "resultTypes": ["violations"],
        "rules": {rule: {"enabled": False} for rule in disable},
    }
    # Colours caught mid-transition (after a hover, or a switch to the dark scheme) are neither
    # the old nor the new ones: let finite animations end first (endless spinners don't count).
    page.evaluate(
        """() => Promise.race([
            Promise.all(document.getAnimations()
                .filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
                .map((a) => a.finished.catch(() => null))),
            new Promise((resolve) => setTimeout(resolve, 2000)),
        ])"""
    )
    violations = page.evaluate(
        "([context, options]) => axe.run(context || document, options).then((r) => r.violations"
        ".map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ("
        "{target: n.target.join(' '), summary: n.failureSummary}))})))",
        [include, options],
    )
    failing = [v for v in violations if v["impact"] in impacts]
    if failing:
        lines = [f"axe found {len(failing)} accessibility problem(s) on {page.url}:"]
        for violation in failing:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"][:8]:
                summary = " ".join((node["summary"] or "").split())
                lines.append(f"    {node['target']}: {summary}")
            if len(violation["nodes"]) > 8:
                lines.append(f"    … and {len(violation['nodes']) - 8} more")
        raise AssertionError("\n".join(lines))


@functools.cache
def _axe_source() -> str:
    if not AXE_SCRIPT.exists():
        raise RuntimeError(f"{AXE_SCRIPT} is missing: run `npm ci` (scripts/setup.sh does)")
    return AXE_SCRIPT.read_text(encoding="utf-8")
