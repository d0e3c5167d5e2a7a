"""Byte counts for people. A refusal that compares a size with its limit must never read
"2.0 GB; the limit is 2.0 GB": sizes shown together get as many digits as it takes to tell them
apart, and exact bytes when a few decimals are not enough."""

from __future__ import annotations

UNITS = (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024))
MAX_DECIMALS = 3


def size_human(size: int, *, decimals: int = 1) -> str:
    """``size`` bytes in the largest binary unit it fills (1 KB = 1024 bytes)."""
    for unit, scale in UNITS:
        if size >= scale:
            return f"{size / scale:.{decimals}f} {unit}"
    return "1 byte" if size == 1 else f"{size:,} bytes"


def size_exact(size: int) -> str:
    return "1 byte" if size == 1 else f"{size:,} bytes"


def sizes_human(*sizes: int) -> list[str]:
    """Each size as :func:`size_human` shows it, with more decimals while two different sizes
    would look the same, and in exact bytes if they still would."""
    for decimals in range(1, MAX_DECIMALS + 1):
        shown = [size_human(size, decimals=decimals) for size in sizes]
        if len(set(shown)) == len(set(sizes)):
            return shown
    return [size_exact(size) for size in sizes]
