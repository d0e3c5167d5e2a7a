"""Reads for releases (versions) and the "before you buy" quality card."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from datasets_app.enums import ContributionStatus, LabelTask
from datasets_app.models import Contribution, Dataset, DatasetRelease, Item, ReleaseStatus
from marketplace.core.exceptions import NotFoundError
from marketplace.core.policy import can_manage_dataset

# Contributions whose validation finished and whose rows count: their reports hold the reasons.
VALIDATED = (
    ContributionStatus.ACCEPTED,
    ContributionStatus.PARTIALLY_ACCEPTED,
    ContributionStatus.REJECTED,
)
# Items of these contributions are "accepted" (a moderator's rejection also hides them).
ACCEPTED = (ContributionStatus.ACCEPTED, ContributionStatus.PARTIALLY_ACCEPTED)


def release_items(*, dataset: Dataset) -> QuerySet[Item]:
    """What a release freezes: accepted rows (of a finished, not rejected, contribution, or added
    without one), neither hidden by moderators nor gold, in a stable order."""
    return (
        Item.objects.filter(dataset=dataset, is_hidden=False, is_gold=False)
        .filter(Q(contribution__isnull=True) | Q(contribution__status__in=ACCEPTED))
        .order_by("id")
    )


def release_list(*, dataset: Dataset, user: Any = None) -> QuerySet[DatasetRelease]:
    """A dataset's versions, newest first: every one for its owner and staff, the ready ones
    for everybody else."""
    releases = DatasetRelease.objects.filter(dataset=dataset).select_related("created_by")
    if not can_manage_dataset(user, dataset):
        releases = releases.filter(status=ReleaseStatus.READY)
    return releases.order_by("-number")


def release_get(*, dataset: Dataset, number: int, user: Any = None) -> DatasetRelease:
    """Version ``number`` of ``dataset`` with its files (``release.files.all()`` is prefetched,
    by name). Versions that are not ready read as not found except to the owner and staff."""
    release = (
        release_list(dataset=dataset, user=user)
        .select_related("dataset")
        .prefetch_related("files")
        .filter(number=number)
        .first()
    )
    if release is None:
        raise NotFoundError("No such version.")
    return release


def release_card_parts(release: DatasetRelease) -> tuple[str, str]:
    """The card's YAML front matter (without the ``---`` fences) and its Markdown body."""
    card = release.card or ""
    if card.startswith("---\n"):
        end = card.find("\n---\n", 4)
        if end != -1:
            return card[4 : end + 1], card[end + 5 :].lstrip("\n")
    return "", card


def rejection_figures(*, dataset: Dataset) -> dict[str, int]:
    """Rows submitted, rows rejected as duplicates and for personal data, and accepted rows
    flagged, summed over the validated contributions' reports (one query).

    The reasons are the keys ``services.validation`` writes into ``report["reasons"]`` (counted per
    error, so a row with personal data in two columns counts twice for PII; capped below)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT reason.key, sum(reason.value::bigint)
            FROM datasets_app_contribution c
            CROSS JOIN LATERAL jsonb_each_text(
                CASE WHEN jsonb_typeof(c.report -> 'reasons') = 'object'
                     THEN c.report -> 'reasons' ELSE '{}'::jsonb END
            ) AS reason
            WHERE c.dataset_id = %s AND c.status = ANY(%s)
            GROUP BY reason.key
            """,
            [dataset.pk, list(VALIDATED)],
        )
        reasons = dict(cursor.fetchall())
        cursor.execute(
            """
            SELECT coalesce(sum(rows_total), 0), coalesce(sum(rows_accepted), 0),
                   coalesce(sum(CASE WHEN jsonb_typeof(report -> 'flagged') = 'number'
                                     THEN (report ->> 'flagged')::bigint ELSE 0 END), 0)
            FROM datasets_app_contribution
            WHERE dataset_id = %s AND status = ANY(%s)
            """,
            [dataset.pk, list(VALIDATED)],
        )
        submitted, accepted, flagged = cursor.fetchone()
    duplicates = sum(n for reason, n in reasons.items() if _is_duplicate(reason))
    pii = sum(n for reason, n in reasons.items() if "personal data" in reason)
    return {
        "rows_submitted": int(submitted),
        "rows_accepted": int(accepted),
        "duplicate_rows": min(int(duplicates), int(submitted)),
        "pii_rows": min(int(pii), int(submitted)),
        "flagged_rows": int(flagged),
    }


