"""Moderation in Django admin. Actions take a reason (the field beside the action menu) and go
through the moderation services, which write the audit log."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.postgres.search import SearchConfig, SearchQuery, SearchVectorField
from django.core.files.storage import default_storage
from django.db.models import F, Func, Q, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from datasets_app.enums import DatasetStatus
from datasets_app.models import (
    Contribution,
    Dataset,
    DatasetRelease,
    Item,
    Label,
    LabelerCredibility,
    ReleaseFile,
)
from datasets_app.services import dataset_moderate, dataset_update
from datasets_app.services.datasets import EDITABLE_FIELDS, FROZEN_ONCE_ITEMS_EXIST
from datasets_app.services.moderation import (
    contribution_approve,
    contribution_reject,
    contribution_revalidate,
    dataset_consensus_refresh_queue,
    item_set_hidden,
    label_reject,
)
from marketplace.core.admin import person
from marketplace.core.admin_actions import ModerationAdmin, ServiceChangeAdmin, run_with_reason
from marketplace.core.admin_lists import (
    BigTableAdmin,
    ChoicesFilter,
    InputFilter,
    UserInputFilter,
)
from marketplace.core.exceptions import ApplicationError

PREVIEW_CHARS = 140  # of an item's text in a list row


def _is_id(text: str) -> bool:
    """Digits that fit a bigint primary key (more would be an error from PostgreSQL)."""
    return text.isdigit() and len(text) <= 18


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def item_preview(data: Mapping[str, Any], *, large: bool = False) -> SafeString:
    """An item's content as staff read it: image columns as thumbnails (the stored thumbnail in
    lists, the image itself on the item's page), the other columns as text ("column: value"
    when there are several), cut to ``PREVIEW_CHARS`` in lists."""
    images: list[tuple[str, str]] = []
    texts: list[str] = []
    for column, value in data.items():
        if isinstance(value, dict) and value.get("path"):
            name = value["path"] if large else value.get("thumbnail") or value["path"]
            label = value.get("file_name") or value["path"].rsplit("/", 1)[-1]
            images.append((default_storage.url(name), f"{column}: {label}"))
        elif value is not None and value != "":
            texts.append(_text(value) if len(data) == 1 else f"{column}: {_text(value)}")
    text = " · ".join(texts)
    if not large and len(text) > PREVIEW_CHARS:  # a slice: Truncator walks every character
        text = text[: PREVIEW_CHARS - 1].rstrip() + "…"
    pictures = format_html_join(
        "", '<img src="{}" alt="{}" title="{}" loading="lazy">', ((u, a, a) for u, a in images)
    )
    return format_html(
        '<div class="content-preview{}">{}<span class="content-preview__text">{}</span></div>',
        " content-preview--large" if large else "",
        pictures,
        text,
    )


class DatasetInputFilter(InputFilter):
    """A dataset by slug or id, with the biggest datasets offered as the user types."""

    title = "dataset"
    parameter_name = "dataset"
    field_path = "dataset_id"
    placeholder = "slug or id"
    help_text = "A dataset's slug or id."
    SUGGESTIONS = 100

    @cached_property
    def selected(self) -> Dataset | None:
        text = (self.value() or "").strip()
        match = Q(pk=int(text)) if _is_id(text) else Q(slug=text)
        return Dataset.objects.filter(match).first() if text else None

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        dataset = self.selected
        return queryset.filter(**{self.field_path: dataset.pk}) if dataset else queryset.none()

    def suggestions(self) -> list[tuple[str, str]]:
        biggest = Dataset.objects.order_by("-items_count").values_list("slug", "title")
        return list(biggest[: self.SUGGESTIONS])

    def describe(self) -> str:
        dataset = self.selected
        if dataset is None:
            return f"No dataset matches “{self.value()}”." if self.value() else ""
        return f"{dataset.title} ({dataset.items_count:,} items)"


class ItemStatusFilter(ChoicesFilter):
    title = "status"
    parameter_name = "status"
    CHOICES: ClassVar[dict[str, tuple[str, Q]]] = {
        "visible": ("Visible", Q(is_hidden=False)),
        "hidden": ("Hidden by moderators", Q(is_hidden=True)),
        # The labeling queue's partial index covers exactly these.
        "open": ("Waiting for labels", Q(slots_open__gt=0, is_gold=False, is_hidden=False)),
        "decided": ("Consensus reached", Q(consensus_at__isnull=False)),
        "gold": ("Gold items", Q(is_gold=True)),
    }


def flagged_choices(flags: str) -> dict[str, tuple[str, Q]]:
    """A ChoicesFilter's choices on whether the ``flags`` list (a lookup path) is empty."""
    return {"yes": ("Flagged", ~Q(**{flags: []})), "no": ("Not flagged", Q(**{flags: []}))}


