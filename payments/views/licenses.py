"""License pages: the owner's tiers, the dataset page's "Licenses" card, buying (an order, paid
from the buyer's wallet or by pasting the hash, verified on chain by a task while the page polls
its status), free claims, the buyer's purchases, and each license's signed receipt as JSON.

Every write goes through the license and purchase services; these views parse, call one
service and redirect (PRG)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from datasets_app.models import Dataset, DatasetRelease
from datasets_app.selectors.datasets import dataset_visible
from marketplace.core.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.pages import polled_status, show_error
from marketplace.core.policy import can_manage_dataset
from payments.enums import PurchaseStatus
from payments.forms import LicenseTierForm, PurchaseHashForm
from payments.models import LicenseGrant, LicenseTier, Purchase
from payments.selectors.licenses import (
    license_grant_active,
    license_grant_get,
    license_tier_list,
    license_tier_offered,
    purchase_get,
    release_latest_ready,
)
from payments.selectors.licenses import purchase_list as purchases_of
from payments.selectors.tokens import tokens_accepted
from payments.services.licenses import license_claim_free, license_tier_create
from payments.services.purchases import purchase_confirm, purchase_create
from payments.templatetags.money import format_amount
from payments.views.tx_hash import tx_hash_post

PURCHASES_PER_PAGE = 25


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _dataset_or_404(request: HttpRequest, slug: str) -> Dataset:
    try:
        return dataset_visible(slug=slug, user=request.user)
    except NotFoundError:
        raise Http404("No such dataset.") from None


def _dataset_url(dataset: Dataset, anchor: str = "") -> str:
    return reverse("datasets:detail", kwargs={"slug": dataset.slug}) + anchor


def duration_text(duration: timedelta | None) -> str:
    """ "Perpetual", "30 days", "1 year": what a tier's duration means to a buyer."""
    if duration is None:
        return "Perpetual"
    days = duration.days
    if days and days % 365 == 0:
        years = days // 365
        return f"{years} year{'s' if years != 1 else ''}"
    if days and duration == timedelta(days=days):
        return f"{days} day{'s' if days != 1 else ''}"
    hours = int(duration.total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


# ---------- the dataset page's card ----------


@dataclass(frozen=True)
class LicenseOffer:
    tier: LicenseTier

    @property
    def duration(self) -> str:
        return duration_text(self.tier.duration)


@dataclass(frozen=True)
class LicenseCard:
    """What the dataset page's "Licenses" card (and the buyer's licenses page) shows: the active
    tiers, the viewer's active license on the dataset (if any), whether they may manage the
    tiers, and the latest ready release, which every tier covers when bought (its
    ``quality["labelled_share"]`` shows beside the price). Three queries."""

    offers: list[LicenseOffer]
    grant: LicenseGrant | None
    can_manage: bool
    release: DatasetRelease | None = None

    @property
    def labelled_share(self) -> float | None:
        share = (self.release.quality or {}).get("labelled_share") if self.release else None
        return float(share) if isinstance(share, int | float) else None


def license_card(*, request: HttpRequest, dataset: Dataset) -> LicenseCard:
    user = request.user
    tiers = license_tier_list(dataset=dataset)
    return LicenseCard(
        offers=[LicenseOffer(tier) for tier in tiers],
        grant=license_grant_active(user=user, dataset=dataset),
        can_manage=can_manage_dataset(user, dataset),
        release=release_latest_ready(dataset=dataset),
    )


# ---------- the owner's tiers ----------


@require_http_methods(["GET", "POST"])
def license_tiers(request: HttpRequest, slug: str) -> HttpResponse:
    """The dataset owner lists the tiers and adds one; anyone else sees the tiers on offer,
    each with its Buy (or sign-in) button."""
    dataset = _dataset_or_404(request, slug)
    if not can_manage_dataset(request.user, dataset):
        if request.method == "POST":
            raise PermissionDenied("Only the dataset's owner sets its licenses.")
        return render(
            request,
            "payments/license_offers.html",
            {"dataset": dataset, "licenses": license_card(request=request, dataset=dataset)},
        )
    user = _user(request)
    form = LicenseTierForm(request.POST or None, tokens=tokens_accepted())
    if request.method == "POST" and form.is_valid():
        try:
            tier = license_tier_create(dataset=dataset, actor=user, **form.tier_kwargs())
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.detail) from exc
        except ApplicationError as exc:
            show_error(request, exc, form)
        else:
            messages.success(request, f"License tier “{tier.name}” is offered on the dataset page.")
            return redirect("license-tiers", slug=dataset.slug)
    tiers = [LicenseOffer(tier) for tier in license_tier_list(dataset=dataset, active_only=False)]
    return render(
        request,
        "payments/license_tiers.html",
        {"dataset": dataset, "form": form, "tiers": tiers, "has_tokens": form.tokens.exists()},
    )


# ---------- buying and claiming ----------


def _offered_tier(request: HttpRequest, tier_id: int) -> LicenseTier:
    try:  # a hidden dataset's tiers do not exist, here as in the API
        return license_tier_offered(tier_id=tier_id, user=request.user)
    except NotFoundError:
        raise Http404("No such license.") from None


