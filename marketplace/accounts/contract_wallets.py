"""Contract wallets sign in by EIP-1271 (https://eips.ethereum.org/EIPS/eip-1271): the contract at
the signing address is asked whether it vouches for the signature.

Asking needs the chain client, which lives in ``payments`` (above this app; it is the one module
that imports web3), so ``payments`` registers the check when it loads (``payments/receivers.py``)
and sign-in calls whatever is registered. With none, only key-pair (EOA) signatures sign in.
"""

from __future__ import annotations

from typing import Protocol


class ContractWalletUnavailable(Exception):
    """The chain could not be asked; ``code`` says why (e.g. ``chain_unavailable``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class ContractWalletCheck(Protocol):
    def __call__(self, *, wallet: str, text: str, signature: bytes) -> bool:
        """Whether ``wallet`` is a contract that vouches for ``signature`` over the EIP-191
        personal message ``text``; raises ``ContractWalletUnavailable`` if the chain is not
        answering."""
        ...


_checks: list[ContractWalletCheck] = []


def contract_wallet_check_register(check: ContractWalletCheck) -> None:
    if check not in _checks:
        _checks.append(check)


def contract_wallet_vouches(*, wallet: str, text: str, signature: bytes) -> bool:
    return any(check(wallet=wallet, text=text, signature=signature) for check in _checks)
