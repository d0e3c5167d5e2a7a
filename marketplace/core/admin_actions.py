"""Admin actions that need a reason: the field beside the action menu. Each action calls a
service, which checks permissions and writes the audit log; an ApplicationError becomes a
message and stops the batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest

from marketplace.core.exceptions import ApplicationError


class ReasonActionForm(ActionForm):
    reason = forms.CharField(
        required=False, label="Reason", widget=forms.TextInput(attrs={"size": 40})
    )


def run_with_reason(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    action: Callable[..., Any],
    **kwargs: Any,
) -> None:
    reason = request.POST.get("reason", "")
    done = 0
    for obj in queryset:
        try:
            action(obj, actor=request.user, reason=reason, **kwargs)
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
            return
    modeladmin.message_user(request, f"Done for {done} row(s).", messages.SUCCESS)


class ModerationAdmin(admin.ModelAdmin[Any]):
    action_form = ReasonActionForm

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # moderate with actions (audited), never delete