def _is_duplicate(reason: str) -> bool:
    # "duplicate of an earlier row in this file", "already in the dataset",
    # "near-duplicate of an earlier row in this file", "near-duplicate of a row already in ..."
    return "duplicate" in reason or reason == "already in the dataset"


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def dataset_agreement(*, dataset: Dataset) -> float | None:
    """The one label-agreement figure every page, card and API shows for a dataset:
    Krippendorff's alpha (nominal) over its labels, gold checks left out, as the last consensus
    round stored it (``services.consensus.dataset_consensus_refresh``). None before any round.
    A release freezes the value it had when it was built (``quality["agreement_alpha"]``)."""
    alpha = dataset.agreement_alpha
    return None if alpha is None else round(float(alpha), 4)


def labelled_share(*, dataset: Dataset) -> dict[str, Any]:
    """What a release built now would hold: rows, rows with a consensus label and their share,
    against the dataset's ``min_labelled_share`` (one aggregate query)."""
    counts = release_items(dataset=dataset).aggregate(
        rows=Count("id"), labelled=Count("id", filter=Q(consensus_label__isnull=False))
    )
    rows, labelled = int(counts["rows"]), int(counts["labelled"])
    ratio = share(labelled, rows)
    minimum = float(dataset.min_labelled_share)
    return {
        "rows": rows,
        "labelled_rows": labelled,
        "labelled_share": ratio,
        "minimum": minimum,
        "below_minimum": bool(rows) and (labelled / rows) < minimum,
    }


# The Hugging Face Hub's ``license:`` vocabulary for cards (lower-case; most are SPDX ids
# lower-cased). https://huggingface.co/docs/hub/repositories-licenses
HF_LICENSES = frozenset(
    (
        "apache-2.0",
        "mit",
        "openrail",
        "bigscience-openrail-m",
        "creativeml-openrail-m",
        "bigscience-bloom-rail-1.0",
        "bigcode-openrail-m",
        "afl-3.0",
        "artistic-2.0",
        "bsl-1.0",
        "bsd",
        "bsd-2-clause",
        "bsd-3-clause",
        "bsd-3-clause-clear",
        "c-uda",
        "cc",
        "cc0-1.0",
        "cc-by-2.0",
        "cc-by-2.5",
        "cc-by-3.0",
        "cc-by-4.0",
        "cc-by-sa-3.0",
        "cc-by-sa-4.0",
        "cc-by-nc-2.0",
        "cc-by-nc-3.0",
        "cc-by-nc-4.0",
        "cc-by-nd-4.0",
        "cc-by-nc-nd-3.0",
        "cc-by-nc-nd-4.0",
        "cc-by-nc-sa-2.0",
        "cc-by-nc-sa-3.0",
        "cc-by-nc-sa-4.0",
        "cdla-sharing-1.0",
        "cdla-permissive-1.0",
        "cdla-permissive-2.0",
        "wtfpl",
        "ecl-2.0",
        "epl-1.0",
        "epl-2.0",
        "etalab-2.0",
        "eupl-1.1",
        "eupl-1.2",
        "agpl-3.0",
        "gfdl",
        "gpl",
        "gpl-2.0",
        "gpl-3.0",
        "lgpl",
        "lgpl-2.1",
        "lgpl-3.0",
        "isc",
        "lppl-1.3c",
        "ms-pl",
        "mpl-2.0",
        "odc-by",
        "odbl",
        "openrail++",
        "osl-3.0",
        "postgresql",
        "ofl-1.1",
        "ncsa",
        "unlicense",
        "zlib",
        "pddl",
        "unknown",
        "other",
    )
)
# SPDX ids whose Hub id is not simply the lower-cased SPDX id.
SPDX_TO_HF = {
    "odbl-1.0": "odbl",
    "odc-by-1.0": "odc-by",
    "pddl-1.0": "pddl",
    "gpl-2.0-only": "gpl-2.0",
    "gpl-2.0-or-later": "gpl-2.0",
    "gpl-3.0-only": "gpl-3.0",
    "gpl-3.0-or-later": "gpl-3.0",
    "lgpl-2.1-only": "lgpl-2.1",
    "lgpl-2.1-or-later": "lgpl-2.1",
    "lgpl-3.0-only": "lgpl-3.0",
    "lgpl-3.0-or-later": "lgpl-3.0",
    "agpl-3.0-only": "agpl-3.0",
    "agpl-3.0-or-later": "agpl-3.0",
}


def hf_license_id(spdx_id: str) -> str:
    """The Hub's ``license:`` id for an SPDX id (``CC-BY-4.0`` → ``cc-by-4.0``); ``other`` for
    an id the Hub does not know (and for custom terms)."""
    key = spdx_id.strip().lower()
    key = SPDX_TO_HF.get(key, key)
    return key if key in HF_LICENSES else "other"


def release_licenses(*, dataset: Dataset) -> list[dict[str, str]]:
    """The license tiers a release built now is sold under: every active tier of the dataset
    (each coverage, "every version", "the versions released when bought" and "the latest when
    bought", includes the newest version). Per tier its name, SPDX id (blank for custom terms)
    and Hub license id, in price order."""
    tiers = dataset.license_tiers.filter(is_active=True).order_by("price", "name")
    return [
        {
            "tier": name,
            "spdx_id": spdx_id,
            "license": hf_license_id(spdx_id) if spdx_id else "other",
        }
        for name, spdx_id in tiers.values_list("name", "spdx_id")
    ]


def label_feature_description(dataset: Dataset) -> str:
    """The release's label column type, in the Hugging Face ``datasets`` vocabulary."""
    if dataset.label_task == LabelTask.SINGLE_LABEL:
        return f"ClassLabel({len(dataset.label_classes)} classes)"
    if dataset.label_task == LabelTask.MULTI_LABEL:
        return f"List(ClassLabel({len(dataset.label_classes)} classes))"
    classes = f"ClassLabel({len(dataset.label_classes)} classes)"
    if dataset.label_task == LabelTask.SPANS:
        return f"Sequence({{start: int32, end: int32, label: {classes}}})"
    if dataset.label_task == LabelTask.BOXES:
        return f"Sequence({{bbox: [x, y, w, h] float32, category: {classes}}})"
    return "string"


def dataset_quality_card(*, dataset: Dataset) -> dict[str, Any]:
    """The "before you buy" figures of a dataset page: its schema as a release has it, rows,
    duplicate and personal-data rejection rates at upload, flagged share, label agreement,
    contributors and the labelled share. A few aggregate queries, none per row."""
    from datasets_app.models.releases import release_label_column

    figures = rejection_figures(dataset=dataset)
    contributors = (
        Contribution.objects.filter(dataset=dataset, status__in=ACCEPTED, rows_accepted__gt=0)
        .values("contributor")
        .distinct()
        .count()
    )
    rows = dataset.items_count
    labelled = Item.objects.filter(
        dataset=dataset, consensus_at__isnull=False, is_gold=False, is_hidden=False
    ).count()
    schema = [
        {"name": column["name"], "dtype": column["dtype"]} for column in dataset.columns or []
    ]
    schema.append(
        {"name": release_label_column(dataset), "dtype": label_feature_description(dataset)}
    )
    return {
        "schema": schema,
        "rows": rows,
        "rows_submitted": figures["rows_submitted"],
        "duplicate_rate": share(figures["duplicate_rows"], figures["rows_submitted"]),
        "pii_rate": share(figures["pii_rows"], figures["rows_submitted"]),
        "flagged_share": share(figures["flagged_rows"], figures["rows_accepted"]),
        "agreement_alpha": dataset_agreement(dataset=dataset),
        "contributors": contributors,
        "labelled_rows": labelled,
        "labelled_share": share(labelled, rows),
    }


