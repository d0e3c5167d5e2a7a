"""Paying per request with x402 (HTTP 402, protocol v2, EVM ``exact`` scheme).

A request the server answers with 402 is paid by the official ``x402`` package: its requests
adapter reads the ``PAYMENT-REQUIRED`` header, our ``x402ClientSync`` signs an EIP-3009
``transferWithAuthorization`` with the local key, and the adapter retries once with
``PAYMENT-SIGNATURE``. The paid answer carries ``X-Download-Token``: an API token (download
scope) for the payer's address, kept in the config folder per server and address, and sent as
``Authorization: Bearer`` from then on, so the next request does not pay again. When that token
has ended (or was refused) the address may well hold a license already: before paying again, the
x402 ``on_payment_required`` hook signs in with the same key (SIWE) for a fresh token and retries;
only if that request is still asked to pay does the payment go out.

x402's default spend controls only pay USD stablecoins it knows, up to $1. DataBounty sells in
its own token, so those are replaced by a plain cap in base units (``--max-amount``): nothing is
paid without one, and nothing above it."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_account import Account
from x402 import x402ClientSync
from x402.client_base import max_amount
from x402.http import x402HTTPClientSync
from x402.http.clients.requests import PaymentError, wrapRequestsWithPayment
from x402.mechanisms.evm.exact import register_exact_evm_client
from x402.schemas.hooks import PaymentRequiredContext, PaymentRequiredHeadersResult

from databounty.config import Config, TokenStore
from databounty.errors import ClientError

DOWNLOAD_TOKEN_HEADER = "X-Download-Token"  # noqa: S105 - a header's name
DOWNLOAD_TOKEN_EXPIRES_HEADER = "X-Download-Token-Expires"  # noqa: S105 - a header's name


@dataclass
class Asked:
    """What a 402 asked for, as the payment policy saw it."""

    amount: int
    asset: str
    network: str
    pay_to: str


@dataclass
class Payer:
    private_key: str
    max_amount: int  # base units
    tokens: TokenStore
    asked: list[Asked] = field(default_factory=list)
    paid: list[dict[str, Any]] = field(default_factory=list)  # settlements, newest last
    # Signs in with the key and returns a fresh API token (set by the Client that pays).
    sign_in: Callable[[], str] | None = None
    signed_in_instead: bool = False

    @classmethod
    def from_config(cls, config: Config, *, max_amount: int | None = None) -> Payer:
        cap = max_amount if max_amount is not None else config.max_amount
        return cls(config.read_key(), cap or 0, TokenStore(config.directory))

    @functools.cached_property
    def address(self) -> str:
        return str(Account.from_key(self.private_key).address)

    def session(self) -> requests.Session:
        client = x402ClientSync()
        register_exact_evm_client(client, Account.from_key(self.private_key))
        client.set_spend_controls({"allowed_assets": True, "max_amount_per_payment": False})
        # Ours records what was asked (for the error) and puts the cheapest first; x402's own
        # max_amount policy enforces the cap.
        client.register_policy(self._record_asked).register_policy(max_amount(self.max_amount))
        http = x402HTTPClientSync(client).on_payment_required(self._sign_in_before_paying_again)
        return wrapRequestsWithPayment(requests.Session(), http)

    def _sign_in_before_paying_again(
        self, context: PaymentRequiredContext
    ) -> PaymentRequiredHeadersResult | None:
        """Once per client, and only for a server this address paid before (its download token
        has ended or was refused): a token from signing in, for the request to try first."""
        if self.sign_in is None or self.signed_in_instead:
            return None
        if not self.tokens.known(context.request_url, self.address):
            return None
        self.signed_in_instead = True
        token = self.sign_in()
        return PaymentRequiredHeadersResult(headers={"Authorization": f"Bearer {token}"})

    def _record_asked(self, version: int, requirements: list[Any]) -> list[Any]:
        """What the 402 asks, cheapest first; amounts that are not whole base units are dropped
        (no cap in base units can be compared with them)."""
        priced = sorted(
            (r for r in requirements if str(r.get_amount()).isdigit()),
            key=lambda r: int(r.get_amount()),
        )
        self.asked = [
            Asked(int(r.get_amount()), str(r.asset), str(r.network), str(r.pay_to)) for r in priced
        ]
        return priced

    # -- the download token ------------------------------------------------------------------------

    def stored_token(self, url: str) -> str | None:
        return self.tokens.get(url, self.address)

    def took_token(self, url: str, response: requests.Response) -> str | None:
        """Keeps the download token a paid answer carries; returns it."""
        token = response.headers.get(DOWNLOAD_TOKEN_HEADER)
        if not token:
            return None
        self.tokens.put(
            url, self.address, token, response.headers.get(DOWNLOAD_TOKEN_EXPIRES_HEADER)
        )
        settled = response.headers.get("PAYMENT-RESPONSE")
        if settled:
            from x402.http.utils import decode_payment_response_header

            # The data came; an unreadable receipt header does not undo that.
            with contextlib.suppress(ValueError):
                self.paid.append(decode_payment_response_header(settled).model_dump())
        return token

    # -- what went wrong ---------------------------------------------------------------------------

    @staticmethod
    def handles(exc: Exception) -> bool:
        return isinstance(exc, PaymentError)

    def explain(self, exc: Exception) -> ClientError:
        too_dear = [a for a in self.asked if a.amount > self.max_amount]
        if self.asked and len(too_dear) == len(self.asked):
            cheapest = min(too_dear, key=lambda a: a.amount)
            return ClientError(
                f"This costs {cheapest.amount} base units of token {cheapest.asset} on "
                f"{cheapest.network} (paid to {cheapest.pay_to}); the most you allow is "
                f"{self.max_amount}. Pass --max-amount {cheapest.amount} (or set "
                "DATABOUNTY_MAX_AMOUNT) to pay it.",
                code="over_max_amount",
            )
        reason = str(exc).removeprefix("Failed to handle payment: ")
        return ClientError(f"The x402 payment could not be made: {reason}", code="payment_failed")
