"""Reads for pages and the API; querysets come with what their templates touch."""

from __future__ import annotations

import functools
import hashlib
from datetime import timedelta
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    CharField,
    Count,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Cast, Concat, TruncDate
from django.utils import timezone

from datasets_app.enums import DatasetStatus
from datasets_app.models import Contribution, Dataset, DatasetRelease, Item, Label
from datasets_app.page_cache import page_key
from datasets_app.panels import dataset_panels_stamp
from datasets_app.selectors.releases import dataset_agreement, dataset_quality_card
from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User
from marketplace.core.policy import can_view_contribution, can_view_dataset, is_signed_in

PUBLIC_STATUSES = (DatasetStatus.OPEN, DatasetStatus.CLOSED)
ORDERINGS = {
    "newest": ("-created_at",),
    "items": ("-items_count", "-created_at"),
    "labels": ("-labels_count", "-created_at"),
    "title": ("title",),
}


def dataset_list(
    *,
    search: str = "",
    modality: str = "",
    label_task: str = "",
    order: str = "newest",
    user: User | None = None,
    mine: bool = False,
) -> QuerySet[Dataset]:
    """The catalogue: public datasets (and, with ``mine``, the user's own in any state)."""
    if mine and is_signed_in(user):
        datasets = Dataset.objects.filter(owner=user)
    else:
        datasets = Dataset.objects.filter(status__in=PUBLIC_STATUSES)
    if modality:
        datasets = datasets.filter(modality=modality)
    if label_task:
        datasets = datasets.filter(label_task=label_task)
    datasets = datasets.select_related("owner")
    if search.strip():
        query = SearchQuery(search.strip(), search_type="websearch", config="english")
        return (
            datasets.filter(Q(search_vector=query) | Q(title__icontains=search.strip()))
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "-created_at")
        )
    return datasets.order_by(*ORDERINGS.get(order, ORDERINGS["newest"]))


def dataset_visible(*, slug: str, user: User | Any) -> Dataset:
    """The dataset behind ``slug`` if this person may see it: public ones to everyone, drafts to
    their owner, hidden ones to staff. Anything else reads as not found."""
    dataset = Dataset.objects.select_related("owner").filter(slug=slug).first()
    if dataset is None or not can_view_dataset(user, dataset):
        raise NotFoundError("No such dataset.")
    return dataset


