from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User
from payments.selectors.rewards import (
    earnings_balances,
    payout_list,
    reward_get,
    reward_list,
)


@login_required
@require_GET
def earnings(request: HttpRequest) -> HttpResponse:
    """The person's rewards, newest first, and what they are owed per token."""
    user: User = request.user  # type: ignore[assignment]
    page = Paginator(reward_list(user=user), 25).get_page(request.GET.get("page"))
    payouts = Paginator(payout_list(user=user), 10).get_page(1)  # the latest; all on their page
    return render(
        request,
        "payments/earnings.html",
        {
            "page": page,
            "payouts": payouts,
            "balances": earnings_balances(user=user),
            "payout_minimum": settings.PAYOUT_MINIMUM,
        },
    )


@login_required
@require_GET
def reward_receipt(request: HttpRequest, reward_id: int) -> HttpResponse:
    """One reward explained: every input of its computation."""
    try:
        reward = reward_get(user=request.user, reward_id=reward_id)  # type: ignore[arg-type]
    except NotFoundError:
        raise Http404("No such reward.") from None
    return render(request, "payments/reward_receipt.html", {"reward": reward})


@login_required
@require_GET
def payouts(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    page = Paginator(payout_list(user=user), 25).get_page(request.GET.get("page"))
    return render(request, "payments/payouts.html", {"page": page})
