"""`databounty login` (SIWE with a local key, or a saved token), `databounty datasets`, and how
refusals and unreachable servers are reported."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from marketplace.accounts.models import ApiToken
from marketplace.accounts.services.api_tokens import api_token_create
from marketplace.core.models import User
from payments.integrations.anvil import DevAccount
from tests.client.conftest import Run
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_with_a_key_signs_in_and_keeps_an_api_token(
    cli: Callable[..., Run],
    key_file: Callable[[DevAccount], Path],
    dev_wallets: list[DevAccount],
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wallet = dev_wallets[3]
    from databounty.api import Client

    def me(self: Client) -> Any:
        raise AssertionError("login asked /me for the address it signed in with")

    with monkeypatch.context() as patched:
        patched.setattr(Client, "me", me)
        run = cli("login", "--key-file", str(key_file(wallet)))

    assert run.code == 0, run.err
    assert f"as {wallet.address}." in run.out
    user = User.objects.get(address=wallet.address)
    token = ApiToken.objects.get(user=user)
    assert sorted(token.scopes) == ["download", "read", "write"]
    stored = json.loads((config_home / "config.json").read_text())
    secret = next(iter(stored["tokens"].values()))
    assert secret.startswith("dbt_") and secret[:12].startswith(token.prefix[:8])
    assert (config_home / "config.json").stat().st_mode & 0o077 == 0  # the owner's only

    # The next command signs in with the saved token: /me answers for the key's address.
    from databounty import connect

    with connect() as client:
        assert client.me()["address"] == wallet.address


def test_login_with_a_token_saves_it(cli: Callable[..., Run], config_home: Path) -> None:
    user = UserFactory.create()
    secret = api_token_create(user=user, name="ci", scopes=["read"]).secret

    run = cli("login", "--token", secret)

    assert run.code == 0, run.err
    assert user.address in run.out
    assert secret in (config_home / "config.json").read_text()


def test_a_refused_token_prints_the_detail_and_saves_nothing(
    cli: Callable[..., Run], config_home: Path
) -> None:
    run = cli("login", "--token", "dbt_not-a-real-token")

    assert run.code == 1
    assert "error:" in run.err and "(HTTP 401, " in run.err
    assert "Traceback" not in run.err
    assert not (config_home / "config.json").exists()


def test_datasets_lists_every_page_of_the_catalogue(cli: Callable[..., Run]) -> None:
    slugs = {DatasetFactory.create().slug for _ in range(26)}  # the API pages by 24
    slugs.add(DatasetFactory.create(title="Zebra crossings", slug="zebra-crossings").slug)

    run = cli("datasets")

    assert run.code == 0, run.err
    listed = {line.split()[0] for line in run.out.splitlines()[1:]}
    assert listed == slugs

    as_json = cli("datasets", "--json", "--search", "zebra")
    assert [d["slug"] for d in json.loads(as_json.out)] == ["zebra-crossings"]


def test_a_server_refusal_prints_detail_and_code_and_exits_non_zero(
    cli: Callable[..., Run], settings: Any
) -> None:
    dataset = DatasetFactory.create(title="Kitchen reviews")
    user = UserFactory.create()
    secret = api_token_create(user=user, name="ci", scopes=["read", "download"]).secret
    assert cli("login", "--token", secret).code == 0

    run = cli("download", dataset.slug)

    assert run.code == 1
    assert run.err == "error: Kitchen reviews has no release yet. (HTTP 404, no_release)\n"


def test_an_unreachable_server_is_one_line_not_a_traceback(cli: Callable[..., Run]) -> None:
    run = cli("--url", "http://127.0.0.1:9", "datasets")

    assert run.code == 1
    assert run.err.strip() == (
        "error: Cannot reach http://127.0.0.1:9: the connection failed. (connection_error)"
    )
