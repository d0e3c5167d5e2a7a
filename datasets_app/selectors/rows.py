"""The row viewer's reads: a dataset's rows a page at a time, filtered and searched, with what
each person may see (DESIGN.md: buyers look before they pay, like the Hugging Face viewer).

* Pages are keyset pages on the item id (``id > after ORDER BY id LIMIT n + 1``) over the
  index ``item_viewer_idx`` (dataset_id, id) (migration 0009): page 1 and page
  100 000 cost the same. The cursor is opaque (base64 of ``{"after": id}`` or ``{"before": id}``).
* No COUNT(*) over the items: the count is the dataset's ``items_count`` counter when nothing is
  filtered, an exact count within the preview (at most 1000 rows), and otherwise unknown.
* Search is PostgreSQL full text over the row's string values, ``to_tsvector('simple', data)``
  (no stemming, no stop words: any language matches word for word), served by the GIN index
  ``item_search_idx``; the query is ``websearch_to_tsquery`` ("quoted phrases", or, -not).
* Who sees what: owner, staff and holders of an active license see every shown row; anyone else
  sees the preview the owner set (``Dataset.preview_rows``: the first N shown rows, 0 for none),
  and their search and filters apply within it. Hidden and gold items never appear.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from django.contrib.postgres.search import SearchConfig, SearchQuery, SearchVectorField
from django.core.cache import cache
from django.db.models import F, Func, QuerySet
from django.http import QueryDict
from PIL import Image

from datasets_app.enums import ANNOTATION_TASKS, LabelTask
from datasets_app.integrations.thumbnails import thumbnail_of
from datasets_app.models import Dataset, DatasetRelease, Item, Label, ReleaseStatus
from datasets_app.models.releases import label_column_name
from datasets_app.panels import holds_license
from datasets_app.quality.consensus import normalise_text
from datasets_app.quality.spans import F1_AGREES
from marketplace.core.exceptions import ApplicationError
from marketplace.core.policy import can_manage_dataset, is_signed_in

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_QUERY_LENGTH = 200
SEARCH_CONFIG = "simple"
CONSENSUS_STATES = {
    "decided": "label decided",
    "pending": "labelled, undecided",
    "none": "no labels yet",
}


class RowQueryError(ApplicationError, code="invalid_parameter"): ...


@dataclass(frozen=True)
class RowFilters:
    q: str = ""
    label: str = ""
    consensus: str = ""
    flagged: bool | None = None

    @property
    def active(self) -> bool:
        return bool(self.q or self.label or self.consensus or self.flagged is not None)

    def as_params(self) -> dict[str, str]:
        """The filters as query parameters, for links to other pages."""
        params = {"q": self.q, "label": self.label, "consensus": self.consensus}
        if self.flagged is not None:
            params["flagged"] = "true" if self.flagged else "false"
        return {key: value for key, value in params.items() if value}


@dataclass(frozen=True)
class Cursor:
    """A keyset position (after or before an item id), or a row offset into a release."""

    after: int | None = None
    before: int | None = None
    offset: int | None = None

    def encode(self) -> str:
        body = {k: v for k, v in vars(self).items() if v is not None}
        return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@dataclass
class RowPage:
    rows: list[Item]
    next: Cursor | None
    previous: Cursor | None
    count: int | None  # None: not known cheaply (filters over the whole dataset)
    full: bool  # False: a preview of the first ``preview_rows`` rows
    preview_rows: int
    total: int  # the dataset's row counter, for "buy a license to see all M"
    agreement: dict[int, tuple[int, int]] = field(default_factory=dict)  # id → (agree, labels)


def cursor_decode(value: str, *, keys: tuple[str, ...] = ("after", "before")) -> Cursor | None:
    """The position a ``page`` parameter names (one of ``keys``); blank is the first page."""
    if not value:
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and len(body) == 1:
        key, position = next(iter(body.items()))
        if key in keys and type(position) is int and 0 <= position < 2**63:
            return Cursor(**{key: position})
    raise RowQueryError("The page cursor is not valid; start again from the first page.",
                        code="invalid_cursor")  # fmt: skip


def page_size_parse(value: str | None) -> int:
    if not value:
        return PAGE_SIZE
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise RowQueryError(f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    return int(value)


def row_filters_parse(*, dataset: Dataset, params: QueryDict | dict[str, str]) -> RowFilters:
    """The viewer's filters from query parameters; anything malformed is a RowQueryError."""
    q = " ".join(str(params.get("q") or "").split())
    if len(q) > MAX_QUERY_LENGTH:
        raise RowQueryError(f"The search is longer than {MAX_QUERY_LENGTH} characters.")
    label = str(params.get("label") or "").strip()
    if label:
        if dataset.label_task != LabelTask.FREE_TEXT and label not in dataset.label_classes:
            raise RowQueryError(f"{label[:60]!r} is not one of this dataset's labels.",
                                code="invalid_label")  # fmt: skip
        if len(label) > MAX_QUERY_LENGTH:
            raise RowQueryError(f"The label is longer than {MAX_QUERY_LENGTH} characters.")
    consensus = str(params.get("consensus") or "")
    if consensus and consensus not in CONSENSUS_STATES:
        raise RowQueryError(f"consensus must be one of {', '.join(CONSENSUS_STATES)}.")
    flagged_text = str(params.get("flagged") or "").lower()
    if flagged_text not in ("", "true", "false"):
        raise RowQueryError("flagged must be true or false.")
    flagged = None if not flagged_text else flagged_text == "true"
    return RowFilters(q=q, label=label, consensus=consensus, flagged=flagged)


