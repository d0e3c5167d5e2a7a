from __future__ import annotations

import socket
from typing import Any

from django.db import connection
from django.utils import timezone


def health_report() -> dict[str, Any]:
    """What a worker (or a health endpoint) can see of its own surroundings."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        database_ok = cursor.fetchone() == (1,)
    return {
        "host": socket.gethostname(),
        "database": connection.vendor if database_ok else "down",
        "checked_at": timezone.now().isoformat(),
    }


def user_roles(user: Any) -> list[str]:
    """The roles a person holds, for display. Everyone signed in can contribute and label;
    sponsor and buyer follow from owning a dataset and holding a license once those exist."""
    roles = ["contributor"]
    for role, relation in (("sponsor", "datasets_owned"), ("buyer", "licenses")):
        manager = getattr(user, relation, None)
        if manager is not None and manager.exists():
            roles.append(role)
    if user.is_staff:
        roles.append("staff")
    return roles
