"""Writes that belong to the whole project rather than one app."""

from __future__ import annotations

from typing import Any

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
