"""How a person is shown on pages: ``{% load people %}`` then ``{{ dataset.owner|person }}``.

The profile page promises that a display name is "shown instead of your address on your work":
this filter is the one place that keeps that promise. It renders the display name, or the short
address (``0x1234…abcd``) when there is none, with the full address in the title attribute and
``data-address`` so the wallet can still be told apart from a look-alike name."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter(name="person")
def person(user: Any) -> SafeString | str:
    """``<span class="person">Ada Lovelace</span>``, or the short address in monospace; an
    em dash for no one (a deleted or missing user)."""
    if user is None or not getattr(user, "address", ""):
        return "—"
    if user.display_name:
        return format_html(
            '<span class="person" title="{}" data-address="{}">{}</span>',
            user.address,
            user.address,
            user.display_name,
        )
    return format_html(
        '<span class="person person--address mono" title="{}" data-address="{}">{}</span>',
        user.address,
        user.address,
        user.short_address,
    )
