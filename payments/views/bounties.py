"""Bounty pages: create a bounty on a dataset, read it (pool chart, epochs), and fund it (the
sponsor's wallet transfers the pool to the treasury, the page submits the hash, a task verifies
it on chain and the page polls the funding's status until it settles)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from datasets_app.selectors.datasets import dataset_visible
from marketplace.core.exceptions import ApplicationError, NotFoundError
from marketplace.core.models import User
from marketplace.core.pages import polled_status, show_error
from marketplace.core.policy import can_manage_dataset, is_owner
from payments.enums import BountyStatus
from payments.forms import BountyForm, FundingHashForm
from payments.integrations.chain import ChainError
from payments.models import Bounty, Token
from payments.selectors.bounties import (
    bounty_funding_latest,
    bounty_funding_state,
    bounty_get,
    bounty_pool_progress,
)
from payments.selectors.tokens import tokens_accepted
from payments.services.bounties import bounty_create
from payments.services.funding import bounty_funding_submit, treasury_address
from payments.services.rewards import epoch_bounds
from payments.templatetags.money import format_amount
from payments.views.tx_hash import tx_hash_post


def _bounty_or_404(request: HttpRequest, bounty_id: int) -> Bounty:
    """The bounty if this person may see it: wherever its dataset is seen, as in the API."""
    try:
        return bounty_get(bounty_id=bounty_id, user=request.user)
    except NotFoundError:
        raise Http404("No such bounty.") from None


def _amount_text(amount: int, token: Token) -> str:
    """A base-unit amount as a plain decimal string ("1234.5"), exact, for the chart script."""
    return format_amount(amount, token.decimals).replace(",", "")


def _epoch_count(bounty: Bounty) -> int:
    """The epochs computed plus those left at the current length: staff may have changed the
    length of a running bounty, and each window starts where the last computed one ended."""
    left = max(timedelta(0), bounty.ends_at - epoch_bounds(bounty)[0])
    return max(1, bounty.epochs_computed + math.ceil(left / bounty.epoch_length))


def _duration_text(length: timedelta) -> str:
    """1 day, 6 hours, 1 week, 90 minutes: the largest unit that divides it."""
    seconds = int(length.total_seconds())
    for unit, size in (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _detail_context(
    request: HttpRequest, bounty: Bounty, fund_form: FundingHashForm | None = None
) -> dict[str, Any]:
    token = bounty.token
    progress = bounty_pool_progress(bounty=bounty)
    is_sponsor = is_owner(request.user, bounty.sponsor_id)
    funding = bounty_funding_latest(bounty=bounty)
    treasury, treasury_error = "", ""
    needs_funding = bounty.status == BountyStatus.AWAITING_FUNDING
    if is_sponsor and needs_funding:
        try:
            treasury = treasury_address()
        except ChainError as exc:
            treasury_error = exc.detail
    chart = {
        "symbol": token.symbol,
        "funded": _amount_text(progress.funded, token),
        "awarded": _amount_text(progress.awarded, token),
        "left": _amount_text(progress.left, token),
        "epochs": [
            {
                "number": epoch["number"],
                "end": epoch["end"],
                "awarded": _amount_text(int(str(epoch["awarded"])), token),
                "left": _amount_text(int(str(epoch["left"])), token),
            }
            for epoch in progress.epochs
        ],
    }
    return {
        "bounty": bounty,
        "dataset": bounty.dataset,
        "token": token,
        "progress": progress,
        "chart": chart,
        "epochs_total": _epoch_count(bounty),
        "epoch_label": _duration_text(bounty.epoch_length),
        "epoch_rows": [
            {**epoch, "end": datetime.fromisoformat(str(epoch["end"]))} for epoch in progress.epochs
        ],
        "is_sponsor": is_sponsor,
        "funding": funding,
        # A refusal's reason: the sponsor's and staff's only, as in the API.
        "funding_state": bounty_funding_state(bounty=bounty, user=request.user),
        "confirmations_needed": int(settings.CHAIN_CONFIRMATIONS),
        "chain_id": int(settings.CHAIN_ID),
        "treasury": treasury,
        "treasury_error": treasury_error,
        "fund_form": fund_form or FundingHashForm(),
        "spent_percent": (progress.awarded * 100 // progress.funded) if progress.funded else 0,
    }


@login_required
@require_http_methods(["GET", "POST"])
def bounty_new(request: HttpRequest, slug: str) -> HttpResponse:
    """The dataset owner puts a bounty on it; it then waits for its funding."""
    try:
        dataset = dataset_visible(slug=slug, user=request.user)
    except NotFoundError:
        raise Http404("No such dataset.") from None
    user: User = request.user  # type: ignore[assignment]
    if not can_manage_dataset(user, dataset):
        raise PermissionDenied("Only the dataset's owner can put a bounty on it.")
    form = BountyForm(request.POST or None, tokens=tokens_accepted())
    if request.method == "POST" and form.is_valid():
        try:
            bounty = bounty_create(dataset=dataset, sponsor=user, **form.bounty_kwargs())
        except ApplicationError as exc:
            show_error(request, exc, form)
        else:
            messages.success(request, f"Bounty “{bounty.title}” created. Fund it to open it.")
            return redirect("bounty-detail", bounty_id=bounty.pk)
    return render(
        request,
        "payments/bounty_form.html",
        {"form": form, "dataset": dataset, "has_tokens": form.tokens.exists()},
    )


@require_GET
def bounty_detail(request: HttpRequest, bounty_id: int) -> HttpResponse:
    """The bounty and its pool. htmx polls it for the funding status block alone while the
    funding is being verified; once it settles, the whole page reloads to show the outcome."""
    bounty = _bounty_or_404(request, bounty_id)
    if request.headers.get("HX-Request"):  # once settled, the badge, pool and chart change too
        return polled_status(
            request,
            "payments/_bounty_status.html",
            _detail_context(request, bounty),
            settled=bounty.status != BountyStatus.VERIFYING,
        )
    return render(request, "payments/bounty_detail.html", _detail_context(request, bounty))


@login_required
@require_POST
def bounty_fund(request: HttpRequest, bounty_id: int) -> HttpResponse:
    """The sponsor submits the hash of the transaction that sent the pool to the treasury."""
    bounty = _bounty_or_404(request, bounty_id)
    sponsor: User = request.user  # type: ignore[assignment]
    form = FundingHashForm(request.POST)
    return tx_hash_post(
        request,
        form,
        lambda tx_hash: bounty_funding_submit(bounty=bounty, user=sponsor, tx_hash=tx_hash),
        done="Transaction received: it is being verified on chain.",
        back=reverse("bounty-detail", kwargs={"bounty_id": bounty.pk}),
        page=lambda: render(
            request, "payments/bounty_detail.html", _detail_context(request, bounty, fund_form=form)
        ),
    )
