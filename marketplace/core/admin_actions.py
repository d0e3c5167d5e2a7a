"""Admin actions that need a reason: the field beside the action menu. Each action calls a
service, which checks permissions and writes the audit log; an ApplicationError becomes a
message and stops the batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

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


def run_service(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    service: Callable[..., Any],
    keyword: str,
    **arguments: Any,
) -> None:
    """An action: ``service(<keyword>=row, actor=..., reason=..., **arguments)`` on each selected
    row, with the reason typed beside the action menu (``run_with_reason``)."""
    run_with_reason(
        modeladmin,
        request,
        queryset,
        lambda row, actor, reason: service(
            **{keyword: row}, actor=actor, reason=reason, **arguments
        ),
    )


def service_action(
    description: str, service: Callable[..., Any], keyword: str, **arguments: Any
) -> Callable[[admin.ModelAdmin[Any], HttpRequest, QuerySet[Any]], None]:
    """An admin action that runs ``service`` on each selected row (``run_service``), declared in
    a ModelAdmin's body and named in its ``actions``::

        hide = service_action("Hide (needs a reason)", item_set_hidden, "item", hidden=True)
    """

    @admin.action(description=description)
    def action(
        modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
    ) -> None:
        run_service(modeladmin, request, queryset, service, keyword, **arguments)

    return action


class ModerationAdmin(admin.ModelAdmin[Any]):
    """Rows that come from the site (people, services, the chain): staff moderate them with
    actions that take a reason and are audited; nobody adds one here (unless ``can_add``) or
    deletes one."""

    action_form = ReasonActionForm
    can_add = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.can_add and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReasonChangeForm(forms.ModelForm):  # type: ignore[type-arg]
    """A change form with a reason: any change needs one, and it goes to the audit log."""

    reason = forms.CharField(
        required=False,
        label="Reason for this change",
        help_text="Required for any change; written to the audit log.",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        reason = str(cleaned.get("reason") or "").strip()
        if not self.instance._state.adding and self.changes() and not reason:
            self.add_error("reason", "Give a reason: it goes to the audit log.")
        return cleaned

    def changes(self) -> dict[str, Any]:
        """The model fields this submission changes, with their new values."""
        return {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if name != "reason" and name in self.cleaned_data
        }


class ServiceChangeAdmin(ModerationAdmin):
    """A change form whose ``save_model`` hands the changes to a service (``apply_changes``)
    instead of saving the row. A refusal from the service rolls the whole request back (the admin
    view runs in one transaction) and comes back as a message on the same page."""

    form = ReasonChangeForm

    def apply_changes(self, obj: Any, *, actor: Any, reason: str, **changes: Any) -> None:
        """Call the service that changes ``obj``, audited with ``actor`` and ``reason``."""
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        changes = form.changes()
        if changes:
            self.apply_changes(
                obj, actor=request.user, reason=form.cleaned_data["reason"], **changes
            )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())
