"""The row viewer on the dataset and release pages (templates/datasets_app/_row_viewer.html).

Without JS the viewer is a GET form and links on the page itself (``?q=…&page=…#viewer``); with
htmx the same form and links ask the fragment views below for just the viewer, which answer
with ``HX-Push-Url`` set to the page's own address, so reloading or sharing the URL works.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from datasets_app.apis.rows import row_output
from datasets_app.enums import ANNOTATION_TASKS
from datasets_app.models import Dataset, DatasetRelease
from datasets_app.selectors import datasets as selectors
from datasets_app.selectors.releases import release_get
from datasets_app.selectors.rows import (
    CONSENSUS_STATES,
    Cursor,
    RowFilters,
    RowQueryError,
    cursor_decode,
    label_choices,
    release_row_page,
    row_filters_parse,
    row_page,
)
from datasets_app.templatetags.label_colours import UNKNOWN_CLASS_COLOUR, class_colours
from marketplace.core.exceptions import NotFoundError

LONG_TEXT = 160  # characters shown before "more"


def _cells(dataset: Dataset, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The row's values in the schema's column order, as the table shows them, each with its
    column's name."""
    cells: list[dict[str, Any]] = []
    for column in dataset.columns:
        name = column["name"]
        value = data.get(name)
        if isinstance(value, dict) and "thumbnail_url" in value:
            cells.append({"kind": "image", **value, "column": name})
        elif value is None:
            cells.append({"column": name, "kind": "empty"})
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            cells.append(
                {
                    "column": name,
                    "kind": "text",
                    "text": text,
                    "long": len(text) > LONG_TEXT,
                    "wide": len(text) > 30,
                }
            )
    return cells


def _class_colours(dataset: Dataset) -> dict[str, str] | None:
    """Spans and boxes: each class's colour (the labeling page's too); None for other tasks."""
    return class_colours(dataset.label_classes) if dataset.label_task in ANNOTATION_TASKS else None


def _legend(colours: dict[str, str] | None) -> list[tuple[str, str]]:
    """The classes and their colours, in order: a list, since a class named "items" would be
    read as the dict's key by the template's ``colours.items``."""
    return list(colours.items()) if colours else []


def _row(
    dataset: Dataset, colours: dict[str, str] | None, row: dict[str, Any], **more: Any
) -> dict[str, Any]:
    """A row as the table shows it: its cells and, for spans and boxes, each consensus span or
    box with its class's colour."""
    label = row["label"]
    if colours is not None and isinstance(label, list):
        label = [
            {**mark, "colour": colours.get(mark.get("label", ""), UNKNOWN_CLASS_COLOUR)}
            if isinstance(mark, dict)
            else mark  # not a span or box (stored before the task changed): shown as it is
            for mark in label
        ]
    return {**row, **more, "cells": _cells(dataset, row["data"]), "label": label}


def _query(params: dict[str, str], cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    query = QueryDict(mutable=True)
    query.update({**params, "page": cursor.encode()})
    return query.urlencode()


def dataset_viewer_context(request: HttpRequest, dataset: Dataset) -> dict[str, Any]:
    error = ""
    try:
        filters = row_filters_parse(dataset=dataset, params=request.GET)
        cursor = cursor_decode(request.GET.get("page", ""))
    except RowQueryError as exc:
        error, filters, cursor = exc.detail, RowFilters(), None
    page = row_page(dataset=dataset, user=request.user, filters=filters, cursor=cursor)
    params = filters.as_params()
    colours = _class_colours(dataset)
    rows = [_row(dataset, colours, row_output(item, page), number=item.pk) for item in page.rows]
    return {
        "viewer": {
            "kind": "dataset",
            "page_url": reverse("datasets:detail", kwargs={"slug": dataset.slug}),
            "fragment_url": reverse("datasets:rows", kwargs={"slug": dataset.slug}),
            # No form over an empty preview: there is nothing to search in.
            "search": page.full or page.preview_rows > 0,
            "filters": filters,
            "flagged": params.get("flagged", ""),
            "labels": label_choices(dataset),
            "free_text_labels": not label_choices(dataset),
            "consensus_states": CONSENSUS_STATES,
            "columns": [column["name"] for column in dataset.columns],
            "legend": _legend(colours),
            "rows": rows,
            "count": page.count,
            "total": page.total,
            "preview": not page.full,
            "preview_rows": page.preview_rows,
            "next_query": _query(params, page.next),
            "previous_query": _query(params, page.previous),
            "first_query": _first(params, cursor),
            "error": error,
        }
    }


def _first(params: dict[str, str], cursor: Cursor | None) -> str | None:
    """The first page's query, when this is not the first page."""
    if cursor is None:
        return None
    query = QueryDict(mutable=True)
    query.update(params)
    return query.urlencode() or "page="


def release_viewer_context(request: HttpRequest, release: DatasetRelease) -> dict[str, Any]:
    dataset = release.dataset
    error = ""
    try:
        cursor = cursor_decode(request.GET.get("page", ""), keys=("offset",))
    except RowQueryError as exc:
        error, cursor = exc.detail, None
    page = release_row_page(release=release, user=request.user, cursor=cursor)
    colours = _class_colours(dataset)
    rows = [
        _row(dataset, colours, row, consensus="" if row["label"] is None else "decided")
        for row in page.rows
    ]
    kwargs = {"slug": dataset.slug, "number": release.number}
    return {
        "viewer": {
            "kind": "release",
            "page_url": reverse("datasets:release", kwargs=kwargs),
            "fragment_url": reverse("datasets:release-rows", kwargs=kwargs),
            "search": False,
            "columns": [column["name"] for column in dataset.columns],
            "legend": _legend(colours),
            "rows": rows,
            "count": page.count,
            "total": page.total,
            "last_number": page.offset + len(rows),
            "preview": not page.full,
            "preview_rows": page.preview_rows,
            "next_query": _query({}, page.next),
            "previous_query": _query({}, page.previous),
            "first_query": _first({}, cursor),
            "release": release,
            "error": error,
        }
    }


def _fragment(request: HttpRequest, page_url: str, context: dict[str, Any]) -> HttpResponse:
    """The viewer alone for htmx; a plain visit goes to the page, which shows it."""
    target = f"{page_url}?{request.GET.urlencode()}" if request.GET else page_url
    if not request.headers.get("HX-Request"):
        return redirect(f"{target}#viewer")
    response = render(request, "datasets_app/_row_viewer.html", context)
    response["HX-Push-Url"] = target
    return response


@require_GET
def dataset_rows(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
    except NotFoundError:
        raise Http404("No such dataset.") from None
    context = {"dataset": dataset, **dataset_viewer_context(request, dataset)}
    return _fragment(request, context["viewer"]["page_url"], context)


@require_GET
def release_rows(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    try:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        release = release_get(dataset=dataset, number=number, user=request.user)
    except NotFoundError:
        raise Http404("No such version.") from None
    context = {"dataset": dataset, **release_viewer_context(request, release)}
    return _fragment(request, context["viewer"]["page_url"], context)