def rows_see_all(*, dataset: Dataset, user: Any) -> bool:
    """Owner, staff and holders of an active license see every row; others the preview."""
    if not is_signed_in(user):
        return False
    return can_manage_dataset(user, dataset) or holds_license(user, dataset)


def _shown(dataset: Dataset) -> QuerySet[Item]:
    # The rows the viewer shows: never hidden or gold ones.
    return Item.objects.filter(dataset=dataset, is_hidden=False, is_gold=False)


def _search_vector() -> Func:
    """to_tsvector('simple'::regconfig, data): the expression of item_search_idx (migration
    0009), spelt the same or PostgreSQL cannot use the index."""
    return Func(
        SearchConfig(SEARCH_CONFIG), F("data"), function="to_tsvector",
        output_field=SearchVectorField(),
    )  # fmt: skip


def _filtered(items: QuerySet[Item], filters: RowFilters, task: str = "") -> QuerySet[Item]:
    if filters.q:
        query = SearchQuery(filters.q, config=SEARCH_CONFIG, search_type="websearch")
        items = items.alias(words=_search_vector()).filter(words=query)
    if filters.label and task in ANNOTATION_TASKS:
        # Spans and boxes: a list of objects, one of which has this class (jsonb @> [{...}]).
        items = items.filter(consensus_label__contains=[{"label": filters.label}])
    elif filters.label:
        # jsonb @> matches a single label ("cat") and a multi-label list holding it.
        items = items.filter(consensus_label__contains=filters.label)
    if filters.consensus == "decided":
        items = items.filter(consensus_label__isnull=False)
    elif filters.consensus == "pending":
        items = items.filter(consensus_label__isnull=True, labels_count__gt=0)
    elif filters.consensus == "none":
        items = items.filter(consensus_label__isnull=True, labels_count=0)
    if filters.flagged is True:
        items = items.exclude(flags=[])
    elif filters.flagged is False:
        items = items.filter(flags=[])
    return items


def _preview_last_id(dataset: Dataset) -> int | None:
    """The id of the last row of the preview, None when the dataset has no more shown rows than
    the preview holds (then every row is in it)."""
    return (
        _shown(dataset)
        .order_by("id")
        .values_list("id", flat=True)[dataset.preview_rows - 1 : dataset.preview_rows]
        .first()
    )


