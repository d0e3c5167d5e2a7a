"""Sign-in: SIWE nonces and API tokens. Their tables keep the names they had in ``payments``
(``db_table``): the models moved here by a state-only migration, and no row moved."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from marketplace.core.models import BaseModel


class SiweNonce(models.Model):
    """A nonce issued for one Sign-In with Ethereum message (EIP-4361).

    Single use across processes: a login consumes it with one conditional UPDATE
    (``used_at IS NULL``), so of two concurrent logins with the same message only one wins.
    Bound to the session it was issued to, and valid for ``SIWE_NONCE_TTL_SECONDS``.
    """

    nonce = models.CharField(max_length=64, unique=True)
    session_key = models.CharField(max_length=40, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "payments_siwenonce"
        verbose_name = "SIWE nonce"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="siwe_nonce_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=models.Q(used_at__isnull=True) | models.Q(used_by__isnull=False),
                name="siwe_nonce_used_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"nonce {self.nonce[:6]}… ({'used' if self.used_at else 'open'})"


class ApiTokenScope(models.TextChoices):
    READ = "read", "Read: list and view through the API"
    WRITE = "write", "Write: create and change through the API"
    DOWNLOAD = "download", "Download: fetch licensed dataset files"


class ApiToken(BaseModel):
    """A bearer token for scripts (``Authorization: Bearer dbt_…``).

    Only the SHA-256 of the secret is stored: the secret has 256 bits of randomness, so a fast
    hash is enough and lets us look the token up by its digest. ``prefix`` is shown in lists so
    people can tell their tokens apart.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=16, choices=ApiTokenScope.choices))
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payments_apitoken"
        ordering = ("-created_at",)
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(scopes__len__gt=0), name="api_token_has_a_scope"
            ),
            models.CheckConstraint(
                condition=models.Q(scopes__contained_by=ApiTokenScope.values),
                name="api_token_scopes_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )
