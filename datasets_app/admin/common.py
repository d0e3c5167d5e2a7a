"""What the dataset admin pages share: dataset and flag filters, an item's preview and the item
search (actions that run a service with a reason are ``marketplace.core.admin_actions``, the
read-only admin ``marketplace.core.admin_readonly``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from django.contrib.postgres.search import SearchConfig, SearchQuery, SearchVectorField
from django.core.files.storage import default_storage
from django.db.models import F, Func, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from datasets_app.models import Dataset
from marketplace.core.admin_actions import ModerationAdmin
from marketplace.core.admin_lists import BigTableAdmin, InputFilter

PREVIEW_CHARS = 140  # of an item's text in a list row


def is_id(text: str) -> bool:
    """Digits that fit a bigint primary key (more would be an error from PostgreSQL)."""
    return text.isdigit() and len(text) <= 18


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def item_preview(data: Mapping[str, Any], *, large: bool = False) -> SafeString:
    """An item's content as staff read it: image columns as thumbnails (the stored thumbnail in
    lists, the image itself on the item's page), the other columns as text ("column: value"
    when there are several), cut to ``PREVIEW_CHARS`` in lists."""
    images: list[tuple[str, str]] = []
    texts: list[str] = []
    for column, value in data.items():
        if isinstance(value, dict) and value.get("path"):
            name = value["path"] if large else value.get("thumbnail") or value["path"]
            label = value.get("file_name") or value["path"].rsplit("/", 1)[-1]
            images.append((default_storage.url(name), f"{column}: {label}"))
        elif value is not None and value != "":
            texts.append(text_of(value) if len(data) == 1 else f"{column}: {text_of(value)}")
    text = " · ".join(texts)
    if not large and len(text) > PREVIEW_CHARS:  # a slice: Truncator walks every character
        text = text[: PREVIEW_CHARS - 1].rstrip() + "…"
    pictures = format_html_join(
        "", '<img src="{}" alt="{}" title="{}" loading="lazy">', ((u, a, a) for u, a in images)
    )
    return format_html(
        '<div class="content-preview{}">{}<span class="content-preview__text">{}</span></div>',
        " content-preview--large" if large else "",
        pictures,
        text,
    )


class DatasetInputFilter(InputFilter):
    """A dataset by slug or id, with the biggest datasets offered as the user types."""

    title = "dataset"
    field_path = "dataset_id"
    placeholder = "slug or id"
    help_text = "A dataset's slug or id."
    SUGGESTIONS = 100

    @cached_property
    def selected(self) -> Dataset | None:
        text = (self.value() or "").strip()
        match = Q(pk=int(text)) if is_id(text) else Q(slug=text)
        return Dataset.objects.filter(match).first() if text else None

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        dataset = self.selected
        return queryset.filter(**{self.field_path: dataset.pk}) if dataset else queryset.none()

    def suggestions(self) -> list[tuple[str, str]]:
        biggest = Dataset.objects.order_by("-items_count").values_list("slug", "title")
        return list(biggest[: self.SUGGESTIONS])

    def describe(self) -> str:
        dataset = self.selected
        if dataset is None:
            return f"No dataset matches “{self.value()}”." if self.value() else ""
        return f"{dataset.title} ({dataset.items_count:,} items)"


def flagged_choices(flags: str) -> dict[str, tuple[str, Q]]:
    """A ChoicesFilter's choices on whether the ``flags`` list (a lookup path) is empty."""
    return {"yes": ("Flagged", ~Q(**{flags: []})), "no": ("Not flagged", Q(**{flags: []}))}


def label_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(text_of(v) for v in value)
    return text_of(value)


# Words are matched with PostgreSQL full text over the row, spelled exactly as the row viewer's
# GIN index item_search_idx (to_tsvector('simple', data), over rows neither hidden nor gold),
# so the index serves this search too; a LIKE over the JSON text reads every row.
SEARCH_CONFIG = "simple"
WORD_PROBE = 1000  # matches under which a word search lists the matching keys themselves
SEARCH_HELP = (
    "An item id, a content hash (64 hex digits), or words in the row (visible items; "
    "find hidden ones with the status filter)."
)


def is_word_search(term: str) -> bool:
    term = term.strip()
    return bool(term) and not is_id(term) and not is_hash(term)


def is_hash(term: str) -> bool:
    return len(term) == 64 and all(c in "0123456789abcdef" for c in term.lower())


def search_items(queryset: QuerySet[Any], term: str, path: str = "") -> QuerySet[Any]:
    """A number is an item id, 64 hex digits a content hash, anything else words in the row."""
    term = term.strip()
    if is_id(term):
        return queryset.filter(**{f"{path}pk": int(term)})
    if is_hash(term):
        # One probe of the unique (dataset, content_hash) index per dataset, not a full scan.
        return queryset.filter(
            **{
                f"{path}content_hash": term.lower(),
                f"{path}dataset_id__in": Dataset.objects.values("pk"),
            }
        )
    vector = Func(
        SearchConfig(SEARCH_CONFIG),
        F(f"{path}data"),
        function="to_tsvector",
        output_field=SearchVectorField(),
    )
    return queryset.alias(_words=vector).filter(
        **{
            "_words": SearchQuery(term, config=SEARCH_CONFIG, search_type="websearch"),
            f"{path}is_hidden": False,
            f"{path}is_gold": False,
        }
    )


class ItemSearchAdmin(BigTableAdmin, ModerationAdmin):
    """A big table of items, or of rows about one item (``item_path = "item__"``), searched by
    item id, content hash or words in the row (``search_items``). Rows come from the site."""

    item_path = ""
    search_help_text = SEARCH_HELP

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return (f"{self.item_path}data",)  # the row itself: get_search_results reads the term

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if not search_term.strip():
            return queryset, False
        return self.search(queryset, search_term), False

    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return search_items(queryset, term, path=self.item_path)
