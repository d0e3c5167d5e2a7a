"""HTTP 402 payments (x402 v2, the ``exact`` scheme on EVM): what a licensed file costs an agent
that has no license, and the official x402 resource server and facilitator that check and
settle its payment. We are our own facilitator: the payer signs an EIP-3009
``transferWithAuthorization`` to the treasury, and the hot wallet submits it (we pay the gas).

The protocol (headers, payloads, verification, the settlement call) is the ``x402`` package's;
what is ours is the price (the cheapest tier covering the release), the signer that records a
settlement before broadcasting it (``payments.integrations.x402_signer``), and the bookkeeping
after it (``payments.services.x402_settlement``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Exists, Q
from x402 import x402FacilitatorSync, x402ResourceServerSync
from x402.http import encode_payment_required_header
from x402.mechanisms.evm.exact import (
    ExactEvmFacilitatorScheme,
    ExactEvmSchemeConfig,
    ExactEvmServerScheme,
)
from x402.schemas import AssetAmount, PaymentRequirements, ResourceConfig, ResourceInfo

from datasets_app.models import DatasetRelease, ReleaseStatus
from payments.enums import LicenseCoverage
from payments.integrations.chain import ChainClient, ChainError
from payments.integrations.x402_signer import RecordingFacilitatorSigner, Sender
from payments.models import LicenseTier, Token
from payments.services.funding import treasury_address

X402_VERSION = 2
SCHEME = "exact"


def network() -> str:
    """The CAIP-2 id of our chain, as x402 names networks."""
    return f"eip155:{settings.CHAIN_ID}"


@dataclass(frozen=True)
class X402Offer:
    """What a release costs over x402: the tier bought, and the requirements sent."""

    tier: LicenseTier
    release: DatasetRelease
    requirements: PaymentRequirements


def x402_offer(*, release: DatasetRelease) -> X402Offer | None:
    """The cheapest active priced tier whose license would cover ``release``, as x402 payment
    requirements; None when nothing is for sale (a free tier is claimed, not paid). A tier
    for the latest version only covers no older one (``license_grant_create``'s rule)."""
    dataset = release.dataset
    if release.status != ReleaseStatus.READY or not dataset.is_public:
        return None
    newer = DatasetRelease.objects.filter(
        dataset=dataset, status=ReleaseStatus.READY, number__gt=release.number
    )
    tier = (
        LicenseTier.objects.filter(
            dataset=dataset, is_active=True, price__gt=0, token__is_active=True
        )
        .filter(~Q(covers=LicenseCoverage.LATEST) | ~Exists(newer))
        .select_related("token", "dataset")
        .order_by("price", "pk")
        .first()
    )
    if tier is None or tier.token is None:
        return None
    return X402Offer(tier=tier, release=release, requirements=_requirements(tier))


def _eip712_domain(token: Token) -> dict[str, str]:
    """The token's EIP-712 domain name and version: the payer signs over them, and a wrong
    name makes every signature invalid. Read from the contract once, then kept on the row."""
    if not token.eip712_name:
        domain = _verify_only_signer().eip712_domain(token.address)
        token.eip712_name, token.eip712_version = domain["name"], domain["version"]
        Token.objects.filter(pk=token.pk).update(
            eip712_name=token.eip712_name, eip712_version=token.eip712_version
        )
    return {"name": token.eip712_name, "version": token.eip712_version}


def _requirements(tier: LicenseTier) -> PaymentRequirements:
    assert tier.token is not None  # noqa: S101 - x402_offer picks priced tiers only
    try:
        extra = _eip712_domain(tier.token)
    except ChainError as exc:
        raise ChainError(
            f"Payments are unavailable right now: {exc.detail}", code=exc.code, status_code=503
        ) from exc
    config = ResourceConfig(
        scheme=SCHEME,
        pay_to=treasury_address(),
        price=AssetAmount(amount=str(int(tier.price)), asset=tier.token.address, extra=extra),
        network=network(),
        max_timeout_seconds=settings.X402_MAX_TIMEOUT_SECONDS,
    )
    return resource_server(None).build_payment_requirements(config)[0]


def resource_server(send: Sender | None) -> x402ResourceServerSync:
    """The official resource server, over our own facilitator (in process, no HTTP) whose
    signer hands every settlement transaction to ``send``. Without ``send`` it only builds
    requirements and verifies: that one is made once per process and settings (every 402
    asks for it, and building one costs ~3 ms)."""
    if send is None:
        return _verifying_server(*_signer_settings())
    return _server(_signer(*_signer_settings(), send))


def _signer_settings() -> tuple[str, int, str, float]:
    """The node, chain, hot wallet key and settling timeout a signer is made from (the
    verifying server is kept per these)."""
    return (
        settings.CHAIN_RPC_URL,
        settings.CHAIN_ID,
        settings.HOT_WALLET_PRIVATE_KEY,
        settings.X402_SETTLE_TIMEOUT_SECONDS,
    )


@functools.lru_cache(maxsize=4)
def _verifying_server(
    rpc_url: str, chain_id: int, key: str, timeout: float
) -> x402ResourceServerSync:
    return _server(_signer(rpc_url, chain_id, key, timeout, None))


def _verify_only_signer() -> RecordingFacilitatorSigner:
    """A verify-only signer for the current settings (reads the chain, signs nothing)."""
    return _signer(*_signer_settings(), None)


def _server(signer: RecordingFacilitatorSigner) -> x402ResourceServerSync:
    # simulate_in_settle: settle re-runs the transfer simulation right before sending, so an
    # authorization spent meanwhile (another request, a cancel) fails before any gas is paid.
    scheme = ExactEvmFacilitatorScheme(signer, ExactEvmSchemeConfig(simulate_in_settle=True))
    facilitator = x402FacilitatorSync()
    facilitator.register([network()], scheme)
    server = x402ResourceServerSync(facilitator)
    server_scheme: Any = ExactEvmServerScheme()  # type: ignore[no-untyped-call]
    server.register(network(), server_scheme)  # its typing lags its code
    server.initialize()
    return server


def _signer(
    rpc_url: str, chain_id: int, key: str, timeout: float, send: Sender | None
) -> RecordingFacilitatorSigner:
    return RecordingFacilitatorSigner(
        private_key=key or _VERIFY_ONLY_KEY,
        chain=ChainClient(
            rpc_url=rpc_url, chain_id=chain_id, timeout=settings.CHAIN_RPC_TIMEOUT_SECONDS
        ),
        send=send,
        confirmation_timeout_seconds=timeout,
    )


# A key that signs nothing: building requirements and verifying need a signer object, not a
# funded one (a server without a hot wallet still answers 402; settling then says why not).
_VERIFY_ONLY_KEY = "0x" + "11" * 32


def payment_required(
    offer: X402Offer, *, url: str, error: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The ``PAYMENT-REQUIRED`` header and the JSON body of a 402 for ``offer``'s release."""
    dataset = offer.tier.dataset
    resource = ResourceInfo(
        url=url,
        description=f"{dataset.title} {offer.release.version}: {offer.tier.name} license",
        mime_type="application/octet-stream",
    )
    required = resource_server(None).create_payment_required_response(
        [offer.requirements], resource, error
    )
    body = required.model_dump(mode="json", by_alias=True, exclude_none=True)
    return encode_payment_required_header(required), body
