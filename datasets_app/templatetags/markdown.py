"""Dataset cards are Markdown written by their owners: render it without raw HTML and with
markdown-it's link validation (no javascript: or data: URLs), so a card cannot inject script."""

from functools import lru_cache
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()


def _demote_heading(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    # A card sits under the page's own <h1>: its "# Title" becomes an <h2>, and so on.
    token = tokens[idx]
    token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
    return str(renderer.renderToken(tokens, idx, options, env))


@lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    md.add_render_rule("heading_open", _demote_heading)
    md.add_render_rule("heading_close", _demote_heading)
    return md


@register.filter(name="markdown")
def render_markdown(text: str | None) -> SafeString:
    html = _renderer().render(text or "")
    # Code blocks and tables scroll sideways when wide: focusable, so a keyboard scrolls them too
    # (raw HTML is off, so every "<pre>" or "<table>" here is the renderer's own).
    html = html.replace("<pre>", '<pre tabindex="0">').replace("<table>", '<table tabindex="0">')
    return mark_safe(html)  # noqa: S308 - raw HTML is disabled above
