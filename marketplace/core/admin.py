from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from marketplace.core.models import AuditLog, User


def person(user: User | None) -> SafeString | str:
    """A person in admin lists: display name (or short address, as ``User.__str__``), with the
    short address beside a display name, since names are chosen freely and may repeat."""
    if user is None:
        return "—"
    if not user.display_name:
        return format_html('<span class="person" title="{}">{}</span>', user.address, user)
    return format_html(
        '<span class="person" title="{}">{} <span class="person__address">{}</span></span>',
        user.address,
        user.display_name,
        user.short_address,
    )


class UserForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"


class UserCreateForm(forms.ModelForm[User]):
    """Staff add a wallet user by address; a password is set afterwards only for break-glass."""

    class Meta:
        model = User
        fields = ("address", "display_name", "email")

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserForm
    ordering = ("-date_joined",)
    list_display = ("address", "display_name", "email", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("address", "display_name", "email")
    readonly_fields = ("date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("address", "password")}),
        ("Profile", {"fields": ("display_name", "email")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_form = UserCreateForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("address", "display_name", "email")}),
    )


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin[AuditLog]):
    """Read-only: the audit log is append-only, even for superusers."""

    list_display = ("created_at", "action", "actor_shown", "target_type", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("action", "target_id", "actor__address")
    list_select_related = ("actor",)
    readonly_fields: ClassVar = [
        "created_at",
        "action",
        "actor",
        "target_type",
        "target_id",
        "data",
    ]

    @admin.display(description="actor")
    def actor_shown(self, obj: AuditLog) -> SafeString | str:
        return person(obj.actor) if obj.actor else "system"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
