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
