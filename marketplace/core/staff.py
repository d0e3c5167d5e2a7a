"""What every staff action (on money, in moderation) checks first: staff take it, with a reason
for the audit log."""

from __future__ import annotations

from marketplace.core.exceptions import ApplicationError, PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.policy import is_staff


def staff_reason_check(
    *, actor: User, reason: str, denied: str, error: type[ApplicationError]
) -> str:
    """``reason`` stripped. Raises ``PermissionDeniedError(denied)`` unless ``actor`` is staff,
    then ``error`` (``reason_required``) if the reason is blank."""
    if not is_staff(actor):
        raise PermissionDeniedError(denied)
    reason = reason.strip()
    if not reason:
        raise error("Give a reason: it goes to the audit log.", code="reason_required")
    return reason
