"""Submit a Django admin change form the way a browser would: read every field from the page
(hidden, text, select, checkbox, textarea), change some, add any others (a crafted POST), post;
and run a changelist action with its reason."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _FormFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, Any] = {}
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._in_form = True
        if tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        if not self._in_form or "name" not in a:
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.data[name] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            text = self.data[self._textarea] + data
            # Django writes a newline right after <textarea>; browsers drop it.
            self.data[self._textarea] = text.removeprefix("\n")


def change_form_data(client: Any, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    parser = _FormFields()
    parser.feed(response.content.decode())
    parser.data.pop("csrfmiddlewaretoken", None)
    return parser.data


def post_change_form(client: Any, url: str, **changes: Any) -> Any:
    """GET the change form, override fields with ``changes`` (also ones the page does not show,
    as a crafted request would), and POST it with "Save"."""
    data = change_form_data(client, url)
    data.update(changes)
    data["_save"] = "Save"
    return client.post(url, data, follow=True)


def admin_action(
    client: Any, model: str, action: str, pks: list[int], reason: str = "ok", *, app: str
) -> Any:
    """Run ``action`` from ``app``'s ``model`` changelist on the rows ``pks``, with the reason
    the action form asks for, and follow the redirect (bind ``app`` with functools.partial)."""
    return client.post(
        f"/admin/{app}/{model}/",
        {"action": action, "_selected_action": pks, "reason": reason},
        follow=True,
    )
