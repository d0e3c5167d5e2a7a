"""`manage.py chain_deploy_token` on a real anvil chain: deploy, fund, reuse."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pytest_django import Settings

from payments.integrations.anvil import AnvilNode, DevAccount, free_port
from payments.integrations.chain import ChainClient

# The command registers the token it deploys as an accepted Token row.
pytestmark = pytest.mark.django_db


def deploy(*args: str) -> tuple[str, list[str]]:
    """Runs the command; returns the printed token address and all output lines."""
    out = StringIO()
    call_command("chain_deploy_token", *args, stdout=out)
    lines = out.getvalue().splitlines()
    prefix = "TOKEN_ADDRESS="
    assert lines[-1].startswith(prefix), lines
    return lines[-1].removeprefix(prefix), lines


@pytest.mark.chain
def test_deploys_the_token_and_funds_the_demo_accounts(
    anvil: AnvilNode, dev_wallets: list[DevAccount], tmp_path: Path
) -> None:
    state_file = tmp_path / "var" / "chain.json"

    address, _ = deploy("--state-file", str(state_file))

    token = ChainClient.from_settings().with_token(address)
    assert token.token_metadata() == ("DataBounty USD", "dbUSD", 6)
    for wallet in dev_wallets[:6]:
        assert token.token_balance(wallet.address) == 1_000_000 * 10**6  # base units
    state = json.loads(state_file.read_text())
    assert state == {
        "chain_id": anvil.chain_id,
        "token_address": address,
        "deployed_at_block": state["deployed_at_block"],
    }
    assert 0 < state["deployed_at_block"] <= token.block_number()


@pytest.mark.chain
def test_options_choose_the_token_and_who_is_funded(
    anvil: AnvilNode, dev_wallets: list[DevAccount], tmp_path: Path
) -> None:
    address, _ = deploy(
        "--name",
        "Test Dollar",
        "--symbol",
        "TUSD",
        "--decimals",
        "18",
        "--mint",
        "25",
        "--accounts",
        "2",
        "--state-file",
        str(tmp_path / "chain.json"),
    )

    token = ChainClient.from_settings().with_token(address)
    assert token.token_metadata() == ("Test Dollar", "TUSD", 18)
    assert [token.token_balance(wallet.address) for wallet in dev_wallets[:3]] == [
        25 * 10**18,
        25 * 10**18,
        0,
    ]


@pytest.mark.chain
def test_second_run_reuses_the_token_without_minting_again(
    anvil: AnvilNode, dev_wallets: list[DevAccount], tmp_path: Path
) -> None:
    state_file = tmp_path / "chain.json"
    first_address, _ = deploy("--state-file", str(state_file), "--mint", "10")
    client = ChainClient.from_settings()
    block = client.block_number()
    state = state_file.read_text()

    second_address, lines = deploy("--state-file", str(state_file), "--mint", "10")

    assert second_address == first_address
    assert any(line.startswith("Reusing") for line in lines)
    assert client.block_number() == block  # no transaction at all
    assert state_file.read_text() == state
    token = client.with_token(first_address)
    for wallet in dev_wallets[:6]:
        assert token.token_balance(wallet.address) == 10 * 10**6  # not doubled


@pytest.mark.chain
def test_state_file_pointing_at_a_vanished_token_deploys_afresh(
    anvil: AnvilNode, dev_wallets: list[DevAccount], tmp_path: Path
) -> None:
    # What a state file looks like after `rm -r var/chain` reset the chain under it.
    state_file = tmp_path / "chain.json"
    gone = dev_wallets[5].address  # no code there
    state_file.write_text(
        json.dumps({"chain_id": anvil.chain_id, "token_address": gone, "deployed_at_block": 1})
    )

    address, _ = deploy("--state-file", str(state_file), "--accounts", "1")

    assert address != gone
    assert ChainClient.from_settings().is_contract(address)
    assert json.loads(state_file.read_text())["token_address"] == address


@pytest.mark.chain
def test_state_file_for_another_chain_deploys_afresh(anvil: AnvilNode, tmp_path: Path) -> None:
    first_address, _ = deploy("--state-file", str(tmp_path / "first.json"), "--accounts", "0")
    other_chain = tmp_path / "other.json"
    other_chain.write_text(
        json.dumps({"chain_id": 1, "token_address": first_address, "deployed_at_block": 1})
    )

    address, _ = deploy("--state-file", str(other_chain), "--accounts", "0")

    assert address != first_address
    assert json.loads(other_chain.read_text())["chain_id"] == anvil.chain_id


def test_empty_deployer_key_is_a_command_error(settings: Settings, tmp_path: Path) -> None:
    settings.CHAIN_DEPLOYER_PRIVATE_KEY = ""
    state_file = tmp_path / "chain.json"

    with pytest.raises(CommandError, match="CHAIN_DEPLOYER_PRIVATE_KEY is empty"):
        call_command("chain_deploy_token", "--state-file", str(state_file), stdout=StringIO())

    assert not state_file.exists()


def test_unreachable_chain_is_a_command_error(settings: Settings, tmp_path: Path) -> None:
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    with pytest.raises(CommandError, match=r"unreachable.*\[chain_unavailable\]"):
        call_command(
            "chain_deploy_token", "--state-file", str(tmp_path / "chain.json"), stdout=StringIO()
        )
