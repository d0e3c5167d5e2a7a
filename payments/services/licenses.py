"""License tiers, grants and their EIP-712 receipts.

A grant is the right to download a dataset's versions. Each grant carries a receipt: EIP-712
typed data (buyer, dataset, version, tier, terms hash, price, token, payment tx hash, issued
at) signed by ``PLATFORM_SIGNING_KEY``, so anyone holding the platform's public address can check
a buyer's license without asking us (``license_receipt_verify``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_typed_data

from datasets_app.models import Dataset, DatasetRelease, ReleaseStatus
from marketplace.core.exceptions import PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.policy import can_manage_dataset
from marketplace.core.services import audit_log_record
from marketplace.core.staff import staff_reason_check
from payments.enums import LicenseCoverage
from payments.exceptions import LicenseError
from payments.models import LicenseGrant, LicenseTier, Purchase, Token

ZERO_HASH = "0x" + "00" * 32
RECEIPT_TYPES = {
    "License": [
        {"name": "buyer", "type": "address"},
        {"name": "dataset", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "tier", "type": "string"},
        {"name": "termsHash", "type": "bytes32"},
        {"name": "price", "type": "uint256"},
        {"name": "token", "type": "address"},
        {"name": "txHash", "type": "bytes32"},
        {"name": "issuedAt", "type": "uint256"},
    ]
}
NO_TOKEN = "0x" + "00" * 20


@transaction.atomic
def license_tier_create(
    *,
    dataset: Dataset,
    actor: User,
    name: str,
    spdx_id: str = "",
    custom_terms: str = "",
    commercial: bool = False,
    price: int = 0,
    token: Token | None = None,
    duration: timedelta | None = None,
    covers: str = LicenseCoverage.RELEASED,
) -> LicenseTier:
    """A new way to license the dataset (owner or staff)."""
    if not can_manage_dataset(actor, dataset):
        raise PermissionDeniedError("Only the dataset's owner sets its licenses.")
    checks = {
        "name": not name.strip() and "Name the tier.",
        "spdx_id": not (spdx_id.strip() or custom_terms.strip())
        and "Give the terms: an SPDX id (e.g. CC-BY-4.0) or your own text.",
        "price": price < 0 and "The price cannot be negative.",
        "token": price > 0 and token is None and "Choose the token the price is in.",
        "covers": covers not in LicenseCoverage.values and "Choose which versions it covers.",
        "duration": duration is not None
        and duration <= timedelta(0)
        and "A duration must be positive (or none: perpetual).",
    }
    for field, message in checks.items():
        if message:
            raise LicenseError(str(message), code=f"bad_{field}", extra={"field": field})
    if token is not None and not token.is_active:
        raise LicenseError("This token is not accepted.", code="token_not_accepted")
    if LicenseTier.objects.filter(dataset=dataset, name=name.strip()).exists():
        raise LicenseError(
            "A tier with this name exists.", code="duplicate_tier", extra={"field": "name"}
        )
    tier = LicenseTier.objects.create(
        dataset=dataset,
        name=name.strip(),
        spdx_id=spdx_id.strip(),
        custom_terms=custom_terms.strip(),
        commercial=commercial,
        price=price,
        token=token,
        duration=duration,
        covers=covers,
    )
    audit_log_record(
        action="license_tier.created", actor=actor, target=tier, data={"price": str(price)}
    )
    return tier


def ready_releases(dataset: Dataset) -> list[DatasetRelease]:
    return list(
        DatasetRelease.objects.filter(dataset=dataset, status=ReleaseStatus.READY).order_by(
            "number"
        )
    )


def _typed_data(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            **RECEIPT_TYPES,
        },
        "primaryType": "License",
        "domain": {"name": "DataBounty License", "version": "1", "chainId": settings.CHAIN_ID},
        "message": message,
    }


def _receipt(grant: LicenseGrant, purchase: Purchase | None) -> None:
    tier = grant.tier
    covered = sorted(r.number for r in grant.releases.all())
    version = ",".join(f"v{n}" for n in covered) + ("+" if grant.covers_future else "")
    message = {
        "buyer": grant.buyer.address,
        "dataset": grant.dataset.slug,
        "version": version or "none",
        "tier": tier.name,
        "termsHash": "0x" + tier.terms_hash,
        "price": str(int(purchase.amount) if purchase else 0),
        "token": purchase.token.address if purchase else NO_TOKEN,
        "txHash": purchase.tx_hash if purchase else ZERO_HASH,
        "issuedAt": str(int(grant.created_at.timestamp())),
    }
    grant.receipt = _typed_data(message)
    key = settings.PLATFORM_SIGNING_KEY
    if key:
        signable = _signable(grant.receipt)
        signed = Account.sign_message(signable, private_key=key)
        grant.signature = "0x" + bytes(signed.signature).hex()
        grant.signer = Account.from_key(key).address
    grant.save(update_fields=["receipt", "signature", "signer"])


def _signable(typed: dict[str, Any]) -> Any:
    # uint256 values travel as decimal strings in JSON; the encoder wants integers.
    message = dict(typed["message"])
    for field in ("price", "issuedAt"):
        message[field] = int(message[field])
    return encode_typed_data(full_message={**typed, "message": message})


def license_receipt_verify(*, receipt: dict[str, Any], signature: str) -> str:
    """The address that signed a license receipt (compare it with the platform's public
    signer address); raises ``LicenseError`` for a malformed receipt or signature."""
    try:
        return str(Account.recover_message(_signable(receipt), signature=signature))
    except Exception as exc:  # eth-account raises several types for bad input
        raise LicenseError(
            f"This is not a valid license receipt: {exc}", code="bad_receipt"
        ) from None


def license_grant_create(
    *, buyer: User, tier: LicenseTier, purchase: Purchase | None = None
) -> LicenseGrant:
    """Grant the tier's license (call inside the transaction that records the payment)."""
    releases = ready_releases(tier.dataset)
    if tier.covers == LicenseCoverage.LATEST:
        releases = releases[-1:]
    grant = LicenseGrant.objects.create(
        buyer=buyer,
        dataset=tier.dataset,
        tier=tier,
        purchase=purchase,
        covers_future=tier.covers == LicenseCoverage.ALL,
        expires_at=timezone.now() + tier.duration if tier.duration else None,
    )
    grant.releases.set(releases)
    _receipt(grant, purchase)
    audit_log_record(
        action="license.granted",
        actor=buyer,
        target=grant,
        data={"tier": tier.pk, "purchase": purchase.pk if purchase else None},
    )
    return grant


