"""The ``databounty`` command. Results go to standard output, progress and notes to standard
error. A refusal prints the server's ``detail`` and ``code`` and exits 1; Ctrl-C exits 130 and
the same command picks up where it stopped (uploads, purchases, downloads)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from tqdm import tqdm

from databounty.api import Client, Progress, file_sha256
from databounty.config import Config, read_json, write_json
from databounty.errors import ApiError, ClientError, PaymentRequiredError
from databounty.load import client_for

EXIT_REFUSED = 1
EXIT_INTERRUPTED = 130


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def byte_bar(start: int, total: int, description: str = "") -> Progress:
    bar = tqdm(
        total=total,
        initial=start,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=description or None,
        file=sys.stderr,
        leave=True,
    )
    to_close.append(bar)

    def advance(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return advance


to_close: list[Any] = []  # progress bars and clients, closed when a command ends however it ends


def connect(config: Config, *, x402: bool = False) -> Client:
    """A client closed when the command ends (its keep-alive connections with it)."""
    client = client_for(config, x402=x402)
    to_close.append(client)
    return client


def human(amount: int | str, decimals: int | None) -> str:
    units = int(amount)
    if not decimals:
        return f"{units} base units"
    value = Decimal(units).scaleb(-decimals)
    return f"{value:f} ({units} base units)"


# -- commands --------------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace, config: Config) -> int:
    client = connect(config)
    if args.token:
        client.bearer = args.token
        try:
            who = client.me()["address"]
        except ApiError as exc:
            if exc.code != "missing_scope":
                raise
            who = "a token without the read scope"
        path = config.save_login(token=args.token, key_file=None)
    else:
        key = config.read_key()
        created = client.login_with_key(key, token_name=args.name)
        who = Account.from_key(key).address  # login_with_key signed in as the key's address
        path = config.save_login(token=created["secret"], key_file=config.key_file)
    print(f"Signed in to {config.url} as {who}.")
    say(f"The token is saved in {path}.")
    return 0


def cmd_datasets(args: argparse.Namespace, config: Config) -> int:
    rows = connect(config).datasets(search=args.search)
    if args.json:
        print(json.dumps(list(rows), indent=2))
        return 0
    count = 0
    for row in rows:
        if count == 0:
            print(f"{'SLUG':32} {'STATUS':8} {'ROWS':>8}  TITLE")
        print(f"{row['slug']:32} {row['status']:8} {row['items_count']:>8}  {row['title']}")
        count += 1
    if count == 0:
        say("No datasets found.")
    return 0


def cmd_upload(args: argparse.Namespace, config: Config) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise ClientError(f"No such file: {path}", code="no_file")
    size = path.stat().st_size
    sha256 = file_sha256(path, byte_bar(0, size, "hashing") if size > 64 << 20 else lambda _n: None)
    client = connect(config)
    contribution = client.upload(
        args.slug,
        path,
        sha256=sha256,
        progress=lambda start, total: byte_bar(start, total, path.name),
        say=say,
    )
    print(f"Contribution {contribution['id']} received ({contribution['status']}).")
    if args.wait:
        return _wait_for(client, int(contribution["id"]), interval=args.interval)
    say(f"Follow its validation with: databounty status {contribution['id']}")
    return 0


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    client = connect(config)
    if args.no_wait:
        _print_contribution(client.contribution(args.contribution))
        return 0
    return _wait_for(client, args.contribution, interval=args.interval, timeout=args.timeout)


def _wait_for(
    client: Client, contribution_id: int, *, interval: float, timeout: float | None = None
) -> int:
    bar = tqdm(total=100, unit="%", desc=f"contribution {contribution_id}", file=sys.stderr)
    to_close.append(bar)

    def show(contribution: dict[str, Any]) -> None:
        bar.set_postfix_str(contribution["status"])
        bar.update(int(contribution.get("progress") or 0) - bar.n)

    finished = client.wait_for_contribution(
        contribution_id, interval=interval, timeout=timeout, on_update=show
    )
    if finished["status"] in ("accepted", "partially_accepted"):
        bar.update(100 - bar.n)
    bar.close()
    _print_contribution(finished)
    return 0 if finished["status"] in ("accepted", "partially_accepted") else EXIT_REFUSED


def _print_contribution(c: dict[str, Any]) -> None:
    print(f"Contribution {c['id']} to {c['dataset']}: {c['status']}")
    if c.get("rows_total") is not None:
        print(
            f"  rows: {c['rows_total']} read, {c['rows_accepted']} accepted, "
            f"{c['rows_rejected']} rejected"
        )
    if c.get("quality_score") is not None:
        print(f"  quality score: {c['quality_score']:.3f}")
    error = (c.get("report") or {}).get("error")
    if isinstance(error, dict):
        print(f"  reason: {error.get('detail')} ({error.get('code')})")


def cmd_buy(args: argparse.Namespace, config: Config) -> int:
    client = connect(config)
    key = config.read_key()
    payer = str(Account.from_key(key).address)
    me = client.me()["address"]
    if me.lower() != payer.lower():
        raise ClientError(
            f"The key pays from {payer} but you are signed in as {me}: the server credits a "
            "payment only from the buyer's own address. Sign in with this key first.",
            code="wrong_payer",
        )
    tier = client.tier(args.slug, args.tier)
    if int(tier["price"]) == 0:
        grant = client.claim_free(int(tier["id"]))
        print(f"License {grant['id']} ({tier['name']}) for {args.slug}: free, granted.")
        return 0
    # The order in progress for this server, buyer and tier, kept until it is paid.
    digest = hashlib.sha256(f"{config.url} {payer} {args.slug} {tier['id']}".encode())
    state_path = config.directory / "purchases" / f"{digest.hexdigest()[:32]}.json"
    state = read_json(state_path)
    purchase = client.purchase(int(state["purchase_id"])) if state else None
    if purchase is not None and purchase["status"] in ("failed", "expired"):
        say(f"Purchase {purchase['id']} is {purchase['status']}; ordering again.")
        purchase, state = None, {}
    if purchase is None:
        purchase = client.purchase_create(int(tier["id"]))
        state = {"purchase_id": purchase["id"]}
        write_json(state_path, state)
    if purchase["status"] == "awaiting_payment":
        tx_hash = _pay(config, purchase, state, state_path, key=key, payer=payer)
        purchase = client.purchase_confirm(int(purchase["id"]), tx_hash)
    say(f"Waiting for the payment to be confirmed (order {purchase['id']})...")

    def show(p: dict[str, Any]) -> None:
        if p["status"] == "confirming":
            say(f"  {p['status']}: {p.get('confirmations') or 0} confirmation(s)")

    paid = client.wait_until_paid(purchase, interval=args.interval, on_update=show)
    state_path.unlink(missing_ok=True)
    print(
        f"License {paid['grant']} ({tier['name']}) for {args.slug}: paid "
        f"{human(paid['amount'], paid['decimals'])} in tx {paid['tx_hash']}."
    )
    return 0


def _pay(
    config: Config,
    purchase: dict[str, Any],
    state: dict[str, Any],
    state_path: Path,
    *,
    key: str,
    payer: str,
) -> str:
    """Pays the order by an ERC-20 transfer and returns its hash once mined. The signed
    transfer is saved before it is sent: a run stopped after sending re-sends the same bytes
    rather than paying twice."""
    from databounty.chain import Chain, SignedTransfer  # web3 loads only to pay

    chain = Chain(config.rpc_url, chain_id=int(purchase["chain_id"]))
    chain.check_chain()
    if "tx_hash" not in state:
        amount, decimals = int(purchase["amount"]), purchase["decimals"]
        balance = chain.balance(purchase["token_address"], payer)
        if balance < amount:
            raise ClientError(
                f"{payer} holds {human(balance, decimals)} of the token; the license costs "
                f"{human(amount, decimals)}.",
                code="insufficient_balance",
            )
        transfer = chain.sign_transfer(
            private_key=key, token=purchase["token_address"], to=purchase["pay_to"], amount=amount
        )
        state.update(tx_hash=transfer.tx_hash, raw=transfer.raw)
        write_json(state_path, state)
        say(
            f"Paying {human(amount, decimals)} to {purchase['pay_to']} "
            f"(order {purchase['id']}, tx {transfer.tx_hash})."
        )
    chain.send(SignedTransfer(state["tx_hash"], state["raw"]))
    return str(state["tx_hash"])


def cmd_download(args: argparse.Namespace, config: Config) -> int:
    client = connect(config, x402=args.x402)
    try:
        listing = client.files(args.slug, version=args.version)
    except PaymentRequiredError as exc:
        exc.detail += " Add --x402 (with --key-file and --max-amount) to pay per request."
        raise
    out = Path(args.out) if args.out else Path(f"{listing.dataset}-v{listing.version}")
    _report_payment(client)
    for file in listing.files:
        dest = client.download_file(
            file,
            out,
            progress=lambda start, total, name: byte_bar(start, total, name),
        )
        print(f"{dest}  sha256 {file['sha256']} ok")
    say(f"{listing.dataset} v{listing.version}: {len(listing.files)} files in {out}")
    return 0


def _report_payment(client: Client) -> None:
    for settled in getattr(client.payer, "paid", None) or []:
        say(
            f"Paid {settled.get('amount') or ''} base units over x402 from "
            f"{settled.get('payer')} in tx {settled.get('transaction')}."
        )


# -- the parser --------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="databounty",
        description="DataBounty from the command line. Settings: DATABOUNTY_URL, "
        "DATABOUNTY_TOKEN, DATABOUNTY_KEY_FILE, DATABOUNTY_RPC_URL, DATABOUNTY_MAX_AMOUNT, or "
        "$XDG_CONFIG_HOME/databounty/config.json.",
    )
    p.add_argument("--url", help="the server, e.g. https://databounty.example (DATABOUNTY_URL)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    login = sub.add_parser("login", help="sign in with a key (SIWE) or save an API token")
    how = login.add_mutually_exclusive_group()
    how.add_argument(
        "--key-file", help="a file holding the wallet's private key (hex; DATABOUNTY_KEY_FILE)"
    )
    how.add_argument("--token", help="an API token (dbt_...) made on the account page")
    login.add_argument("--name", help="the new API token's name")
    login.set_defaults(run=cmd_login)

    ds = sub.add_parser("datasets", help="list the catalogue")
    ds.add_argument("--search", default="")
    ds.add_argument("--json", action="store_true", help="print JSON")
    ds.set_defaults(run=cmd_datasets)

    up = sub.add_parser("upload", help="contribute a file (resumable: run it again to resume)")
    up.add_argument("slug")
    up.add_argument("file")
    up.add_argument("--wait", action="store_true", help="then wait for its validation")
    up.add_argument("--interval", type=float, default=2.0, help=argparse.SUPPRESS)
    up.set_defaults(run=cmd_upload)

    st = sub.add_parser("status", help="wait for a contribution's validation, with progress")
    st.add_argument("contribution", type=int)
    st.add_argument("--no-wait", action="store_true", help="print the status once")
    st.add_argument("--interval", type=float, default=2.0, help="seconds between checks")
    st.add_argument("--timeout", type=float, default=None, help="give up after these seconds")
    st.set_defaults(run=cmd_status)

    buy = sub.add_parser("buy", help="order a license, pay it from the key, wait until paid")
    buy.add_argument("slug")
    buy.add_argument("--tier", required=True, help="the license tier's name or id")
    buy.add_argument("--key-file", help="the paying key (DATABOUNTY_KEY_FILE)")
    buy.add_argument("--rpc-url", help="the chain's JSON-RPC (DATABOUNTY_RPC_URL)")
    buy.add_argument("--interval", type=float, default=2.0, help=argparse.SUPPRESS)
    buy.set_defaults(run=cmd_buy)

    dl = sub.add_parser("download", help="download a licensed release, checking each SHA-256")
    dl.add_argument("slug")
    dl.add_argument("--version", type=int, help="the release number (default: the latest)")
    dl.add_argument("--out", help="the folder (default: <slug>-v<version>)")
    dl.add_argument(
        "--x402", action="store_true", help="no license? pay per request from the key (x402)"
    )
    dl.add_argument("--key-file", help="the paying key for --x402 (DATABOUNTY_KEY_FILE)")
    dl.add_argument(
        "--max-amount",
        type=int,
        help="the most one x402 payment may cost, in the token's base units "
        "(DATABOUNTY_MAX_AMOUNT; default 0: never pay)",
    )
    dl.set_defaults(run=cmd_download)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace, Config], int] = args.run
    try:
        config = Config.load(
            url=args.url,
            key_file=getattr(args, "key_file", None),
            rpc_url=getattr(args, "rpc_url", None),
            max_amount=getattr(args, "max_amount", None),
        )
        return run(args, config)
    except ClientError as exc:
        _close_all()
        say(f"error: {exc}")
        return EXIT_REFUSED
    except KeyboardInterrupt:
        _close_all()
        say("Interrupted. Run the same command again to pick up where it stopped.")
        return EXIT_INTERRUPTED
    finally:
        _close_all()


def _close_all() -> None:
    while to_close:
        to_close.pop().close()


if __name__ == "__main__":
    sys.exit(main())
