"""Dataset cards are Markdown written by their owners: render it without raw HTML and with
markdown-it's link validation (no javascript: or data: URLs), so a card cannot inject script."""

from functools import lru_cache

from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()


@lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


@register.filter(name="markdown")
def render_markdown(text: str | None) -> SafeString:
    return mark_safe(_renderer().render(text or ""))  # noqa: S308 - raw HTML is disabled above
