"""Releases in admin: read-only, built by a worker and immutable once ready."""

from __future__ import annotations

from django.contrib import admin

from datasets_app.models import (
    DatasetRelease,
    ReleaseFile,
)
from marketplace.core.admin_readonly import ReadOnlyAdmin


class ReleaseFileInline(ReadOnlyAdmin, admin.TabularInline[ReleaseFile, DatasetRelease]):
    model = ReleaseFile
    fields = ("name", "rows", "size_bytes", "sha256", "file")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(DatasetRelease)
class DatasetReleaseAdmin(ReadOnlyAdmin, admin.ModelAdmin[DatasetRelease]):
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
