"""Filters for the quality card and release pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter(name="percent")
def percent(value: float | None) -> str:
    """A share (0..1) as a percentage that never rounds a few rows away: 0.0004 is "<0.1%"."""
    if value is None or value == "":  # a figure the release does not have (an older one)
        return "—"
    share = float(value)
    if 0 < share < 0.001:
        return "<0.1%"
    if 0.999 < share < 1:
        return ">99.9%"
    return f"{share:.1%}".replace(".0%", "%")
