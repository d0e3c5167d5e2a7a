"""Rows that services or a worker write (money rows, computed results): staff look in admin,
nobody adds, changes or deletes there."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdmin:
    """Put first in a ModelAdmin's or an inline's bases: staff look, nobody adds, changes or
    deletes."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