def row_page(
    *,
    dataset: Dataset,
    user: Any,
    filters: RowFilters | None = None,
    cursor: Cursor | None = None,
    size: int = PAGE_SIZE,
    full: bool | None = None,
) -> RowPage:
    """One page of the rows ``user`` may see, in id order, with each row's label agreement.
    ``full``: whether they see every row, when the caller already knows (``rows_see_all``)."""
    filters = filters or RowFilters()
    if full is None:
        full = rows_see_all(dataset=dataset, user=user)
    page = RowPage([], None, None, None, full, dataset.preview_rows, dataset.items_count)
    items = _shown(dataset)
    if not full:
        if dataset.preview_rows == 0:
            page.count = 0
            return page
        last = _preview_last_id(dataset)
        if last is not None:
            items = items.filter(id__lte=last)
    items = _filtered(items, filters, str(dataset.label_task))
    if not full:
        page.count = items.count()  # at most preview_rows (1000) rows to count
    elif not filters.active:
        page.count = dataset.items_count
    if cursor is not None and cursor.before is not None:
        rows = list(items.filter(id__lt=cursor.before).order_by("-id")[: size + 1])
        more = len(rows) > size
        page.rows = rows[:size][::-1]
        if page.rows:
            page.next = Cursor(after=page.rows[-1].pk)
            page.previous = Cursor(before=page.rows[0].pk) if more else None
    else:
        if cursor is not None and cursor.after is not None:
            items = items.filter(id__gt=cursor.after)
        rows = list(items.order_by("id")[: size + 1])
        page.rows = rows[:size]
        if len(rows) > size:
            page.next = Cursor(after=page.rows[-1].pk)
        if cursor is not None and page.rows:
            page.previous = Cursor(before=page.rows[0].pk)
    page.agreement = _agreement(page.rows)
    return page


def _agrees(value: Any, decided: Any) -> bool:
    if isinstance(value, str) and isinstance(decided, str):
        return normalise_text(value) == normalise_text(decided)
    if isinstance(value, list) and isinstance(decided, list):
        return {str(v) for v in value} == {str(v) for v in decided}
    return bool(value == decided)


def _agreement(rows: list[Item]) -> dict[int, tuple[int, int]]:
    """For each decided row: (labels agreeing with its consensus label, labels), one query.
    A span or box label agrees when its F1 against the consensus (``Label.score``) is >= 0.5."""
    decided = {row.pk: row.consensus_label for row in rows if row.consensus_label is not None}
    counts = {pk: (0, 0) for pk in decided}
    if not decided:
        return counts
    votes = Label.objects.filter(item_id__in=list(decided), is_rejected=False).values_list(
        "item_id", "value", "score"
    )
    for item_id, value, score in votes:
        agree, total = counts[item_id]
        agrees = score >= F1_AGREES if score is not None else _agrees(value, decided[item_id])
        counts[item_id] = (agree + agrees, total + 1)
    return counts


def consensus_state(item: Item) -> str:
    if item.consensus_label is not None:
        return "decided"
    return "pending" if item.labels_count else "none"


def label_choices(dataset: Dataset) -> list[str]:
    return list(dataset.label_classes) if dataset.label_task != LabelTask.FREE_TEXT else []


# --- A release's rows, read from its Parquet shards ------------------------------------------
# A release is what its shards hold, and the shards are immutable: the viewer reads them rather
# than today's items (which moderators may have hidden, or consensus re-decided, since). Pages
# are row offsets; only the row groups a page overlaps are read, and a page, once read, is kept
# in the cache (key: release id and range). No search or filters here: Parquet has no index.

RELEASE_CACHE_SECONDS = 3600


@dataclass
class ReleaseRowPage:
    rows: list[dict[str, Any]]  # {"number", "data", "label"}
    next: Cursor | None
    previous: Cursor | None
    count: int
    full: bool
    preview_rows: int
    total: int
    offset: int = 0


def release_rows_see_all(*, release: DatasetRelease, user: Any) -> bool:
    if not is_signed_in(user):
        return False
    dataset = release.dataset
    return can_manage_dataset(user, dataset) or holds_license(user, dataset, release)