# --- Per-column statistics, for the pages ------------------------------------------------------

KIND_NAMES = {
    "text": "Text",
    "number": "Number",
    "boolean": "Yes / no",
    "image": "Image",
    "label": "Consensus label",
    "other": "Other",
}


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.4g}"


def _bin_label(low: float, high: float) -> str:
    return _number(low) if low == high else f"{_number(low)}\N{EN DASH}{_number(high)}"


def _chart(bars: list[tuple[str, int]], **options: Any) -> dict[str, Any]:
    return {"bars": [{"label": label, "count": count} for label, count in bars], **options}


def _column_chart(column: dict[str, Any]) -> dict[str, Any] | None:
    """What column_stats.js draws for a column (the table beside it shows the same ``bars``):
    ``bars`` [{label, count}], ``horizontal``, axis titles ``x`` and ``y``, a ``description``."""
    kind = column.get("kind")
    if kind == "label" and column.get("classes"):
        return _chart(
            [(c["name"], c["count"]) for c in column["classes"]],
            horizontal=True,
            x="Rows",
            y="Class",
            description="Class balance of the consensus labels",
        )
    if kind in ("text", "label") and column.get("length"):
        return _chart(
            [(_bin_label(b["low"], b["high"]), b["count"]) for b in column["length"]["histogram"]],
            horizontal=False,
            x="Length (characters)",
            y="Rows",
            description="Histogram of text lengths in characters",
        )
    histogram = column.get("histogram") if kind == "number" else None
    if histogram and histogram.get("bins"):
        estimated = bool(histogram.get("approximate"))
        return _chart(
            [(_bin_label(b["low"], b["high"]), b["count"]) for b in histogram["bins"]],
            horizontal=False,
            x="Value",
            y="Rows (estimated)" if estimated else "Rows",
            description="Histogram of the values"
            + (", estimated from a sample" if estimated else ""),
        )
    return None


def release_statistics_view(*, release: DatasetRelease, prefix: str = "column") -> dict[str, Any]:
    """A release's stored statistics for ``_column_statistics.html``: per column its figures, a
    display name for its kind, and (where a chart says more than numbers) the chart's data and
    a page-unique id. Empty ``columns`` for a release built before statistics existed."""
    stored = release.statistics or {}
    columns = []
    for index, column in enumerate(stored.get("columns") or []):
        chart = _column_chart(column)
        if chart is not None:
            chart["description"] = f"{chart['description']} of column {column['name']}"
        columns.append(
            {
                **column,
                "kind_name": KIND_NAMES.get(str(column.get("kind")), "Other"),
                "present_share": share(int(column.get("count") or 0), int(stored.get("rows") or 0)),
                "chart": chart,
                "chart_id": f"{prefix}-chart-{index}",
            }
        )
    return {"release": release, "rows": stored.get("rows"), "columns": columns}


def latest_ready_release(*, dataset: Dataset) -> DatasetRelease | None:
    """The newest ready version of a dataset (ready versions are public), or None."""
    return (
        DatasetRelease.objects.filter(dataset=dataset, status=ReleaseStatus.READY)
        .order_by("-number")
        .first()
    )


def latest_release_statistics(*, dataset: Dataset) -> dict[str, Any] | None:
    """``release_statistics_view`` of the newest ready version, for the dataset page."""
    release = latest_ready_release(dataset=dataset)
    return None if release is None else release_statistics_view(release=release)
