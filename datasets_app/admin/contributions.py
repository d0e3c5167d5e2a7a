"""Contributions in admin: the validation report; approve, reject or re-validate with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import Q
from django.template.loader import render_to_string

from datasets_app.admin.common import DatasetInputFilter
from datasets_app.models import (
    Contribution,
)
from datasets_app.services.moderation import (
    contribution_approve,
    contribution_reject,
    contribution_revalidate,
)
from marketplace.core.admin import person
from marketplace.core.admin_actions import ModerationAdmin, service_action
from marketplace.core.admin_lists import (
    ChoicesFilter,
    UserInputFilter,
)


class ContributionFlaggedFilter(ChoicesFilter):
    title = "flagged"
    CHOICES: ClassVar[dict[str, tuple[str, Q]]] = {
        "yes": ("Has flagged rows", Q(report__flagged__gt=0)),
        "personal": ("Personal data found", Q(report__personal_data__0__isnull=False)),
    }


def report_context(report: Mapping[str, Any]) -> dict[str, Any]:
    """A contribution's validation report (``Contribution.report``) arranged for the table."""
    distribution = report.get("score_distribution") or {}
    buckets = distribution.get("buckets") or []
    widest = max((bucket["rows"] for bucket in buckets), default=0)
    personal = report.get("personal_data")
    return {
        "error": report.get("error", ""),
        "reasons": sorted(
            (report.get("reasons") or {}).items(), key=lambda reason: (-reason[1], reason[0])
        ),
        "examples": report.get("examples") or [],
        "personal_data": personal if isinstance(personal, list) else [],
        "flagged": report.get("flagged") or 0,
        "scored_down": report.get("scored_down") or 0,
        "distribution": distribution,
        "buckets": [
            {**bucket, "width": round(100 * bucket["rows"] / widest) if widest else 0}
            for bucket in buckets
        ],
        "running": "shards" in report and "reasons" not in report,
    }


@admin.register(Contribution)
class ContributionAdmin(ModerationAdmin):
    list_display = (
        "id",
        "original_name",
        "dataset",
        "contributor_shown",
        "status",
        "rows_accepted",
        "rows_rejected",
        "quality",
        "flagged_rows",
        "created_at",
    )
    list_display_links = ("id", "original_name")
    list_filter = (
        "status",
        DatasetInputFilter,
        UserInputFilter.on("contributor", "contributor_id"),
        ContributionFlaggedFilter,
        "file_format",
    )
    search_fields = ("original_name", "=sha256", "=contributor__address", "dataset__slug")
    list_select_related = ("dataset", "contributor")
    show_facets = admin.ShowFacets.NEVER
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "original_name",
                    "dataset",
                    "contributor_shown",
                    "status",
                    "file_format",
                    "size_bytes",
                    "sha256",
                    "file",
                )
            },
        ),
        (
            "Validation",
            {
                "fields": (
                    "rows_total",
                    "rows_accepted",
                    "rows_rejected",
                    "quality_score",
                    "validated_at",
                    "progress",
                    "validation_report",
                )
            },
        ),
        (
            "Run",
            {
                "classes": ("collapse",),
                "fields": ("validation_claim", "heartbeat_at", "created_at", "updated_at"),
            },
        ),
    )
    readonly_fields = (
        *(f.name for f in Contribution._meta.fields if f.name != "report"),
        "contributor_shown",
        "validation_report",
    )
    actions = ("approve", "reject", "revalidate")

    @admin.display(description="contributor", ordering="contributor__display_name")
    def contributor_shown(self, obj: Contribution) -> str:
        return person(obj.contributor)

    @admin.display(description="quality", ordering="quality_score")
    def quality(self, obj: Contribution) -> str:
        return "—" if obj.quality_score is None else f"{obj.quality_score:.2f}"

    @admin.display(description="flagged rows")
    def flagged_rows(self, obj: Contribution) -> int:
        return int(obj.report.get("flagged") or 0)

    @admin.display(description="validation report")
    def validation_report(self, obj: Contribution) -> str:
        return render_to_string(
            "admin/datasets_app/contribution/report.html", report_context(obj.report or {})
        )

    approve = service_action("Approve (needs a reason)", contribution_approve, "contribution")
    reject = service_action(
        "Reject and hide its items (needs a reason)", contribution_reject, "contribution"
    )
    revalidate = service_action(
        "Re-validate (needs a reason)", contribution_revalidate, "contribution"
    )