@login_required
@require_POST
def license_buy(request: HttpRequest, tier_id: int) -> HttpResponse:
    """Order a paid tier and go to the order's page. An order of the same tier still waiting
    for payment is reused, so a second click does not make a second order."""
    tier = _offered_tier(request, tier_id)
    try:
        purchase = purchase_create(buyer=_user(request), tier=tier)
    except ApplicationError as exc:
        show_error(request, exc)
        return redirect(_dataset_url(tier.dataset, "#licenses"))
    return redirect("purchase-detail", purchase_id=purchase.pk)


@login_required
@require_POST
def license_claim(request: HttpRequest, tier_id: int) -> HttpResponse:
    """Take a free tier's license; its files are then in the library."""
    tier = _offered_tier(request, tier_id)
    try:
        license_claim_free(buyer=_user(request), tier=tier)
    except ApplicationError as exc:
        show_error(request, exc)
        return redirect(_dataset_url(tier.dataset, "#licenses"))
    messages.success(
        request, f"You hold the “{tier.name}” license of {tier.dataset.title}: download it here."
    )
    return redirect("library")


# ---------- an order ----------


def _own_purchase(request: HttpRequest, purchase_id: int) -> Purchase:
    """The buyer's own order; anyone else's does not exist (404, not 403)."""
    try:
        return purchase_get(user=_user(request), purchase_id=purchase_id)
    except NotFoundError:
        raise Http404("No such purchase.") from None


def _stage(purchase: Purchase, now: Any) -> str:
    """Which block the page shows: pay, confirming, paid, failed or expired. An order past its
    expiry reads as expired before the beat task marks it."""
    past_expiry = purchase.expires_at <= now
    if purchase.status == PurchaseStatus.AWAITING_PAYMENT:
        return "expired" if past_expiry else "pay"
    return str(purchase.status)


def _purchase_context(
    request: HttpRequest, purchase: Purchase, pay_form: PurchaseHashForm | None = None
) -> dict[str, Any]:
    now = timezone.now()
    grant = getattr(purchase, "grant", None) if purchase.status == PurchaseStatus.PAID else None
    stage = _stage(purchase, now)
    seconds_left = max(int((purchase.expires_at - now).total_seconds()), 0)
    token = purchase.token
    return {
        "purchase": purchase,
        "now": now,
        # For copying into a wallet: exact, without thousands separators.
        "amount_text": format_amount(int(purchase.amount), token.decimals).replace(",", ""),
        "seconds_left": seconds_left,
        "minutes_left": -(-seconds_left // 60),
        "tier": purchase.tier,
        "dataset": purchase.dataset,
        "token": token,
        "grant": grant,
        "stage": stage,
        # A failed order can be paid again (or given the right hash) until it expires.
        "can_pay": stage == "pay" or (stage == "failed" and purchase.expires_at > now),
        "duration": duration_text(purchase.tier.duration),
        "confirmations_needed": int(settings.CHAIN_CONFIRMATIONS),
        "pay_form": pay_form or PurchaseHashForm(),
    }


@login_required
@require_GET
def purchase_detail(request: HttpRequest, purchase_id: int) -> HttpResponse:
    """The order. htmx polls it for the status block alone while the payment confirms; once it
    settles, the whole page reloads to show the outcome."""
    purchase = _own_purchase(request, purchase_id)
    if request.headers.get("HX-Request"):
        return polled_status(
            request,
            "payments/_purchase_status.html",
            _purchase_context(request, purchase),
            settled=purchase.status != PurchaseStatus.CONFIRMING,
        )
    response = render(
        request, "payments/purchase_detail.html", _purchase_context(request, purchase)
    )
    response["Cache-Control"] = "private, no-store"  # the status changes under it
    return response


@login_required
@require_POST
def purchase_pay(request: HttpRequest, purchase_id: int) -> HttpResponse:
    """The buyer submits the hash of the transfer that paid (the wallet button posts it too)."""
    purchase = _own_purchase(request, purchase_id)
    form = PurchaseHashForm(request.POST)
    return tx_hash_post(
        request,
        form,
        lambda tx_hash: purchase_confirm(purchase=purchase, user=_user(request), tx_hash=tx_hash),
        done="Payment received: it is being confirmed on chain.",
        back=reverse("purchase-detail", kwargs={"purchase_id": purchase.pk}),
        page=lambda: render(
            request,
            "payments/purchase_detail.html",
            _purchase_context(request, purchase, pay_form=form),
        ),
    )


@login_required
@require_GET
def purchase_list(request: HttpRequest) -> HttpResponse:
    purchases = purchases_of(user=_user(request))
    page = Paginator(purchases, PURCHASES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "payments/purchase_list.html", {"page": page, "now": timezone.now()})


# ---------- receipts ----------


@login_required
@require_GET
def license_receipt(request: HttpRequest, grant_id: int) -> HttpResponse:
    """The license's EIP-712 receipt and the platform's signature, as a file to keep: anyone
    can check it with the signer's address (``license_receipt_verify``)."""
    try:
        grant = license_grant_get(user=_user(request), grant_id=grant_id)
    except NotFoundError:
        raise Http404("No such license.") from None
    response = JsonResponse(
        {"typed_data": grant.receipt, "signature": grant.signature, "signer": grant.signer},
        json_dumps_params={"indent": 2},
    )
    filename = f"{grant.dataset.slug}-license-{grant.pk}-receipt.json"
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=filename) or "attachment"
    )
    response["Cache-Control"] = "private, no-store"
    return response