@transaction.atomic
def license_claim_free(*, buyer: User, tier: LicenseTier) -> LicenseGrant:
    """Take a free tier's license (once per person and tier while it is active)."""
    tier = LicenseTier.objects.select_for_update().select_related("dataset").get(pk=tier.pk)
    if not tier.is_active or not tier.dataset.is_public:
        raise LicenseError("This license is not offered.", code="tier_unavailable")
    if not tier.is_free:
        raise LicenseError("This license is paid: buy it.", code="not_free")
    existing = LicenseGrant.objects.active().filter(buyer=buyer, tier=tier).first()
    if existing is not None:
        return existing
    return license_grant_create(buyer=buyer, tier=tier)


@transaction.atomic
def license_grant_revoke(*, grant: LicenseGrant, actor: User, reason: str) -> LicenseGrant:
    """Staff end a license (fraud, a refund): its downloads stop at once."""
    reason = staff_reason_check(
        actor=actor, reason=reason, denied="Only staff revoke licenses.", error=LicenseError
    )
    grant = LicenseGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at is not None:
        return grant
    grant.revoked_at = timezone.now()
    grant.revoke_reason = reason[:255]
    grant.save(update_fields=["revoked_at", "revoke_reason"])
    audit_log_record(
        action="license.revoked", actor=actor, target=grant, data={"reason": grant.revoke_reason}
    )
    return grant
