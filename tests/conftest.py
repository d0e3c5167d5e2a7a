"""Fixtures shared by every suite: the real PostgreSQL (pytest-django), a real anvil chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from payments.integrations.anvil import AnvilNode, DevAccount, dev_accounts, rpc_call

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"


@pytest.fixture(scope="session")
def anvil_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    """One anvil process per test session, on a free loopback port; stopped at the end."""
    log = tmp_path_factory.mktemp("anvil") / "anvil.log"
    node = AnvilNode(log_path=log).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def anvil(anvil_node: AnvilNode, settings) -> Iterator[AnvilNode]:  # type: ignore[no-untyped-def]
    """The session's anvil with the chain settings pointed at it, and the chain state rolled back
    after the test (evm_snapshot / evm_revert), so tests do not see each other's transactions."""
    settings.CHAIN_RPC_URL = anvil_node.rpc_url
    settings.CHAIN_ID = anvil_node.chain_id
    snapshot = rpc_call(anvil_node.rpc_url, "evm_snapshot")
    try:
        yield anvil_node
    finally:
        rpc_call(anvil_node.rpc_url, "evm_revert", [snapshot])


@pytest.fixture(scope="session")
def dev_wallets() -> list[DevAccount]:
    """anvil's funded default accounts (public test keys)."""
    return dev_accounts()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave screenshots and other things for people to look at."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR
