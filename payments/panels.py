"""What payments adds to datasets_app's pages, registered from ``PaymentsConfig.ready()``.

datasets_app never imports payments (``datasets_app/panels.py``): the dataset page shows the
bounty list and the license card as panels registered here, its visitor-cache stamp moves with
their rows through each panel's ``stamp``, and the row viewer asks ``holds_license`` whether a
person may see every row of a dataset or of one of its versions.
"""

from __future__ import annotations

from typing import Any

from django.db.models import CharField, F, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpRequest

from datasets_app.models import Dataset, DatasetRelease
from datasets_app.panels import register_dataset_panel, register_license_check, register_paywall
from datasets_app.selectors.datasets import over_rows
from payments.apis.x402 import rows_paywall
from payments.models import Bounty, LedgerEntry, LicenseTier
from payments.selectors.bounties import bounty_list
from payments.selectors.licenses import license_grant_active
from payments.services.downloads import license_for
from payments.views.licenses import license_card


def bounties_context(request: HttpRequest, dataset: Dataset) -> dict[str, Any]:
    return {"bounties": bounty_list(dataset=dataset)}


def bounties_stamp() -> dict[str, Any]:
    """The bounties' rows and every ledger entry of their pools (an open bounty's row is not
    saved when its pool is funded: only the ledger moves)."""
    bounties = Bounty.objects.filter(dataset=OuterRef("pk"))
    pools = Bounty.objects.filter(dataset=OuterRef(OuterRef("pk"))).annotate(
        code=Concat(Value("bounty:"), Cast("pk", CharField()))
    )
    entries = LedgerEntry.objects.filter(account__code__in=pools.values("code"))
    return {
        "at": over_rows(bounties, "MAX", F("updated_at")),
        "n": over_rows(bounties, "COUNT", F("id")),
        "pools_entry": over_rows(entries, "MAX", F("id")),
    }


def licenses_context(request: HttpRequest, dataset: Dataset) -> dict[str, Any]:
    return {"licenses": license_card(request=request, dataset=dataset)}


def licenses_stamp() -> dict[str, Any]:
    tiers = LicenseTier.objects.filter(dataset=OuterRef("pk"))
    return {
        "at": over_rows(tiers, "MAX", F("updated_at")),
        "n": over_rows(tiers, "COUNT", F("id")),
    }


def holds_license(user: Any, dataset: Dataset, release: DatasetRelease | None) -> bool:
    """An active license on ``dataset``; for a ``release``, one that covers it."""
    if release is not None:
        return license_for(user=user, release=release) is not None
    return license_grant_active(user=user, dataset=dataset) is not None


def register() -> None:
    register_dataset_panel(
        "bounties",
        slot="main",
        template="payments/_bounty_list.html",
        context=bounties_context,
        stamp=bounties_stamp,
    )
    register_dataset_panel(
        "licenses",
        slot="aside",
        template="payments/_license_card.html",
        context=licenses_context,
        stamp=licenses_stamp,
    )
    register_license_check(holds_license)
    register_paywall(rows_paywall)
