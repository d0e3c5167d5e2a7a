"""The issue's acceptance test: an agent with nothing but a private key holding test tokens (no
account, no sign-in, no order) gets a licensed release as a `datasets.Dataset` in one call,
paying over x402 on anvil; a second call, and the CLI's download, do not pay again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import databounty
import pytest
from django.utils import timezone

from datasets_app.models import Dataset, DatasetRelease
from marketplace.accounts.models import ApiToken
from marketplace.core.models import User
from payments.enums import PurchaseStatus
from payments.integrations.anvil import DevAccount
from payments.models import LicenseGrant, Purchase
from tests.chain import ChainToken
from tests.client.conftest import Run
from tests.factories import DatasetFactory, commercial_tier, make_release

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chain]

PRICE = 7_500_001  # 7.500001 tUSD


@pytest.fixture
def for_sale(chain_token: ChainToken) -> tuple[Dataset, DatasetRelease]:
    dataset = DatasetFactory.create(slug="street-signs")
    release = make_release(dataset, number=1, shards=2, rows=30)
    commercial_tier(dataset, token=chain_token.token, price=PRICE)
    return dataset, release


@pytest.fixture
def agent(dev_wallets: list[DevAccount]) -> DevAccount:
    return dev_wallets[4]  # minted test dollars by chain_token; never signed in


@pytest.fixture
def agent_cli(
    cli: Callable[..., Run], agent: DevAccount, key_file: Callable[[DevAccount], Path]
) -> Callable[..., Run]:
    """``databounty download street-signs --x402 --key-file <the agent's key> ...``."""
    key = str(key_file(agent))

    def run(*extra: str) -> Run:
        return cli("download", "street-signs", "--x402", "--key-file", key, *extra)

    return run


def agent_load(key: Path, cache_dir: Path) -> Any:
    return databounty.load(
        "street-signs", x402=True, key_file=str(key), max_amount=PRICE, cache_dir=str(cache_dir)
    )


def balances(chain_token: ChainToken, agent: DevAccount) -> tuple[int, int]:
    client = chain_token.client
    return client.token_balance(agent.address), client.token_balance(chain_token.hot_wallet.address)


@pytest.mark.usefixtures("for_sale", "_close_http_sessions", "hf_online_for_loopback")
def test_an_agent_with_only_a_key_pays_once_over_x402_and_loads_the_release(
    agent: DevAccount,
    chain_token: ChainToken,
    key_file: Callable[[DevAccount], Path],
    agent_cli: Callable[..., Run],
    config_home: Path,
    tmp_path: Path,
) -> None:
    key = key_file(agent)
    assert not User.objects.filter(address=agent.address).exists()
    before = balances(chain_token, agent)

    loaded = agent_load(key, tmp_path / "hf-cache")

    assert loaded.num_rows == 60
    assert sorted(loaded["text"])[:1] == ["v1 shard 0 review 0"]
    paid_once = balances(chain_token, agent)
    assert (before[0] - paid_once[0], paid_once[1] - before[1]) == (PRICE, PRICE)
    purchase = Purchase.objects.get()
    assert purchase.status == PurchaseStatus.PAID
    assert purchase.buyer.address == agent.address
    assert LicenseGrant.objects.filter(purchase=purchase).exists()
    tokens = json.loads((config_home / "x402-tokens.json").read_text())
    (entry,) = tokens.values()
    assert entry["token"].startswith("dbt_") and entry["expires_at"]

    # Again, from a fresh process's point of view: the saved download token, no payment.
    assert agent_load(key, tmp_path / "hf-cache-2").num_rows == 60
    out = tmp_path / "files"
    run = agent_cli("--out", str(out))
    assert run.code == 0, run.err
    assert "Paid" not in run.err
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
    ]
    assert balances(chain_token, agent) == paid_once  # the token moved exactly once
    assert Purchase.objects.count() == 1
    # The saved download token served them: the agent never signed in.
    assert not ApiToken.objects.filter(name__startswith="databounty x402").exists()


def test_download_over_x402_pays_and_verifies_every_file(
    for_sale: tuple[Dataset, DatasetRelease],
    agent: DevAccount,
    chain_token: ChainToken,
    agent_cli: Callable[..., Run],
    tmp_path: Path,
) -> None:
    _dataset, release = for_sale
    before = balances(chain_token, agent)
    out = tmp_path / "files"

    run = agent_cli("--max-amount", str(PRICE), "--out", str(out))

    assert run.code == 0, run.err
    purchase = Purchase.objects.get()
    assert f"Paid {PRICE} base units over x402 from {agent.address}" in run.err
    assert purchase.tx_hash in run.err
    for f in release.files.all():
        assert f"{out / f.name}  sha256 {f.sha256} ok" in run.out
    assert before[0] - balances(chain_token, agent)[0] == PRICE


@pytest.mark.usefixtures("for_sale")
def test_x402_without_a_maximum_says_the_price_and_pays_nothing(
    agent: DevAccount,
    chain_token: ChainToken,
    agent_cli: Callable[..., Run],
) -> None:
    before = balances(chain_token, agent)

    run = agent_cli()

    assert run.code == 1
    assert (
        f"error: This costs {PRICE} base units of token {chain_token.token.address} on "
        f"eip155:{chain_token.token.chain_id} (paid to {chain_token.hot_wallet.address}); the "
        f"most you allow is 0. Pass --max-amount {PRICE}"
    ) in run.err
    assert "(over_max_amount)" in run.err
    assert balances(chain_token, agent) == before
    assert not Purchase.objects.exists()

    cheaper = agent_cli("--max-amount", str(PRICE - 1))
    assert cheaper.code == 1 and "(over_max_amount)" in cheaper.err
    assert balances(chain_token, agent) == before


@pytest.mark.usefixtures("for_sale")
def test_without_x402_a_priced_release_says_how_to_pay(cli: Callable[..., Run]) -> None:
    run = cli("download", "street-signs")

    assert run.code == 1
    assert run.err.startswith("error: ")
    assert run.err.endswith(
        "Add --x402 (with --key-file and --max-amount) to pay per request. "
        "(HTTP 402, payment_required)\n"
    )


@pytest.mark.usefixtures("for_sale")
def test_when_the_download_token_ended_the_payer_signs_in_instead_of_paying_again(
    agent: DevAccount,
    chain_token: ChainToken,
    agent_cli: Callable[..., Run],
    config_home: Path,
    tmp_path: Path,
) -> None:
    paid = agent_cli("--max-amount", str(PRICE), "--out", str(tmp_path / "paid"))
    assert paid.code == 0, paid.err
    after_paying = balances(chain_token, agent)

    # The server ends the download token (401 for it now); no --max-amount: paying would fail.
    ApiToken.objects.filter(user__address=agent.address).update(revoked_at=timezone.now())
    revoked = agent_cli("--out", str(tmp_path / "a"))

    assert revoked.code == 0, revoked.err
    signed_in = ApiToken.objects.get(user__address=agent.address, revoked_at=None)
    assert signed_in.name.startswith("databounty x402 on ")
    assert sorted(signed_in.scopes) == ["download", "read"]

    # The saved token's own expiry passes: the next run signs in again rather than paying.
    tokens_file = config_home / "x402-tokens.json"
    saved = json.loads(tokens_file.read_text())
    for entry in saved.values():
        entry["expires_at"] = "2020-01-01T00:00:00Z"
    tokens_file.write_text(json.dumps(saved))
    expired = agent_cli("--out", str(tmp_path / "b"))

    assert expired.code == 0, expired.err
    assert balances(chain_token, agent) == after_paying
    assert Purchase.objects.count() == 1
