"""Reads of licenses: a dataset's tiers, a person's active grant and orders, and the release a
license bought now covers."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from datasets_app.models import Dataset, DatasetRelease, ReleaseStatus
from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User
from marketplace.core.policy import can_view_dataset
from payments.models import LicenseGrant, LicenseTier, Purchase


def license_tier_list(*, dataset: Dataset, active_only: bool = True) -> QuerySet[LicenseTier]:
    """A dataset's license tiers with their token (and how many grants each has made)."""
    tiers = LicenseTier.objects.filter(dataset=dataset).select_related("dataset", "token")
    if active_only:
        return tiers.filter(is_active=True).order_by("price", "name")
    return tiers.annotate(grant_count=Count("grants")).order_by("-is_active", "price", "name")


def license_tier_offered(*, tier_id: int, user: User | Any) -> LicenseTier:
    """A tier of a dataset this person may see (``policy.can_view_dataset``), for the pages and
    the API alike: a hidden dataset's tiers read as not found. Whether it may be bought or
    claimed is the services' to say."""
    tier = LicenseTier.objects.select_related("dataset", "token").filter(pk=tier_id).first()
    if tier is None or not can_view_dataset(user, tier.dataset):
        raise NotFoundError("No such license.")
    return tier


def license_grant_list(*, user: User) -> QuerySet[LicenseGrant]:
    """The person's licenses, newest first, with their dataset, tier and releases."""
    return (
        LicenseGrant.objects.filter(buyer=user)
        .select_related("dataset", "tier")
        .prefetch_related("releases")
        .order_by("-created_at", "-id")
    )


def license_grant_get(*, user: User, grant_id: int) -> LicenseGrant:
    """One of the person's licenses; anyone else's does not exist."""
    grant = LicenseGrant.objects.select_related("dataset").filter(pk=grant_id, buyer=user).first()
    if grant is None:
        raise NotFoundError("No such license.")
    return grant


def license_grant_active(*, user: User | Any, dataset: Dataset) -> LicenseGrant | None:
    """The person's newest license on the dataset that is neither revoked nor expired."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        LicenseGrant.objects.active()
        .filter(buyer=user, dataset=dataset)
        .select_related("tier")
        .order_by("-created_at", "-id")
        .first()
    )


def purchase_list(*, user: User) -> QuerySet[Purchase]:
    """The person's orders, newest first, with what their pages and the API show."""
    return (
        Purchase.objects.filter(buyer=user)
        .select_related("dataset", "token", "tier", "grant")
        .order_by("-created_at", "-id")
    )


def purchase_get(*, user: User, purchase_id: int) -> Purchase:
    """One of the person's orders; anyone else's does not exist."""
    purchase = purchase_list(user=user).filter(pk=purchase_id).first()
    if purchase is None:
        raise NotFoundError("No such purchase.")
    return purchase


def release_latest_ready(*, dataset: Dataset) -> DatasetRelease | None:
    """The dataset's newest ready release: the version a license bought now covers (whatever
    its tier's coverage). One query."""
    return (
        DatasetRelease.objects.filter(dataset=dataset, status=ReleaseStatus.READY)
        .order_by("-number")
        .first()
    )
