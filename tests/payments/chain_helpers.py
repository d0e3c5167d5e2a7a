"""What the anvil tests of the chain readers share: a fresh token to pay with (mining is
``tests.chain.mine``)."""

from __future__ import annotations

from payments.integrations.anvil import DevAccount
from payments.integrations.dev_tools import DevChainClient
from tests.chain import DECIMALS


def deploy_token(client: DevChainClient, owner: DevAccount, symbol: str) -> DevChainClient:
    """A new DataBountyToken (``DECIMALS``) that ``owner`` may mint, as ``client`` pointed at
    it."""
    address = client.deploy_contract(
        artifact="DataBountyToken",
        args=[f"{symbol} token", symbol, DECIMALS, owner.address],
        private_key=owner.private_key,
    )
    return client.with_token(address)
