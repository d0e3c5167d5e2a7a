"""Creating, editing and moderating datasets."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.utils.text import slugify

from datasets_app.enums import ANNOTATION_TASKS, DatasetStatus, LabelTask, Modality, SpanMatch
from datasets_app.exceptions import DatasetError
from datasets_app.integrations.readers.base import SUPPORTED_DTYPES
from datasets_app.models import MAX_LABELS_PER_ITEM, Dataset
from datasets_app.quality.near_duplicates import lsh_layout
from marketplace.core.exceptions import PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.policy import can_manage_dataset, is_staff
from marketplace.core.services import audit_log_record

COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
MAX_COLUMNS = 100
MAX_CLASSES = 200
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "description",
        "card_markdown",
        "guidelines",
        "label_classes",
        "labels_per_item",
        "accepting_contributions",
        "status",
        "columns",
        "modality",
        "label_task",
        "language",
        "pii_policy",
        "near_duplicate_threshold",
        "preview_rows",
        "min_labelled_share",
        "spans_allow_overlap",
        "span_match",
        "span_token_overlap",
    }
)
MAX_PREVIEW_ROWS = 1000  # the row viewer counts within the preview; keep that cheap
# Changing these once rows exist would make the stored items and labels mean something else.
FROZEN_ONCE_ITEMS_EXIST = frozenset({"columns", "modality", "label_task", "label_classes"})


def _clean_columns(columns: Any, modality: str) -> list[dict[str, str]]:
    if not isinstance(columns, list) or not columns:
        raise DatasetError(
            "Define at least one column.", code="invalid_columns", extra={"field": "columns"}
        )
    if len(columns) > MAX_COLUMNS:
        raise DatasetError(
            f"At most {MAX_COLUMNS} columns.", code="invalid_columns", extra={"field": "columns"}
        )
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for column in columns:
        name = str((column or {}).get("name", "")).strip() if isinstance(column, dict) else ""
        dtype = str(column.get("dtype", "")).strip() if isinstance(column, dict) else ""
        if not COLUMN_NAME.match(name):
            raise DatasetError(
                f"Column name {name!r} must start with a letter or _ and use letters, digits "
                "and _ only (at most 63).",
                code="invalid_columns",
                extra={"field": "columns"},
            )
        if name.lower() in seen:
            raise DatasetError(
                f"Column {name!r} appears twice.",
                code="invalid_columns",
                extra={"field": "columns"},
            )
        if dtype not in SUPPORTED_DTYPES:
            raise DatasetError(
                f"Column {name!r}: type {dtype!r} is not one of {', '.join(SUPPORTED_DTYPES)}.",
                code="invalid_columns",
                extra={"field": "columns"},
            )
        seen.add(name.lower())
        cleaned.append({"name": name, "dtype": dtype})
    images = [c for c in cleaned if c["dtype"] == "image"]
    if modality == Modality.IMAGE and len(images) != 1:
        raise DatasetError(
            "An image dataset has exactly one column of type image.",
            code="invalid_columns",
            extra={"field": "columns"},
        )
    if modality != Modality.IMAGE and images:
        raise DatasetError(
            "Only image datasets may have an image column.",
            code="invalid_columns",
            extra={"field": "columns"},
        )
    return cleaned


def _clean_classes(label_task: str, classes: Any) -> list[str]:
    if label_task == LabelTask.FREE_TEXT:
        return []
    if not isinstance(classes, list):
        raise DatasetError(
            "Label classes must be a list.",
            code="invalid_classes",
            extra={"field": "label_classes"},
        )
    cleaned = [str(c).strip() for c in classes if str(c).strip()]
    if label_task in ANNOTATION_TASKS and not cleaned:
        kind = "entity" if label_task == LabelTask.SPANS else "object"
        raise DatasetError(
            f"Name at least one {kind} class (one per line; number keys pick the first nine).",
            code="invalid_classes",
            extra={"field": "label_classes"},
        )
    if label_task not in ANNOTATION_TASKS and len(cleaned) < 2:
        raise DatasetError(
            "A classification task needs at least two classes.",
            code="invalid_classes",
            extra={"field": "label_classes"},
        )
    if len(cleaned) > MAX_CLASSES or any(len(c) > 100 for c in cleaned):
        raise DatasetError(
            f"At most {MAX_CLASSES} classes of at most 100 characters.",
            code="invalid_classes",
            extra={"field": "label_classes"},
        )
    if len({c.lower() for c in cleaned}) != len(cleaned):
        raise DatasetError(
            "Label classes must be distinct.",
            code="invalid_classes",
            extra={"field": "label_classes"},
        )
    return cleaned


def _check_task_fits(label_task: str, modality: str, columns: list[dict[str, str]]) -> None:
    """Spans point into a text column; boxes are drawn on an image."""
    if label_task == LabelTask.SPANS and not any(c["dtype"] == "string" for c in columns):
        raise DatasetError(
            "Text spans need a column of type string (the spans mark its first one).",
            code="invalid_task",
            extra={"field": "label_task"},
        )
    if label_task == LabelTask.BOXES and modality != Modality.IMAGE:
        raise DatasetError(
            "Bounding boxes need an image dataset.",
            code="invalid_task",
            extra={"field": "label_task"},
        )


def _clean_span_settings(out: dict[str, Any]) -> None:
    if "spans_allow_overlap" in out and not isinstance(out["spans_allow_overlap"], bool):
        raise DatasetError(
            "Overlapping spans is true or false.", extra={"field": "spans_allow_overlap"}
        )
    if "span_match" in out and out["span_match"] not in SpanMatch.values:
        raise DatasetError(
            f"Span matching is one of {', '.join(SpanMatch.values)}.",
            extra={"field": "span_match"},
        )
    _clean_share(out, "span_token_overlap", 0.01, "Span token overlap is a share from 0.01 to 1.")


def _clean_share(out: dict[str, Any], field: str, low: float, message: str) -> None:
    """``out[field]``, when given, as a float from ``low`` to 1."""
    if field not in out:
        return
    value = out[field]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= 1:
        raise DatasetError(message, extra={"field": field})
    out[field] = float(value)


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "title" in out:
        out["title"] = str(out["title"]).strip()
        if not out["title"] or len(out["title"]) > 200:
            raise DatasetError("Give the dataset a title (at most 200 characters).")
    if "description" in out:
        out["description"] = str(out["description"]).strip()
        if not out["description"] or len(out["description"]) > 500:
            raise DatasetError(
                "Describe the dataset in a sentence or two (at most 500 characters)."
            )
    if "modality" in out and out["modality"] not in Modality.values:
        raise DatasetError(f"Modality must be one of {', '.join(Modality.values)}.")
    if "label_task" in out and out["label_task"] not in LabelTask.values:
        raise DatasetError(f"Label task must be one of {', '.join(LabelTask.values)}.")
    if "preview_rows" in out and not (
        isinstance(out["preview_rows"], int) and 0 <= out["preview_rows"] <= MAX_PREVIEW_ROWS
    ):
        raise DatasetError(
            f"Preview rows must be a whole number from 0 to {MAX_PREVIEW_ROWS}.",
            extra={"field": "preview_rows"},
        )
    _clean_share(
        out, "min_labelled_share", 0, "The minimum labelled share is a number from 0 to 1."
    )
    if "status" in out and out["status"] not in DatasetStatus.values:
        raise DatasetError(f"Status must be one of {', '.join(DatasetStatus.values)}.")
    if out.get("language"):
        from datasets_app.quality.text import supported_languages

        out["language"] = str(out["language"]).strip().lower()
        if out["language"] not in supported_languages():
            raise DatasetError(
                f"Language {out['language']!r} is not an ISO 639-1 code the detector knows.",
                code="invalid_language",
                extra={"field": "language"},
            )
    if "pii_policy" in out and out["pii_policy"] not in ("reject", "flag"):
        raise DatasetError("Personal data policy is reject or flag.", extra={"field": "pii_policy"})
    if "near_duplicate_threshold" in out:
        threshold = out["near_duplicate_threshold"]
        if not isinstance(threshold, int | float) or not 0.5 <= float(threshold) <= 1.0:
            raise DatasetError(
                "Near-duplicate similarity is between 0.5 and 1.",
                extra={"field": "near_duplicate_threshold"},
            )
    _clean_span_settings(out)
    if "labels_per_item" in out:
        k = out["labels_per_item"]
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_LABELS_PER_ITEM:
            raise DatasetError(f"Labels per item must be between 1 and {MAX_LABELS_PER_ITEM}.")
    return out


def _unique_slug(title: str) -> str:
    base = slugify(title)[:70] or "dataset"
    slug, n = base, 2
    while Dataset.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _refresh_search(dataset: Dataset) -> None:
    Dataset.objects.filter(pk=dataset.pk).update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("description", weight="B", config="english")
        + SearchVector("card_markdown", weight="C", config="english")
    )


@transaction.atomic
def dataset_create(*, owner: User, **fields: Any) -> Dataset:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise DatasetError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    data = _clean(fields)
    for required in ("title", "description", "modality", "columns", "label_task"):
        if required not in data:
            raise DatasetError(f"{required.replace('_', ' ').capitalize()} is required.")
    data["columns"] = _clean_columns(data["columns"], data["modality"])
    data["label_classes"] = _clean_classes(data["label_task"], data.get("label_classes", []))
    _check_task_fits(data["label_task"], data["modality"], data["columns"])
    if data.get("status") == DatasetStatus.HIDDEN:
        raise DatasetError("Only moderators hide datasets.", code="permission_denied")
    dataset = Dataset(owner=owner, slug=_unique_slug(data["title"]), **data)
    # No items, no stored keys yet: they start in the threshold's layout.
    dataset.near_duplicate_bands, dataset.near_duplicate_rows = lsh_layout(
        dataset.near_duplicate_threshold
    )
    dataset.save(force_insert=True)
    _refresh_search(dataset)
    audit_log_record(action="dataset.created", actor=owner, target=dataset)
    return dataset


@transaction.atomic
def dataset_update(*, dataset: Dataset, actor: User, reason: str = "", **fields: Any) -> Dataset:
    """Change a dataset's editable fields (the owner on the site, staff in admin, who give a
    ``reason`` for the audit log). The schema is frozen once items exist."""
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if not can_manage_dataset(actor, dataset):
        raise PermissionDeniedError("Only the dataset's owner can edit it.")
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise DatasetError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    data = _clean(fields)
    changed = {k: v for k, v in data.items() if getattr(dataset, k) != v}
    frozen = FROZEN_ONCE_ITEMS_EXIST & set(changed)
    if frozen and dataset.items_count > 0:
        raise DatasetError(
            f"{', '.join(sorted(frozen))} cannot change once the dataset has items.",
            code="frozen_schema",
        )
    if "columns" in changed or "modality" in changed:
        changed["columns"] = _clean_columns(
            changed.get("columns", dataset.columns), changed.get("modality", dataset.modality)
        )
    if "label_classes" in changed or "label_task" in changed:
        changed["label_classes"] = _clean_classes(
            changed.get("label_task", dataset.label_task),
            changed.get("label_classes", dataset.label_classes),
        )
    if {"label_task", "modality", "columns"} & set(changed):
        _check_task_fits(
            changed.get("label_task", dataset.label_task),
            changed.get("modality", dataset.modality),
            changed.get("columns", dataset.columns),
        )
    hiding = changed.get("status") == DatasetStatus.HIDDEN or (
        dataset.status == DatasetStatus.HIDDEN and "status" in changed
    )
    if hiding and not is_staff(actor):
        raise PermissionDeniedError("Only moderators hide or unhide datasets.")
    for key, value in changed.items():
        setattr(dataset, key, value)
    if changed:
        dataset.save()
        _refresh_search(dataset)
        if lsh_layout(dataset.near_duplicate_threshold) != (
            dataset.near_duplicate_bands,
            dataset.near_duplicate_rows,
        ):
            _enqueue_bands_rebuild(dataset.pk)
        audit_log_record(
            action="dataset.updated",
            actor=actor,
            target=dataset,
            data={"fields": sorted(changed), **({"reason": reason.strip()} if reason else {})},
        )
    return dataset


def _enqueue_bands_rebuild(dataset_id: int) -> None:
    """The stored band keys follow a threshold change in the background (validation would
    otherwise rebuild them inside its next batch, holding the dataset's band lock meanwhile)."""
    from datasets_app.tasks import rebuild_near_duplicate_bands

    transaction.on_commit(lambda: rebuild_near_duplicate_bands.delay(dataset_id))


def dataset_moderate(*, dataset: Dataset, actor: User, status: str, reason: str) -> Dataset:
    """Staff change a dataset's status (hide, reopen, close) with a reason for the audit log."""
    if not is_staff(actor):
        raise PermissionDeniedError("Only moderators do this.")
    if not reason.strip():
        raise DatasetError("Give a reason: it goes to the audit log.", code="reason_required")
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        previous = locked.status
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        audit_log_record(
            action="dataset.moderated",
            actor=actor,
            target=locked,
            data={"from": previous, "to": status, "reason": reason.strip()},
        )
    return locked
