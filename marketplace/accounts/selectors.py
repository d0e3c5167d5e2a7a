from __future__ import annotations

from django.db.models import QuerySet

from marketplace.accounts.models import ApiToken
from marketplace.core.models import User


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """The person's tokens, newest first, revoked ones last."""
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")
