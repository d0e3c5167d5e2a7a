"""Writes that belong to the whole project rather than one app."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from marketplace.core.models import AuditLog, User


def audit_log_record(
    *,
    action: str,
    actor: User | None = None,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit entry. Call it inside the transaction that makes the change, so the
    entry exists exactly when the change does."""
    return AuditLog.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )


def user_profile_update(*, user: User, display_name: str, email: str) -> User:
    """Change what a person shows of themselves: a display name and an e-mail for notices."""
    display_name = (display_name or "").strip()
    email = (email or "").strip()
    if len(display_name) > 80:
        raise ValidationError({"display_name": "At most 80 characters."})
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(
                {"email": "Enter a valid e-mail address, or leave it empty."}
            ) from None
    changed = {
        field: value
        for field, value in (("display_name", display_name), ("email", email))
        if getattr(user, field) != value
    }
    if changed:
        for field, value in changed.items():
            setattr(user, field, value)
        user.save(update_fields=list(changed))
        audit_log_record(
            action="user.profile_updated", actor=user, target=user, data={"fields": sorted(changed)}
        )
    return user
