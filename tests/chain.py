"""A deployed test token registered as a Token row (the ``chain_token`` fixture in
tests/conftest.py), with helpers to mint, pay and mine on the test's anvil."""

from __future__ import annotations

from dataclasses import dataclass

from marketplace.core.models import User
from payments.integrations.anvil import AnvilNode, DevAccount, rpc_call
from payments.integrations.dev_tools import DevChainClient
from payments.models import Token
from tests.factories import UserFactory

DECIMALS = 6
MINTED = 1_000_000 * 10**DECIMALS


@dataclass
class ChainToken:
    token: Token
    client: DevChainClient  # bound to the token
    owner: DevAccount  # deployed it; can mint
    hot_wallet: DevAccount  # settings.HOT_WALLET_PRIVATE_KEY: pays payouts, is the treasury
    anvil: AnvilNode

    def mint(self, to: str, amount: int) -> None:
        self.client.wait_for_receipt(
            self.client.token_mint(private_key=self.owner.private_key, to=to, amount=amount)
        )

    def pay(self, payer: DevAccount, to: str, amount: int) -> str:
        tx_hash = self.client.token_transfer(private_key=payer.private_key, to=to, amount=amount)
        self.client.wait_for_receipt(tx_hash)
        return tx_hash

    def pay_in_another_token(self, payer: DevAccount, to: str, amount: int) -> str:
        """Deploys another token, mints ``amount`` of it to ``payer`` and sends that to ``to``;
        returns the transfer's hash without waiting."""
        other = self.client.deploy_contract(
            artifact="DataBountyToken",
            args=["Other", "OTH", DECIMALS, self.owner.address],
            private_key=self.owner.private_key,
        )
        client = self.client.with_token(other)
        client.wait_for_receipt(
            client.token_mint(private_key=self.owner.private_key, to=payer.address, amount=amount)
        )
        return client.token_transfer(private_key=payer.private_key, to=to, amount=amount)

    def mine(self, blocks: int = 1) -> None:
        mine(self.anvil, blocks)

    def user(self, account: DevAccount) -> User:
        return UserFactory.create(address=account.address)


def mine(anvil: AnvilNode, blocks: int = 1) -> None:
    """Mine ``blocks`` empty blocks; many take anvil seconds, hence the long timeout."""
    rpc_call(anvil.rpc_url, "anvil_mine", [hex(blocks)], timeout=60)


def make_chain_token(anvil: AnvilNode, dev_wallets: list[DevAccount], settings) -> ChainToken:  # type: ignore[no-untyped-def]
    owner = dev_wallets[0]
    key = settings.HOT_WALLET_PRIVATE_KEY  # anvil's account #9: it has ether for gas
    hot_wallet = DevAccount(DevChainClient.address_for_key(key), key)
    client = DevChainClient.from_settings()
    address = client.deploy_contract(
        artifact="DataBountyToken",
        args=["Test dollar", "tUSD", DECIMALS, owner.address],
        private_key=owner.private_key,
    )
    client = client.with_token(address)
    token = Token.objects.create(
        chain_id=settings.CHAIN_ID, address=address, symbol="tUSD", decimals=DECIMALS
    )
    chain = ChainToken(token, client, owner, hot_wallet, anvil)
    for account in dev_wallets[1:5]:
        chain.mint(account.address, MINTED)
    return chain