def release_row_page(
    *, release: DatasetRelease, user: Any, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> ReleaseRowPage:
    """Rows ``offset`` … ``offset + size`` of a ready release (the preview's, for people who
    hold no license covering it)."""
    full = release_rows_see_all(release=release, user=user)
    dataset = release.dataset
    limit = release.rows if full else min(dataset.preview_rows, release.rows)
    offset = cursor.offset if cursor is not None and cursor.offset is not None else 0
    end = min(offset + size, limit)
    page = ReleaseRowPage([], None, None, limit, full, dataset.preview_rows, release.rows, offset)
    if release.status != ReleaseStatus.READY or offset >= end:
        return page
    key = f"release-rows:v1:{release.pk}:{offset}:{end}"
    rows = cache.get(key)
    if rows is None:
        rows = _release_slice(release, offset, end)
        cache.set(key, rows, RELEASE_CACHE_SECONDS)
    page.rows = rows
    if end < limit:
        page.next = Cursor(offset=end)
    if offset > 0:
        page.previous = Cursor(offset=max(0, offset - size))
    return page


def _release_slice(release: DatasetRelease, start: int, end: int) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    dataset = release.dataset
    # The build records its label column ("objects" for boxes); older releases have "label".
    label_name = (release.statistics or {}).get("label_column") or label_column_name(dataset)
    images = {c["name"] for c in dataset.columns if c["dtype"] == "image"}
    rows: list[dict[str, Any]] = []
    first = 0  # the release's row number of the current shard's (then row group's) first row
    shards = sorted((f for f in release.files.all() if f.rows), key=lambda f: f.name)
    for shard in shards:
        rows_in = int(shard.rows or 0)
        if first + rows_in <= start or first >= end:
            first += rows_in
            continue
        with shard.file.open("rb") as stored:
            parquet = pq.ParquetFile(stored)
            for group in range(parquet.metadata.num_row_groups):
                group_rows = parquet.metadata.row_group(group).num_rows
                if first + group_rows > start and first < end:
                    table = parquet.read_row_group(group)
                    lo, hi = max(start, first) - first, min(end, first + group_rows) - first
                    for index, record in enumerate(table.slice(lo, hi - lo).to_pylist()):
                        label = record.pop(label_name, None)
                        data = {
                            name: _release_image(value) if name in images else value
                            for name, value in record.items()
                        }
                        number = first + lo + index + 1
                        rows.append(
                            {"number": number, "data": data, "label": _label(dataset, label)}
                        )
                first += group_rows
                if first >= end:
                    break
        if first >= end:
            break
    return rows


def _label(dataset: Dataset, value: Any) -> Any:
    """A release's stored label (ClassLabel indexes) as the class names people read."""
    classes = dataset.label_classes or []
    if value is None or dataset.label_task == LabelTask.FREE_TEXT:
        return value
    if isinstance(value, dict):
        return _annotations(classes, value)
    if isinstance(value, list):
        return [_class_name(classes, v) for v in value]
    return _class_name(classes, value)


def _class_name(classes: list[str], value: Any) -> Any:
    """A ClassLabel index as its name; anything else (a release built with string labels, an
    index out of range) as stored, never an error on the page."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(classes):
        return classes[value]
    return value


def _annotations(classes: list[str], value: dict[str, Any]) -> list[dict[str, Any]]:
    """A release's spans (``{start, end, label}`` lists) or boxes (``{bbox, category}``) as the
    consensus list the dataset stores: ``[{start, end, label}]`` or ``[{x, y, w, h, label}]``."""
    if "bbox" in value:
        return [
            {**dict(zip("xywh", map(_coordinate, bbox), strict=True)), "label": name}
            for bbox, name in zip(
                value["bbox"] or [], _names(classes, value, "category"), strict=False
            )
        ]
    return [
        {"start": start, "end": end, "label": name}
        for start, end, name in zip(
            value.get("start") or [],
            value.get("end") or [],
            _names(classes, value, "label"),
            strict=False,
        )
    ]


def _names(classes: list[str], value: dict[str, Any], key: str) -> list[Any]:
    return [_class_name(classes, index) for index in value.get(key) or []]


def _coordinate(value: float) -> float | int:
    """A float32 pixel coordinate as written (1.5, not 1.5000000596)."""
    rounded = round(float(value), 3)
    return int(rounded) if rounded.is_integer() else rounded


def _release_image(value: Any) -> dict[str, Any] | None:
    """The HF Image struct as a small inline thumbnail (the release holds the bytes, not a
    stored file the page could link to)."""
    if not isinstance(value, dict) or not value.get("bytes"):
        return None
    try:
        with Image.open(BytesIO(value["bytes"])) as opened:
            width, height = opened.size  # the original's, which box coordinates refer to
            thumbnail = thumbnail_of(opened)
    except (OSError, ValueError):
        return {"file_name": value.get("path") or "", "thumbnail_url": None}
    encoded = base64.b64encode(thumbnail).decode()
    return {
        "file_name": value.get("path") or "",
        "thumbnail_url": f"data:image/webp;base64,{encoded}",
        "width": width,
        "height": height,
    }
