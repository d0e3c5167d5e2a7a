"""Items, labels and labeler credibility in admin: big tables with typed filters, and hiding
or rejecting with a reason."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.utils.html import format_html
from django.utils.safestring import SafeString

from datasets_app.admin.common import (
    WORD_PROBE,
    DatasetInputFilter,
    ItemSearchAdmin,
    flagged_choices,
    is_word_search,
    item_preview,
    label_value,
)
from datasets_app.models import (
    Item,
    Label,
    LabelerCredibility,
)
from datasets_app.services.moderation import (
    item_set_hidden,
    label_reject,
)
from marketplace.core.admin import person
from marketplace.core.admin_actions import service_action
from marketplace.core.admin_lists import (
    ChoicesFilter,
    UserInputFilter,
)
from marketplace.core.admin_readonly import ReadOnlyAdmin


class ItemStatusFilter(ChoicesFilter):
    title = "status"
    CHOICES: ClassVar[dict[str, tuple[str, Q]]] = {
        "visible": ("Visible", Q(is_hidden=False)),
        "hidden": ("Hidden by moderators", Q(is_hidden=True)),
        # The labeling queue's partial index covers exactly these.
        "open": ("Waiting for labels", Q(slots_open__gt=0, is_gold=False, is_hidden=False)),
        "decided": ("Consensus reached", Q(consensus_at__isnull=False)),
        "gold": ("Gold items", Q(is_gold=True)),
    }


class FlaggedFilter(ChoicesFilter):
    """Items whose row checks left flags (personal data kept under a "flag" policy)."""

    title = "flagged"
    CHOICES: ClassVar[dict[str, tuple[str, Q]]] = flagged_choices("flags")


@admin.register(Item)
class ItemAdmin(ItemSearchAdmin):
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

    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        matching = super().search(queryset, term)
        if not is_word_search(term):
            return matching
        # PostgreSQL guesses that any word is in 0.5 % of rows, so for "newest first" it reads
        # the table backwards until enough rows match: quick for a common word, every row for a
        # rare one. So first ask the full-text index (no order: it answers from its own
        # entries) for up to WORD_PROBE keys; fewer means a rare word, listed by those keys.
        keys = list(matching.order_by().values_list("pk", flat=True)[:WORD_PROBE])
        if len(keys) < WORD_PROBE:
            return queryset.filter(pk__in=keys)
        return matching

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

    hide = service_action("Hide (needs a reason)", item_set_hidden, "item", hidden=True)
    unhide = service_action("Show again (needs a reason)", item_set_hidden, "item", hidden=False)


class LabelStatusFilter(ChoicesFilter):
    title = "status"
    CHOICES: ClassVar[dict[str, tuple[str, Q]]] = {
        "kept": ("Kept", Q(is_rejected=False)),
        "rejected": ("Rejected by moderators", Q(is_rejected=True)),
        "gold_wrong": ("Wrong on a gold item", Q(is_gold_check=True, gold_correct=False)),
    }


class LabelFlaggedFilter(FlaggedFilter):
    """Labels on flagged items."""

    title = "flagged item"
    CHOICES: ClassVar[dict[str, tuple[str, Q]]] = flagged_choices("item__flags")


# What the label list and the label page both show, after the item.
LABEL_COLUMNS = (
    "dataset",
    "labeler_shown",
    "value_shown",
    "is_gold_check",
    "gold_correct",
    "is_rejected",
    "created_at",
)


@admin.register(Label)
class LabelAdmin(ItemSearchAdmin):
    list_display = ("id", "item_content", *LABEL_COLUMNS)
    list_filter = (
        LabelStatusFilter,
        LabelFlaggedFilter,
        DatasetInputFilter,
        UserInputFilter.on("labeler", "labeler_id"),
    )
    item_path = "item__"
    list_select_related = ("labeler", "item", "dataset")
    fields = ("item_content_large", "item", *LABEL_COLUMNS)
    readonly_fields = fields
    actions = ("reject",)

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

    reject = service_action("Reject (needs a reason)", label_reject, "label")


@admin.register(LabelerCredibility)
class LabelerCredibilityAdmin(ReadOnlyAdmin, admin.ModelAdmin[LabelerCredibility]):
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