def dataset_stats(*, dataset: Dataset) -> dict[str, Any]:
    """Counts for the dataset page, and labels per day for its chart (last 30 days)."""
    since = timezone.now() - timedelta(days=30)
    per_day = (
        Label.objects.filter(dataset=dataset, created_at__gte=since, is_gold_check=False)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    contributors = (
        Contribution.objects.filter(dataset=dataset, rows_accepted__gt=0)
        .values("contributor")
        .distinct()
        .count()
    )
    labelled = Item.objects.filter(dataset=dataset, labels_count__gte=F("dataset__labels_per_item"))
    with_consensus = labelled.filter(consensus_label__isnull=False).count()
    return {
        "rows": dataset.items_count,
        "labels": dataset.labels_count,
        "contributors": contributors,
        "labelers": Label.objects.filter(dataset=dataset).values("labeler").distinct().count(),
        "fully_labelled": labelled.count(),
        # Krippendorff's alpha, the one agreement figure of every page and API.
        "agreement": dataset_agreement(dataset=dataset),
        "with_consensus": with_consensus,
        "labels_per_day": [{"day": row["day"].isoformat(), "labels": row["n"]} for row in per_day],
    }


# The dataset page's aggregate figures (dataset_stats and the quality card: about ten aggregate
# queries) are kept in the cache under a key made of the dataset's own counters, so every write
# that moves one (a label, an accepted or removed row, an upload, a consensus round's agreement,
# an edit of the dataset) reads fresh figures at once: the old key is simply never asked again.
# Writes that move no counter (a moderator hiding rows, a consensus label re-decided with the
# same agreement, a rejected upload's reasons) show within PAGE_FIGURES_SECONDS.
PAGE_FIGURES_SECONDS = 60


def dataset_figures_key(dataset: Dataset, part: str) -> str:
    """A cache key for ``part`` of ``dataset``'s page that changes with any of its counters."""
    alpha = "-" if dataset.agreement_alpha is None else repr(float(dataset.agreement_alpha))
    stamp = dataset.updated_at.timestamp() if dataset.updated_at else 0
    return (
        f"dataset-page:{part}:{dataset.pk}:{dataset.items_count}:{dataset.labels_count}:"
        f"{dataset.contributions_count}:{alpha}:{stamp}"
    )


def dataset_page_figures(*, dataset: Dataset) -> dict[str, Any]:
    """``stats`` (dataset_stats) and ``quality_card`` (dataset_quality_card) for the dataset
    page, from the cache when the dataset's counters have not moved since they were counted."""
    key = dataset_figures_key(dataset, "figures")
    figures: dict[str, Any] | None = cache.get(key)
    if figures is None:
        figures = {
            "stats": dataset_stats(dataset=dataset),
            "quality_card": dataset_quality_card(dataset=dataset),
        }
        cache.set(key, figures, PAGE_FIGURES_SECONDS)
    return figures


# The dataset page's blocks kept in the cache under the "html" key (dataset_detail.html's
# {% cache %} names) and whether each also varies on is_owner.
PAGE_FRAGMENTS = {
    "dataset-stats": False,
    "dataset-chart": False,
    "dataset-quality": False,
    "dataset-card": True,
    "dataset-aside": False,
}


def dataset_page_forget(*, dataset_id: int) -> None:
    """Drop what the dataset page keeps in the cache for the dataset's current counters: for a
    write that moves none of them and must show at once (a moderator hiding rows)."""
    from django.core.cache.utils import make_template_fragment_key

    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        return
    html, preview = dataset_figures_key(dataset, "html"), dataset_figures_key(dataset, "preview")
    keys = [dataset_figures_key(dataset, "figures"), preview]
    keys.append(make_template_fragment_key("dataset-viewer", [preview]))
    for name, per_owner in PAGE_FRAGMENTS.items():
        variants = [[html, True], [html, False]] if per_owner else [[html]]
        keys.extend(make_template_fragment_key(name, vary_on) for vary_on in variants)
    stamp = dataset_page_stamp(slug=dataset.slug)
    if stamp is not None:
        keys.append(page_key("dataset", stamp))
    cache.delete_many(keys)


def over_rows(queryset: QuerySet[Any], function: str, *expressions: Any) -> Subquery:
    """``function`` (MAX, COUNT, STRING_AGG...) of ``expressions`` over ``queryset``'s rows, as
    one value of an outer query (not an aggregate to Django: no GROUP BY)."""
    value = Func(*expressions, function=function, output_field=CharField())
    return Subquery(queryset.order_by().annotate(value=value).values("value")[:1])


def dataset_page_stamp(*, slug: str) -> tuple[Any, ...] | None:
    """What a public dataset's page shows to a visitor who is not signed in, as a tuple that
    moves with any of it, in one query: the dataset's row and counters, its owner's name, its
    versions, and what the registered panels show (``panels.dataset_panels_stamp``: payments'
    bounties, every ledger entry of their pools, license tiers). None when
    there is no such public dataset (the page answers that itself). Kept pages are keyed by it
    (views.dataset_detail); writes that move none of it show within VISITOR_PAGE_SECONDS, or at
    once through ``dataset_page_forget``. The query is built by the ORM once per process
    (``_stamp_sql``): building it took longer than running it."""
    sql, params = _stamp_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [slug if value == _SLUG else value for value in params])
        row = cursor.fetchone()
    return None if row is None else tuple(row)


_SLUG = "\x00slug"


