"""API tokens for scripts and downloads: ``Authorization: Bearer dbt_<prefix>_<secret>``."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from marketplace.accounts.exceptions import ApiTokenError
from marketplace.accounts.models import ApiToken, ApiTokenScope
from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User
from marketplace.core.services import audit_log_record

TOKEN_PREFIX = "dbt_"  # noqa: S105 - a recognisable marker (secret scanners look for it)
# Writing last_used_at on every request would turn each read into a write; once a minute is
# precise enough for people to see which tokens are in use.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str, scopes: list[str], expires_at: datetime | None = None
) -> CreatedToken:
    name = (name or "").strip()
    if not name:
        raise ApiTokenError("Give the token a name, so you can tell it apart later.")
    if len(name) > 80:
        raise ApiTokenError("Token names are at most 80 characters.")
    unique_scopes = sorted(set(scopes or []))
    unknown = [s for s in unique_scopes if s not in ApiTokenScope.values]
    if not unique_scopes or unknown:
        raise ApiTokenError(
            f"Choose scopes among {', '.join(ApiTokenScope.values)}"
            + (f" (unknown: {', '.join(unknown)})." if unknown else "."),
            code="invalid_scope",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ApiTokenError("The expiry must be in the future.", code="invalid_expiry")
    with transaction.atomic():
        # Lock the user row so two concurrent creations cannot both pass the cap.
        User.objects.select_for_update().filter(pk=user.pk).first()
        active = ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()
        if active >= settings.API_TOKEN_MAX_PER_USER:
            raise ApiTokenError(
                f"You already have {active} tokens: revoke one you no longer use.",
                code="too_many_tokens",
            )
        prefix = secrets.token_hex(4)
        secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=f"{TOKEN_PREFIX}{prefix}",
            digest=_digest(secret),
            scopes=unique_scopes,
            expires_at=expires_at,
        )
        audit_log_record(
            action="api_token.created", actor=user, target=token, data={"scopes": unique_scopes}
        )
    return CreatedToken(token=token, secret=secret)


def api_token_issue_short_lived(
    *, user: User, name: str, scopes: list[str], ttl_seconds: int, keep: int = 5
) -> CreatedToken:
    """A token the platform hands out by itself (an x402 payment's download token): ``user``'s
    earlier ones of the same ``name`` that expired are revoked, and at most ``keep`` stay live
    (the oldest go first), so issuing them never runs into the per-person cap."""
    now = timezone.now()
    same = ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True)
    same.filter(expires_at__lte=now).update(revoked_at=now)
    surplus = list(same.order_by("-created_at", "-id").values_list("pk", flat=True)[keep - 1 :])
    ApiToken.objects.filter(pk__in=surplus).update(revoked_at=now)
    return api_token_create(
        user=user, name=name, scopes=scopes, expires_at=now + timedelta(seconds=ttl_seconds)
    )


def api_token_revoke(*, user: User, token_id: int, reason: str = "") -> ApiToken:
    """Revoke a token: one of ``user``'s own, or anyone's when ``user`` is staff (moderation).
    Someone else's token reads as not found. Idempotent."""
    with transaction.atomic():
        tokens = ApiToken.objects.select_for_update()
        if not user.is_staff:
            tokens = tokens.filter(user=user)
        token = tokens.filter(pk=token_id).first()
        if token is None:
            raise NotFoundError("No such token.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at", "updated_at"])
            audit_log_record(
                action="api_token.revoked",
                actor=user,
                target=token,
                data={"owner": token.user.address, "reason": reason},
            )
    return token


def api_token_authenticate(*, secret: str) -> ApiToken:
    """The active token for ``secret``, with its user; records when it was last used."""
    if not secret.startswith(TOKEN_PREFIX):
        raise ApiTokenError("Malformed API token.", status_code=401)
    token = ApiToken.objects.select_related("user").filter(digest=_digest(secret)).first()
    if token is None:
        raise ApiTokenError("Unknown API token.", status_code=401)
    now = timezone.now()
    if token.revoked_at is not None:
        raise ApiTokenError("This API token was revoked.", code="token_revoked", status_code=401)
    if token.expires_at is not None and token.expires_at <= now:
        raise ApiTokenError("This API token has expired.", code="token_expired", status_code=401)
    if not token.user.is_active:
        raise ApiTokenError("This account is suspended.", code="account_disabled", status_code=401)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
