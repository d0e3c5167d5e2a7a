"""Reads for releases (versions) and the "before you buy" quality card."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from datasets_app.enums import ContributionStatus, LabelTask
from datasets_app.models import Contribution, Dataset, DatasetRelease, Item, ReleaseStatus
from marketplace.core.exceptions import NotFoundError

# Contributions whose validation finished and whose rows count: their reports hold the reasons.
VALIDATED = (
    ContributionStatus.ACCEPTED,
    ContributionStatus.PARTIALLY_ACCEPTED,
    ContributionStatus.REJECTED,
)
# Items of these contributions are "accepted" (a moderator's rejection also hides them).
ACCEPTED = (ContributionStatus.ACCEPTED, ContributionStatus.PARTIALLY_ACCEPTED)


def can_manage_releases(*, dataset: Dataset, user: Any) -> bool:
    """The dataset's owner and staff publish versions and see the unfinished ones."""
    return bool(
        user is not None
        and user.is_authenticated
        and (user.is_staff or user.pk == dataset.owner_id)
    )


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
    if not can_manage_releases(dataset=dataset, user=user):
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


def label_feature_description(dataset: Dataset) -> str:
    """The release's label column type, in the Hugging Face ``datasets`` vocabulary."""
    if dataset.label_task == LabelTask.SINGLE_LABEL:
        return f"ClassLabel({len(dataset.label_classes)} classes)"
    if dataset.label_task == LabelTask.MULTI_LABEL:
        return f"List(ClassLabel({len(dataset.label_classes)} classes))"
    return "string"


def dataset_quality_card(*, dataset: Dataset) -> dict[str, Any]:
    """The "before you buy" figures of a dataset page: its schema as a release has it, rows,
    duplicate and personal-data rejection rates at upload, flagged share, label agreement,
    contributors and the labelled share. A few aggregate queries, none per row."""
    from datasets_app.services.releases import label_column_name

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
    schema.append({"name": label_column_name(dataset), "dtype": label_feature_description(dataset)})
    return {
        "schema": schema,
        "rows": rows,
        "rows_submitted": figures["rows_submitted"],
        "duplicate_rate": share(figures["duplicate_rows"], figures["rows_submitted"]),
        "pii_rate": share(figures["pii_rows"], figures["rows_submitted"]),
        "flagged_share": share(figures["flagged_rows"], figures["rows_accepted"]),
        "agreement_alpha": dataset.agreement_alpha,
        "contributors": contributors,
        "labelled_rows": labelled,
        "labelled_share": share(labelled, rows),
    }
