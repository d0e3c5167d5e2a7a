from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models

from marketplace.core.addresses import InvalidAddressError, normalize_address


class BaseModel(models.Model):
    """Timestamps for every table of ours."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def validate_address(value: str) -> None:
    """Any valid address passes; ``User.clean`` and the manager store its EIP-55 form."""
    try:
        normalize_address(value)
    except InvalidAddressError as exc:
        raise ValidationError(exc.detail, code=exc.code) from exc


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, address: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(address=normalize_address(address), **extra)
        if password:
            user.set_password(password)
        else:
            # Wallet users sign in with SIWE only; no password can ever match.
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, address: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(address, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # The admin login form and createsuperuser may pass any letter case.
        try:
            address = normalize_address(username or "")
        except InvalidAddressError:
            raise self.model.DoesNotExist from None
        return self.get(address=address)


class User(AbstractBaseUser, PermissionsMixin):
    """A person, known by their wallet address. Staff may also hold a password, a break-glass
    way into /admin/ when no wallet is at hand."""

    address = models.CharField(
        "wallet address", max_length=42, unique=True, validators=[validate_address]
    )
    display_name = models.CharField(max_length=80, blank=True)
    email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    USERNAME_FIELD = "address"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(address__regex=r"^0x[0-9a-fA-F]{40}$"),
                name="user_address_is_hex",
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.short_address

    def clean(self) -> None:
        super().clean()
        try:
            self.address = normalize_address(self.address)
        except InvalidAddressError as exc:
            raise ValidationError({"address": exc.detail}) from exc

    @property
    def short_address(self) -> str:
        return f"{self.address[:6]}…{self.address[-4:]}"


class AuditLog(models.Model):
    """Append-only record of every state change that matters: who, what, on what, when.

    Rows are never updated or deleted: ``save`` refuses an update, ``delete`` refuses, and a
    PostgreSQL trigger (migration 0002) refuses UPDATE and DELETE from any client.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=80, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes: ClassVar = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Audit log entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit log entries are append-only.")
