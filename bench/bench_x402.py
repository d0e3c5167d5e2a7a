"""Seconds from a first HTTP 402 to the data in hand (x402), beside order -> pay -> confirm.

    .venv/bin/python -m bench.bench_x402 [--repeat 5] [--rows 50000] [--block-time 1]
        [--confirmations 3]

Creates its own database `bench_x402` and a scratch folder, starts anvil (a real chain that
mines a block every `--block-time` seconds, as a real chain does: automine off), deploys the
test token (EIP-3009) and seeds a public dataset with an accepted contribution and a ready
release holding one Parquet file of `--rows` rows, sold by one "Commercial" tier at 25 tUSD.
Then starts, as in production: gunicorn with gunicorn.conf.py and marketplace.settings.production
on a free loopback port (requests say ``X-Forwarded-Proto: https`` as the TLS proxy in front
would), and a Celery worker (`--concurrency 2`, as scripts/run.sh) on a queue of its own, with
the production default of `--confirmations` blocks on top of a payment before it counts.

Every flow starts with a fresh buyer key (ETH by ``anvil_setBalance``, tokens minted to it),
gets the same file of the same release and checks its SHA-256:

  x402   GET the files list -> 402; sign the EIP-3009 authorization with the official x402
         client (x402ClientSync, the EVM exact scheme, spend controls allowing our token);
         GET again with PAYMENT-SIGNATURE (the server verifies, settles from the hot wallet on
         anvil, credits the sale, grants, answers the list with X-Download-Token); download
         the file with that token. (The steps x402's requests adapter takes, one by one, so
         each phase is timed.)
  order  sign in over HTTP (the CSRF cookie from `/`, SIWE nonce, signed EIP-4361 login,
         then an API token: no shortcut through the database); POST /api/v1/purchases/; send
         the ERC-20 transfer from the buyer's key; POST .../confirm with its hash at once (as
         a wallet returns it); poll GET /api/v1/purchases/<id>/ every 0.2 s until the worker's
         `payments.verify_purchase` says paid; list the files; download the file.

One untimed run of each warms the processes; then `--repeat` runs of each, interleaved (the
first flow alternates). Prints each run's seconds, the medians, the ratio x402/order and both
flows' phases, then checks the books: every run a paid purchase, each x402 one settled.
Everything is stopped and dropped at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.measure import accepted_contribution, open_dataset, options
from bench.scratch_db import database_url, drop_database, recreate_database
from bench.servers import ROOT, free_port, start_gunicorn, stop_all

DB_NAME = "bench_x402"
SLUG = "bench-x402"
DECIMALS = 6
PRICE = 25 * 10**DECIMALS
# anvil's public dev keys: #0 deploys the token and mints; #9 is the hot wallet and treasury.
DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
HOT_WALLET_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
POLL_SECONDS = 0.2
API = "/api/v1"
Phases = dict[str, float]


# --- setup -----------------------------------------------------------------------------------


def parquet_file(rows: int) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "text": [
                f"Review {n}: the product did what it said, more or less." for n in range(rows)
            ],
            "label": [n % 3 for n in range(rows)],
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def seed(token_address: str, rows: int) -> tuple[int, str, int]:
    """The dataset, a contributor's accepted rows (the sale's revenue share goes to them), a
    ready release with one Parquet file and the priced tier: returns (tier id, file sha256,
    file size)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone
    from eth_account import Account

    from datasets_app.models import Contribution, DatasetRelease, Item, ReleaseFile
    from marketplace.core.models import User
    from payments.models import Token
    from payments.services.licenses import license_tier_create

    owner = User.objects.create_user(Account.create().address)
    contributor = User.objects.create_user(Account.create().address)
    dataset = open_dataset(owner=owner, title="Bench x402", slug=SLUG)
    dataset.save()
    contribution = Contribution.objects.bulk_create(
        [
            accepted_contribution(
                0, dataset=dataset, contributor=contributor, validated_at=timezone.now()
            )
        ]
    )[0]
    Item.objects.bulk_create(
        Item(
            dataset=dataset,
            contribution=contribution,
            row_number=n,
            data={"text": f"row {n}"},
            content_hash=f"{n:064x}",
            quality_score=1.0,
        )
        for n in range(20)
    )
    release = DatasetRelease.objects.create(
        dataset=dataset, number=1, created_by=owner, status="building"
    )
    data = parquet_file(rows)
    sha256 = hashlib.sha256(data).hexdigest()
    name = "data/train-00000-of-00001.parquet"
    release_file = ReleaseFile(release=release, name=name, sha256=sha256, rows=rows)
    release_file.size_bytes = len(data)
    release_file.file.save(Path(name).name, ContentFile(data), save=False)
    release_file.save()
    DatasetRelease.objects.filter(pk=release.pk).update(
        status="ready",
        rows=rows,
        size_bytes=len(data),
        content_hash=sha256,
        ready_at=timezone.now(),
    )
    token = Token.objects.create(
        chain_id=31337, address=token_address, symbol="tUSD", decimals=DECIMALS
    )
    tier = license_tier_create(
        dataset=dataset,
        actor=owner,
        name="Commercial",
        spdx_id="CC-BY-4.0",
        commercial=True,
        price=PRICE,
        token=token,
    )
    return tier.pk, sha256, len(data)


def fund(chain: Any, rpc_url: str, count: int) -> list[str]:
    """``count`` fresh keys, each with 1 ETH and the price in tokens (mined before timing)."""
    from eth_account import Account

    from payments.integrations.anvil import rpc_call

    keys, sent = [], []
    for _ in range(count):
        account = Account.create()
        rpc_call(rpc_url, "anvil_setBalance", [account.address, hex(10**18)])
        sent.append(chain.token_mint(private_key=DEPLOYER_KEY, to=account.address, amount=PRICE))
        keys.append("0x" + account.key.hex().removeprefix("0x"))
    for tx_hash in sent:
        chain.wait_for_receipt(tx_hash)
    return keys


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A Celery worker as scripts/run.sh starts one, on the bench's own queue."""
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "celery"),
                *("-A", "marketplace", "worker", "--loglevel", "INFO", "--concurrency", "2"),
                *(
                    "-Q",
                    env["CELERY_TASK_DEFAULT_QUEUE"],
                    "-n",
                    f"{DB_NAME}-{uuid.uuid4().hex[:6]}@%h",
                ),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise SystemExit(f"celery worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return worker


# --- the two flows ---------------------------------------------------------------------------


def http_session(base: str) -> requests.Session:
    """A client of the server as behind its TLS proxy (it says https)."""
    session = requests.Session()
    session.headers.update(
        {"X-Forwarded-Proto": "https", "Referer": base.replace("http:", "https:") + "/"}
    )
    return session


def with_cookies(session: requests.Session, csrf: bool = True) -> dict[str, str]:
    """The session's cookies as a header, with the CSRF token echoed: the server marks them
    Secure, and requests sends those over https only (this hop stands in for the proxy's)."""
    jar = session.cookies
    headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in jar)}
    return {**headers, "X-CSRFToken": jar["csrftoken"]} if csrf else headers


def local(url: str) -> str:
    """A URL the server built for https, as this plain-HTTP hop reaches it."""
    return url.replace("https://", "http://", 1)