class FlaggedFilter(ChoicesFilter):
    """Items whose row checks left flags (personal data kept under a "flag" policy)."""

    title = "flagged"
    parameter_name = "flagged"
    CHOICES: ClassVar[dict[str, tuple[str, Q]]] = flagged_choices("flags")


# Status changes with the actions below, which take a reason; the rest of the schema is frozen
# once items exist (the service's rule), and everything else is computed or fixed.
ADMIN_EDITABLE_FIELDS = EDITABLE_FIELDS - {"status"}


@admin.register(Dataset)
class DatasetAdmin(ServiceChangeAdmin):
    """Edits go through ``dataset_update`` with a reason (so its rules and side effects apply,
    and the audit log says why); hide, open and close are actions with a reason."""

    list_display = (
        "title",
        "slug",
        "owner",
        "status",
        "modality",
        "label_task",
        "items_count",
        "labels_count",
        "created_at",
    )
    list_filter = ("status", "modality", "label_task", "accepting_contributions")
    search_fields = ("title", "slug", "owner__address")
    list_select_related = ("owner",)
    exclude = ("search_vector",)
    actions = ("hide", "reopen", "close", "refresh_consensus")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # owners create datasets on the site or through the API

    def get_readonly_fields(self, request: HttpRequest, obj: Dataset | None = None) -> Any:
        locked = {
            field.name
            for field in Dataset._meta.fields
            if field.name not in ADMIN_EDITABLE_FIELDS and field.name not in ("id", "search_vector")
        }
        if obj is not None and obj.items_count > 0:
            locked |= FROZEN_ONCE_ITEMS_EXIST
        return [field.name for field in Dataset._meta.fields if field.name in locked]

    def save_model(self, request: HttpRequest, obj: Dataset, form: Any, change: bool) -> None:
        changes = form.changes()
        if changes:
            dataset_update(
                dataset=obj,
                actor=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
                **changes,
            )

    @admin.action(description="Recompute consensus (Dawid-Skene) in the background")
    def refresh_consensus(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        reason = request.POST.get("reason", "")
        for dataset in queryset:
            try:
                dataset_consensus_refresh_queue(
                    dataset=dataset,
                    actor=request.user,  # type: ignore[arg-type]
                    reason=reason,
                )
            except ApplicationError as exc:
                self.message_user(request, f"{dataset}: {exc.detail}", messages.ERROR)
                return
            self.message_user(request, f"{dataset}: consensus recomputation queued.")

    def _moderate(self, request: HttpRequest, queryset: QuerySet[Dataset], status: str) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda d, actor, reason: dataset_moderate(
                dataset=d, actor=actor, status=status, reason=reason
            ),
        )

    @admin.action(description="Hide (needs a reason)")
    def hide(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        self._moderate(request, queryset, DatasetStatus.HIDDEN)

    @admin.action(description="Open (needs a reason)")
    def reopen(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        self._moderate(request, queryset, DatasetStatus.OPEN)

    @admin.action(description="Close (needs a reason)")
    def close(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        self._moderate(request, queryset, DatasetStatus.CLOSED)


class ContributionFlaggedFilter(ChoicesFilter):
    title = "flagged"
    parameter_name = "flagged"
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

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

    @admin.action(description="Approve (needs a reason)")
    def approve(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda c, actor, reason: contribution_approve(
                contribution=c, actor=actor, reason=reason
            ),
        )

    @admin.action(description="Reject and hide its items (needs a reason)")
    def reject(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda c, actor, reason: contribution_reject(
                contribution=c, actor=actor, reason=reason
            ),
        )

    @admin.action(description="Re-validate (needs a reason)")
    def revalidate(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda c, actor, reason: contribution_revalidate(
                contribution=c, actor=actor, reason=reason
            ),
        )


# Words are matched with PostgreSQL full text over the row, spelled exactly as the row viewer's
# GIN index item_search_idx (to_tsvector('simple', data), over rows neither hidden nor gold),
# so the index serves this search too; a LIKE over the JSON text reads every row.
SEARCH_CONFIG = "simple"
WORD_PROBE = 1000  # matches under which a word search lists the matching keys themselves
SEARCH_HELP = (
    "An item id, a content hash (64 hex digits), or words in the row (visible items; "
    "find hidden ones with the status filter)."
)


def _is_word_search(term: str) -> bool:
    term = term.strip()
    return bool(term) and not _is_id(term) and not _is_hash(term)


def _is_hash(term: str) -> bool:
    return len(term) == 64 and all(c in "0123456789abcdef" for c in term.lower())


def _search_items(queryset: QuerySet[Any], term: str, path: str = "") -> QuerySet[Any]:
    """A number is an item id, 64 hex digits a content hash, anything else words in the row."""
    term = term.strip()
    if _is_id(term):
        return queryset.filter(**{f"{path}pk": int(term)})
    if _is_hash(term):
        # One probe of the unique (dataset, content_hash) index per dataset, not a full scan.
        return queryset.filter(
            **{
                f"{path}content_hash": term.lower(),
                f"{path}dataset_id__in": Dataset.objects.values("pk"),
            }
        )
    vector = Func(
        SearchConfig(SEARCH_CONFIG),
        F(f"{path}data"),
        function="to_tsvector",
        output_field=SearchVectorField(),
    )
    return queryset.alias(_words=vector).filter(
        **{
            "_words": SearchQuery(term, config=SEARCH_CONFIG, search_type="websearch"),
            f"{path}is_hidden": False,
            f"{path}is_gold": False,
        }
    )


@admin.register(Item)
class ItemAdmin(BigTableAdmin, ModerationAdmin):
    """Up to millions of rows: filters take typed input, the count is estimated, and each row
    joins its dataset and contributor in the same query."""

    list_display = (
        "id",
        "content",
        "state",
        "flag_list",
        "dataset",
        "contributor",
        "labels",
        "consensus",
        "created_at",
    )
    list_filter = (
        ItemStatusFilter,
        FlaggedFilter,
        DatasetInputFilter,
        UserInputFilter.on("contributor", "contribution__contributor_id"),
    )
    search_fields = ("data",)  # see get_search_results
    search_help_text = SEARCH_HELP
    list_select_related = ("dataset", "contribution__contributor")
    fields = (
        "content_large",
        "dataset",
        "contribution",
        "contributor",
        "row_number",
        "content_hash",
        "quality_score",
        "flag_list",
        "is_gold",
        "gold_label",
        "is_hidden",
        "labels_count",
        "slots_open",
        "consensus_label",
        "consensus_confidence",
        "consensus_at",
        "created_at",
    )
    readonly_fields = fields
    actions = ("hide", "unhide")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if not search_term.strip():
            return queryset, False
        matching = _search_items(queryset, search_term)
        if not _is_word_search(search_term):
            return matching, False
        # PostgreSQL guesses that any word is in 0.5 % of rows, so for "newest first" it reads
        # the table backwards until enough rows match: quick for a common word, every row for a
        # rare one. So first ask the full-text index (no order: it answers from its own
        # entries) for up to WORD_PROBE keys; fewer means a rare word, listed by those keys.
        keys = list(matching.order_by().values_list("pk", flat=True)[:WORD_PROBE])
        if len(keys) < WORD_PROBE:
            return queryset.filter(pk__in=keys), False
        return matching, False

    @admin.display(description="content")
    def content(self, obj: Item) -> SafeString:
        return item_preview(obj.data)

    @admin.display(description="content")
    def content_large(self, obj: Item) -> SafeString:
        return item_preview(obj.data, large=True)

    @admin.display(description="contributor")
    def contributor(self, obj: Item) -> str:
        return person(obj.contribution.contributor) if obj.contribution else "—"

    @admin.display(description="labels")
    def labels(self, obj: Item) -> int:
        return obj.labels_count

    @admin.display(description="consensus")
    def consensus(self, obj: Item) -> str:
        if obj.consensus_label is None:
            return "—"
        confidence = obj.consensus_confidence
        shown = label_value(obj.consensus_label)
        return f"{shown} ({confidence:.0%})" if confidence is not None else shown

    @admin.display(description="status")
    def state(self, obj: Item) -> str:
        return ", ".join(
            name for name, on in (("hidden", obj.is_hidden), ("gold", obj.is_gold)) if on
        )

    @admin.display(description="flags")
    def flag_list(self, obj: Item) -> str:
        if not obj.flags:
            return ""
        return format_html('<span class="flag-list">{}</span>', ", ".join(obj.flags))

    @admin.action(description="Hide (needs a reason)")
    def hide(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda i, actor, reason: item_set_hidden(
                item=i, actor=actor, hidden=True, reason=reason
            ),
        )

    @admin.action(description="Show again (needs a reason)")
    def unhide(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda i, actor, reason: item_set_hidden(
                item=i, actor=actor, hidden=False, reason=reason
            ),
        )


def label_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return _text(value)


class LabelStatusFilter(ChoicesFilter):
    title = "status"
    parameter_name = "status"
    CHOICES: ClassVar[dict[str, tuple[str, Q]]] = {
        "kept": ("Kept", Q(is_rejected=False)),
        "rejected": ("Rejected by moderators", Q(is_rejected=True)),
        "gold_wrong": ("Wrong on a gold item", Q(is_gold_check=True, gold_correct=False)),
    }


class LabelFlaggedFilter(ChoicesFilter):
    """Labels on flagged items."""

    title = "flagged item"
    parameter_name = "flagged"
    CHOICES: ClassVar[dict[str, tuple[str, Q]]] = flagged_choices("item__flags")


@admin.register(Label)
class LabelAdmin(BigTableAdmin, ModerationAdmin):
    list_display = (
        "id",
        "item_content",
        "dataset",
        "labeler_shown",
        "value_shown",
        "is_gold_check",
        "gold_correct",
        "is_rejected",
        "created_at",
    )
    list_filter = (
        LabelStatusFilter,
        LabelFlaggedFilter,
        DatasetInputFilter,
        UserInputFilter.on("labeler", "labeler_id"),
    )
    search_fields = ("item__data",)  # see get_search_results
    search_help_text = SEARCH_HELP
    list_select_related = ("labeler", "item", "dataset")
    fields = (
        "item_content_large",
        "item",
        "dataset",
        "labeler_shown",
        "value_shown",
        "is_gold_check",
        "gold_correct",
        "is_rejected",
        "created_at",
    )
    readonly_fields = fields
    actions = ("reject",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if not search_term.strip():
            return queryset, False
        return _search_items(queryset, search_term, path="item__"), False

    @admin.display(description="item")
    def item_content(self, obj: Label) -> SafeString:
        return item_preview(obj.item.data)

    @admin.display(description="item content")
    def item_content_large(self, obj: Label) -> SafeString:
        return item_preview(obj.item.data, large=True)

    @admin.display(description="labeler")
    def labeler_shown(self, obj: Label) -> str:
        return person(obj.labeler)

    @admin.display(description="label")
    def value_shown(self, obj: Label) -> str:
        return label_value(obj.value)

    @admin.action(description="Reject (needs a reason)")
    def reject(self, request: HttpRequest, queryset: QuerySet[Label]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda lb, actor, reason: label_reject(label=lb, actor=actor, reason=reason),
        )


@admin.register(LabelerCredibility)
class LabelerCredibilityAdmin(admin.ModelAdmin[LabelerCredibility]):
    """Read-only: credibility is computed from gold answers and agreement with consensus."""

    list_display = (
        "user",
        "credibility",
        "gold_correct",
        "gold_total",
        "agreed",
        "compared",
        "updated_at",
    )
    search_fields = ("=user__address", "user__display_name")
    list_select_related = ("user",)
    ordering = ("credibility",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReleaseFileInline(admin.TabularInline[ReleaseFile, DatasetRelease]):
    model = ReleaseFile
    fields = ("name", "rows", "size_bytes", "sha256", "file")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DatasetRelease)
class DatasetReleaseAdmin(admin.ModelAdmin[DatasetRelease]):
    """Read-only: releases are built by a worker and immutable once ready (a database trigger
    refuses changes); a new version is published from the dataset page or the API."""

    list_display = (
        "__str__",
        "status",
        "progress",
        "rows",
        "labelled_rows",
        "size_bytes",
        "created_by",
        "created_at",
        "ready_at",
    )
    list_filter = ("status",)
    search_fields = ("dataset__title", "dataset__slug", "content_hash")
    list_select_related = ("dataset", "created_by")
    readonly_fields = (
        "dataset",
        "number",
        "status",
        "progress",
        "error",
        "notes",
        "created_by",
        "rows",
        "labelled_rows",
        "size_bytes",
        "content_hash",
        "features",
        "quality",
        "card",
        "created_at",
        "ready_at",
    )
    inlines = (ReleaseFileInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
