"""Datasets in admin: edits through ``dataset_update``, and moderation actions, with a reason."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from datasets_app.enums import DatasetStatus
from datasets_app.models import (
    Dataset,
)
from datasets_app.services import dataset_moderate, dataset_update
from datasets_app.services.datasets import EDITABLE_FIELDS, FROZEN_ONCE_ITEMS_EXIST
from datasets_app.services.moderation import (
    dataset_consensus_refresh_queue,
)
from marketplace.core.admin_actions import ServiceChangeAdmin, service_action
from marketplace.core.exceptions import ApplicationError

# Status changes with the actions below, which take a reason; the rest of the schema is frozen
# once items exist (the service's rule), and everything else is computed or fixed.
ADMIN_EDITABLE_FIELDS = EDITABLE_FIELDS - {"status"}


@admin.register(Dataset)
class DatasetAdmin(ServiceChangeAdmin):
    """Edits go through ``dataset_update`` with a reason (so its rules and side effects apply,
    and the audit log says why); hide, open and close are actions with a reason. Owners create
    datasets on the site or through the API, never here."""

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

    def get_readonly_fields(self, request: HttpRequest, obj: Dataset | None = None) -> Any:
        locked = {
            field.name
            for field in Dataset._meta.fields
            if field.name not in ADMIN_EDITABLE_FIELDS and field.name not in ("id", "search_vector")
        }
        if obj is not None and obj.items_count > 0:
            locked |= FROZEN_ONCE_ITEMS_EXIST
        return [field.name for field in Dataset._meta.fields if field.name in locked]

    def apply_changes(self, obj: Dataset, **audited_changes: Any) -> None:
        dataset_update(dataset=obj, **audited_changes)

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

    hide = service_action(
        "Hide (needs a reason)", dataset_moderate, "dataset", status=DatasetStatus.HIDDEN
    )
    reopen = service_action(
        "Open (needs a reason)", dataset_moderate, "dataset", status=DatasetStatus.OPEN
    )
    close = service_action(
        "Close (needs a reason)", dataset_moderate, "dataset", status=DatasetStatus.CLOSED
    )