def download(session: requests.Session, url: str, token: str, sha256: str) -> None:
    response = session.get(local(url), headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert response.status_code == 200, (response.status_code, response.text[:300])
    assert response.content.startswith(b"PAR1")
    assert hashlib.sha256(response.content).hexdigest() == sha256


def parquet_url(listing: dict[str, Any]) -> str:
    return str(next(f["url"] for f in listing["files"] if f["name"].endswith(".parquet")))


class Clock:
    """Seconds per phase, in order."""

    def __init__(self) -> None:
        self.phases: Phases = {}
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = now - self.last
        self.last = now


def x402_flow(base: str, key: str, token_address: str, sha256: str) -> Phases:
    from eth_account import Account
    from x402 import x402ClientSync
    from x402.client_base import SpendControlAsset
    from x402.http import decode_payment_required_header, encode_payment_signature_header
    from x402.mechanisms.evm.exact import register_exact_evm_client
    from x402.mechanisms.evm.signers import EthAccountSigner

    # The agent's setup, before its first request: its key, and our token allowed to spend.
    client = x402ClientSync()
    register_exact_evm_client(client, EthAccountSigner(Account.from_key(key)))
    allowed: SpendControlAsset = {
        "network": "eip155:31337",
        "asset": token_address,
        "max_amount_per_payment": str(PRICE),
    }
    client.set_spend_controls({"allowed_assets": [allowed]})
    session = http_session(base)
    url = f"{base}{API}/datasets/{SLUG}/files/"
    clock = Clock()
    first = session.get(url, timeout=30)
    assert first.status_code == 402, (first.status_code, first.text[:300])
    clock.lap("402 round trip")
    required = decode_payment_required_header(first.headers["PAYMENT-REQUIRED"])
    header = encode_payment_signature_header(client.create_payment_payload(required))
    clock.lap("sign")
    paid = session.get(url, headers={"PAYMENT-SIGNATURE": header}, timeout=60)
    assert paid.status_code == 200, (paid.status_code, paid.text[:300])
    assert paid.headers["PAYMENT-RESPONSE"]
    clock.lap("paid request (settle, list)")
    download(session, parquet_url(paid.json()), paid.headers["X-Download-Token"], sha256)
    clock.lap("download")
    return clock.phases


def sign_in(session: requests.Session, base: str, key: str) -> str:
    """SIWE over HTTP as a browser or the CLI does it, then an API token: returns its secret."""
    from eth_account import Account

    from tests.siwe import build_message, sign

    assert session.get(f"{base}/", timeout=30).status_code == 200  # the CSRF cookie
    nonce = session.get(
        f"{base}{API}/auth/nonce", headers=with_cookies(session, csrf=False), timeout=30
    ).json()
    message = build_message(
        address=Account.from_key(key).address,
        nonce=nonce["nonce"],
        domain=nonce["domain"],
        uri=nonce["uri"],
        chain_id=int(nonce["chain_id"]),
        statement=nonce["statement"],
    )
    signature = sign(message, key)
    login = session.post(
        f"{base}{API}/auth/login",
        json={"message": message, "signature": signature},
        headers=with_cookies(session),
        timeout=30,
    )
    assert login.status_code == 200, (login.status_code, login.text[:300])
    created = session.post(
        f"{base}{API}/auth/tokens",
        json={"name": "bench", "scopes": ["read", "write", "download"]},
        headers=with_cookies(session),  # the session and CSRF token rotated at login
        timeout=30,
    )
    assert created.status_code == 201, (created.status_code, created.text[:300])
    session.cookies.clear()
    return str(created.json()["secret"])


def order_flow(base: str, key: str, chain: Any, tier_id: int, sha256: str) -> Phases:
    session = http_session(base)
    clock = Clock()
    secret = sign_in(session, base, key)
    session.headers["Authorization"] = f"Bearer {secret}"
    clock.lap("sign in")
    created = session.post(f"{base}{API}/purchases/", json={"license": tier_id}, timeout=30)
    assert created.status_code == 201, (created.status_code, created.text[:300])
    purchase = created.json()
    clock.lap("order")
    tx_hash = chain.token_transfer(
        private_key=key, to=purchase["pay_to"], amount=int(purchase["amount"])
    )
    confirm = session.post(
        f"{base}{API}/purchases/{purchase['id']}/confirm", json={"tx_hash": tx_hash}, timeout=30
    )
    assert confirm.status_code == 202, (confirm.status_code, confirm.text[:300])
    clock.lap("pay + confirm")
    deadline = time.monotonic() + 300
    while (state := session.get(f"{base}{API}/purchases/{purchase['id']}/", timeout=30).json())[
        "status"
    ] != "paid":
        assert state["status"] == "confirming" and time.monotonic() < deadline, state
        time.sleep(POLL_SECONDS)
    clock.lap("wait until paid")
    listing = session.get(f"{base}{API}/datasets/{SLUG}/files/", timeout=30)
    assert listing.status_code == 200, (listing.status_code, listing.text[:300])
    download(session, parquet_url(listing.json()), secret, sha256)
    clock.lap("list + download")
    return clock.phases


# --- report ----------------------------------------------------------------------------------


def report(runs: dict[str, list[Phases]], args: argparse.Namespace) -> None:
    totals = {name: [sum(p.values()) for p in phases] for name, phases in runs.items()}
    medians = {name: statistics.median(values) for name, values in totals.items()}
    print(
        f"\nfrom the first request to the file in hand, median of {args.repeat} (anvil block "
        f"every {args.block_time:g} s, {args.confirmations} confirmations for an order):"
    )
    for name, values in totals.items():
        each = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {name:<6} {medians[name]:7.2f} s   ({each})")
    print(f"  x402/order {medians['x402'] / medians['order']:.3f}")
    for name, phases in runs.items():
        print(f"\n  {name} phases, median s:")
        for phase in phases[0]:
            print(f"    {phase:<28} {statistics.median(p[phase] for p in phases):7.3f}")


def main() -> None:
    args = options(__doc__, repeat=5, rows=50_000, block_time=1, confirmations=3).parse_args()

    from eth_account import Account

    scratch = Path(tempfile.mkdtemp(prefix="bench-x402-"))
    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
        "DJANGO_SECRET_KEY": "bench-x402-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url(DB_NAME),
        "DJANGO_MEDIA_ROOT": str(scratch / "media"),
        "DJANGO_LOG_LEVEL": "WARNING",
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "CACHE_URL": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/13"),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_TASK_DEFAULT_QUEUE": f"{DB_NAME}-{uuid.uuid4().hex[:12]}",
        "CHAIN_ID": "31337",
        "CHAIN_CONFIRMATIONS": str(args.confirmations),
        "HOT_WALLET_PRIVATE_KEY": HOT_WALLET_KEY,
        "PLATFORM_SIGNING_KEY": "0x" + Account.create().key.hex().removeprefix("0x"),
    }
    processes: list[subprocess.Popen[bytes]] = []
    anvil = None
    recreate_database(DB_NAME)
    try:
        from payments.integrations.anvil import AnvilNode, rpc_call

        anvil = AnvilNode(log_path=scratch / "anvil.log").start()
        env["CHAIN_RPC_URL"] = anvil.rpc_url
        os.environ.update({**env, "DJANGO_SETTINGS_MODULE": "marketplace.settings.local"})
        import django

        django.setup()
        from django.core.cache import cache
        from django.core.management import call_command
        from django.db import connections

        from payments.integrations.dev_tools import DevChainClient

        call_command("migrate", verbosity=0)
        cache.clear()
        chain = DevChainClient(rpc_url=anvil.rpc_url, chain_id=31337)
        token_address = chain.deploy_contract(
            artifact="DataBountyToken",
            args=["Test dollar", "tUSD", DECIMALS, Account.from_key(DEPLOYER_KEY).address],
            private_key=DEPLOYER_KEY,
        )
        chain = chain.with_token(token_address)
        env["TOKEN_ADDRESS"] = token_address
        tier_id, sha256, size = seed(token_address, args.rows)
        keys = fund(chain, anvil.rpc_url, 2 * (args.repeat + 1))
        print(f"one Parquet file, {args.rows:,} rows, {size / 1e6:.2f} MB; {len(keys)} keys funded")
        connections.close_all()
        # From here the chain mines on a clock, as a real one does.
        rpc_call(anvil.rpc_url, "evm_setAutomine", [False])
        rpc_call(anvil.rpc_url, "evm_setIntervalMining", [args.block_time])

        port = free_port()
        processes.append(start_gunicorn("marketplace.wsgi:application", port, env))
        processes.append(start_worker(env, scratch / "worker.log"))
        base = f"http://127.0.0.1:{port}"
        flows: dict[str, Callable[[str], Phases]] = {
            "x402": lambda key: x402_flow(base, key, token_address, sha256),
            "order": lambda key: order_flow(base, key, chain, tier_id, sha256),
        }
        for name, flow in flows.items():
            print(f"warm-up {name}: {sum(flow(keys.pop()).values()):.2f} s", flush=True)
        runs: dict[str, list[Phases]] = {name: [] for name in flows}
        for n in range(args.repeat):
            for name in sorted(flows, reverse=n % 2 == 1):
                runs[name].append(flows[name](keys.pop()))
                print(f"run {n + 1} {name}: {sum(runs[name][-1].values()):.2f} s", flush=True)
        report(runs, args)
        from payments.models import Purchase, X402Payment

        paid = Purchase.objects.filter(status="paid").count()
        settled = X402Payment.objects.filter(status="settled").count()
        print(f"\n  books: {paid} purchases paid, {settled} of them by x402 settlements")
        assert paid == 2 * (args.repeat + 1) and settled == args.repeat + 1
    finally:
        stop_all(processes)
        if anvil is not None:
            anvil.stop()
        from django.db import connections

        connections.close_all()
        drop_database(DB_NAME)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
