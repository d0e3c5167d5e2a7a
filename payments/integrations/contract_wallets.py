"""The chain client's answer to sign-in's EIP-1271 question (marketplace.accounts.contract_wallets),
registered by ``payments/receivers.py``."""

from __future__ import annotations

from marketplace.accounts.contract_wallets import ContractWalletUnavailable
from payments.integrations.chain import ChainClient, ChainError, eip191_message_hash


def contract_wallet_vouches(*, wallet: str, text: str, signature: bytes) -> bool:
    """Whether ``wallet`` has code and its ``isValidSignature`` accepts ``signature`` over the
    EIP-191 hash of ``text``."""
    try:
        client = ChainClient.from_settings()
        return client.is_contract(wallet) and client.erc1271_is_valid_signature(
            wallet=wallet, message_hash=eip191_message_hash(text), signature=signature
        )
    except ChainError as exc:
        raise ContractWalletUnavailable(exc.code) from exc
