"""Moderation in Django admin. Actions take a reason (the field beside the action menu) and go
through the moderation services, which write the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

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
from marketplace.core.admin_actions import ModerationAdmin, ServiceChangeAdmin, run_with_reason
from marketplace.core.exceptions import ApplicationError

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


@admin.register(Contribution)
class ContributionAdmin(ModerationAdmin):
    list_display = (
        "id",
        "original_name",
        "dataset",
        "contributor",
        "status",
        "rows_accepted",
        "rows_rejected",
        "created_at",
    )
    list_filter = ("status", "file_format")
    search_fields = ("original_name", "sha256", "contributor__address", "dataset__slug")
    list_select_related = ("dataset", "contributor")
    readonly_fields = tuple(f.name for f in Contribution._meta.fields)
    actions = ("approve", "reject", "revalidate")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

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


@admin.register(Item)
class ItemAdmin(ModerationAdmin):
    list_display = (
        "id",
        "dataset",
        "contribution",
        "labels_count",
        "slots_open",
        "is_gold",
        "is_hidden",
        "created_at",
    )
    list_filter = ("is_gold", "is_hidden")
    search_fields = ("content_hash",)
    list_select_related = ("dataset", "contribution")
    raw_id_fields = ("dataset", "contribution")
    readonly_fields = tuple(f.name for f in Item._meta.fields)
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page
    actions = ("hide", "unhide")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

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


@admin.register(Label)
class LabelAdmin(ModerationAdmin):
    list_display = (
        "id",
        "item",
        "labeler",
        "value",
        "is_gold_check",
        "gold_correct",
        "is_rejected",
        "created_at",
    )
    list_filter = ("is_rejected", "is_gold_check", "gold_correct")
    search_fields = ("labeler__address",)
    list_select_related = ("labeler", "item")
    raw_id_fields = ("item", "labeler", "dataset")
    readonly_fields = tuple(f.name for f in Label._meta.fields)
    show_full_result_count = False
    actions = ("reject",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

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
    search_fields = ("user__address",)
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