@functools.cache
def _stamp_sql() -> tuple[str, tuple[Any, ...]]:
    panels = dataset_panels_stamp()
    releases = DatasetRelease.objects.filter(dataset=OuterRef("pk"))
    release_parts = Concat(
        Cast("pk", CharField()),
        Value(":"),
        "status",
        Value(":"),
        Cast("progress", CharField()),
        output_field=CharField(),
    )
    stamps = (
        Dataset.objects.filter(status__in=PUBLIC_STATUSES, slug=_SLUG)
        .order_by()
        .annotate(
            **panels,
            releases_seen=over_rows(releases, "STRING_AGG", release_parts, Value(",")),
        )
        .values_list(
            "pk",
            "slug",
            "status",
            "updated_at",
            "items_count",
            "labels_count",
            "contributions_count",
            "agreement_alpha",
            "owner__display_name",
            "owner__address",
            "releases_seen",
            *panels,
        )
    )
    return stamps.query.sql_with_params()


def catalogue_stamp(*, page_size: int) -> tuple[dict[str, int], tuple[Any, ...]]:
    """The catalogue's totals (as ``catalogue_totals``) and what the cards of its first page,
    unfiltered, show (``catalogue_cards_key``'s parts, and the day), in one query built once
    per process. The second part moves with anything a visitor's home page shows
    (views.catalogue keys that page by it)."""
    sql, params = _catalogue_stamp_sql(page_size)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    datasets, items, labels = rows[0][-3:] if rows else (0, 0, 0)
    totals = {"datasets": int(datasets), "items": int(items or 0), "labels": int(labels or 0)}
    return totals, (timezone.localdate().isoformat(), tuple(map(tuple, rows)))


@functools.cache
def _catalogue_stamp_sql(page_size: int) -> tuple[str, tuple[Any, ...]]:
    cards = (
        Dataset.objects.filter(status__in=PUBLIC_STATUSES)
        .annotate(
            # Over every public dataset: windows are counted before the LIMIT.
            all_datasets=Window(Count("id")),
            all_items=Window(Sum("items_count")),
            all_labels=Window(Sum("labels_count")),
        )
        .order_by(*ORDERINGS["newest"])
        .values_list(
            "pk",
            "updated_at",
            "items_count",
            "labels_count",
            "owner_id",
            "owner__display_name",
            "owner__address",
            "all_datasets",
            "all_items",
            "all_labels",
        )[:page_size]
    )
    return cards.query.sql_with_params()


def catalogue_cards_key(datasets: list[Dataset]) -> str:
    """What the catalogue's cards of ``datasets`` show, as a key for their rendered HTML: any
    edit, counter or owner's name that moves changes it (and the day, for "today" dates)."""
    parts = [timezone.localdate().isoformat()]
    for dataset in datasets:
        owner = dataset.owner
        parts.append(
            f"{dataset.pk}:{dataset.updated_at.timestamp()}:{dataset.items_count}:"
            f"{dataset.labels_count}:{owner.pk}:{owner.display_name}:{owner.address}"
        )
    return hashlib.md5("|".join(parts).encode(), usedforsecurity=False).hexdigest()


def contribution_list(*, user: User, dataset: Dataset | None = None) -> QuerySet[Contribution]:
    contributions = Contribution.objects.filter(contributor=user).select_related("dataset")
    if dataset is not None:
        contributions = contributions.filter(dataset=dataset)
    return contributions.order_by("-created_at")


def contribution_visible(*, contribution_id: int, user: User | Any) -> Contribution:
    """A contribution is seen by its contributor, the dataset's owner and staff."""
    contribution = (
        Contribution.objects.select_related("dataset", "contributor")
        .filter(pk=contribution_id)
        .first()
    )
    if contribution is None or not can_view_contribution(user, contribution):
        raise NotFoundError("No such contribution.")
    return contribution


def contribution_same_file(*, dataset: Dataset, sha256: str) -> Contribution | None:
    """An earlier contribution of the very same file (SHA-256) to ``dataset``, by anyone."""
    return (
        Contribution.objects.filter(dataset=dataset, sha256=sha256.lower()).order_by("id").first()
    )


def catalogue_totals() -> dict[str, int]:
    """Figures across the public catalogue, from the datasets' counters (one query)."""
    totals = Dataset.objects.filter(status__in=PUBLIC_STATUSES).aggregate(
        datasets=Count("id"), items=Sum("items_count"), labels=Sum("labels_count")
    )
    return {name: int(value or 0) for name, value in totals.items()}
