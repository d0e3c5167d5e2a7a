"""Pages. Each view parses input, calls one service or selector, and renders."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from datasets_app import page_cache, services
from datasets_app.enums import LabelTask, Modality
from datasets_app.forms import DatasetForm
from datasets_app.models import Dataset, DatasetRelease, ReleaseStatus
from datasets_app.panels import dataset_panels_context
from datasets_app.selectors import datasets as selectors
from datasets_app.selectors.labeling import label_list, labels_today
from datasets_app.selectors.releases import (
    labelled_share,
    latest_release_statistics,
    release_card_parts,
    release_get,
    release_statistics_view,
)
from datasets_app.selectors.releases import release_list as release_list_select
from datasets_app.services.releases import release_publish as release_publish_service
from datasets_app.services.row_quality import NOVELTY_MARGIN
from datasets_app.views.viewer import dataset_viewer_context, release_viewer_context
from marketplace.core.exceptions import ApplicationError, NotFoundError
from marketplace.core.models import User
from marketplace.core.pages import polled_status, show_error
from marketplace.core.policy import can_manage_dataset, is_owner

PAGE_SIZE = 12


def _visible(request: HttpRequest, slug: str) -> Dataset:
    try:
        return selectors.dataset_visible(slug=slug, user=request.user)
    except NotFoundError:
        raise Http404("No such dataset.") from None


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    """The home page: search, filters, pagination over public datasets. A visitor's front page
    comes from the cache under what it shows (page_cache)."""
    if page_cache.is_plain_visitor(request):
        totals, stamp = selectors.catalogue_stamp(page_size=PAGE_SIZE)
        return page_cache.visitor_page(
            request,
            key=page_cache.page_key("home", stamp),
            render=lambda: page_cache.visitor_render(
                request, *_catalogue_page(request, totals=totals)
            ),
        )
    return render(request, *_catalogue_page(request))


def _catalogue_page(
    request: HttpRequest, *, totals: dict[str, int] | None = None
) -> tuple[str, dict[str, Any]]:
    filters = {
        "search": request.GET.get("q", "")[:200],
        "modality": request.GET.get("modality", ""),
        "label_task": request.GET.get("task", ""),
        "order": request.GET.get("order", "newest"),
    }
    datasets = selectors.dataset_list(
        search=filters["search"],
        modality=filters["modality"],
        label_task=filters["label_task"],
        order=filters["order"],
    )
    paginator = Paginator(datasets, PAGE_SIZE)
    filtered = any(filters[name] for name in ("search", "modality", "label_task"))
    if filtered:
        totals = None
    elif totals is None:
        totals = selectors.catalogue_totals()
    if totals is not None:
        paginator.count = totals["datasets"]  # the same rows: no second COUNT
    page = paginator.get_page(request.GET.get("page"))
    shown = list(page.object_list)
    # The introduction is for the front door only: not on later pages or over search results.
    show_hero = page.number == 1 and not filtered
    return (
        "datasets_app/catalogue.html",
        {
            "datasets": shown,
            # The cards' HTML is kept in the cache under what they show (catalogue.html).
            "cards_key": selectors.catalogue_cards_key(shown),
            "page": page,
            "filters": filters,
            "show_hero": show_hero,
            "totals": totals if show_hero else None,
            "modalities": Modality.choices,
            "tasks": LabelTask.choices,
            "orders": [
                ("newest", "Newest"),
                ("items", "Most items"),
                ("labels", "Most labels"),
                ("title", "Title"),
            ],
        },
    )


@require_GET
def dataset_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A dataset's page. A visitor's comes from the cache under what it shows (page_cache);
    a hidden or draft dataset has no stamp and answers as for anyone else."""
    if page_cache.is_plain_visitor(request):
        stamp = selectors.dataset_page_stamp(slug=slug)
        if stamp is not None:
            return page_cache.visitor_page(
                request,
                key=page_cache.page_key("dataset", stamp),
                render=lambda: page_cache.visitor_render(request, *_dataset_page(request, slug)),
            )
    return render(request, *_dataset_page(request, slug))


def _dataset_page(request: HttpRequest, slug: str) -> tuple[str, dict[str, Any]]:
    dataset = _visible(request, slug)
    figures = selectors.dataset_page_figures(dataset=dataset)
    stats = figures["stats"]
    versions = _versions_context(request, dataset)
    return (
        "datasets_app/dataset_detail.html",
        {
            "dataset": dataset,
            "stats": stats,
            **_viewer_context(request, dataset),
            # Keys of the page's cached blocks (dataset_detail.html).
            "figures_key": selectors.dataset_figures_key(dataset, "html"),
            "viewer_key": _viewer_key(request, dataset),
            "is_owner": is_owner(request.user, dataset.owner_id),
            # What other apps add (payments: the bounty list, the license card), see panels.py.
            **dataset_panels_context(request, dataset),
            "quality_card": figures["quality_card"],
            "latest_column_stats": _latest_column_stats(dataset, versions["releases"]),
            **versions,
        },
    )


def _viewer_key(request: HttpRequest, dataset: Dataset) -> str | None:
    """A visitor who is not signed in and asks for no page or filter sees the viewer's preview,
    its first page, the same for every such visitor: it is kept in the cache with the page's
    figures, under this key. None for everybody else."""
    if request.user.is_authenticated or request.GET:
        return None
    return selectors.dataset_figures_key(dataset, "preview")


def _viewer_context(request: HttpRequest, dataset: Dataset) -> dict[str, object]:
    """The row viewer's context; the anonymous preview's from the cache (``_viewer_key``)."""
    key = _viewer_key(request, dataset)
    if key is None:
        return dataset_viewer_context(request, dataset)
    context: dict[str, object] | None = cache.get(key)
    if context is None:
        context = dataset_viewer_context(request, dataset)
        cache.set(key, context, selectors.PAGE_FIGURES_SECONDS)
    return context


def _latest_column_stats(
    dataset: Dataset, releases: list[DatasetRelease]
) -> dict[str, object] | None:
    """The newest ready version's column statistics, from the versions already read when it is
    among them (it is the first ready one: they come newest first)."""
    for release in releases:
        if release.status == ReleaseStatus.READY:
            return release_statistics_view(release=release)
    if len(releases) < RELEASES_SHOWN:
        return None  # every version was read and none is ready
    return latest_release_statistics(dataset=dataset)


RELEASES_SHOWN = 20


def _versions_context(request: HttpRequest, dataset: Dataset) -> dict[str, Any]:
    releases = list(release_list_select(dataset=dataset, user=request.user)[:RELEASES_SHOWN])
    can_publish = can_manage_dataset(request.user, dataset)
    return {
        "releases": releases,
        "releases_building": any(r.status == ReleaseStatus.BUILDING for r in releases),
        "can_publish": can_publish,
        # What the next version would hold, for the publish form's confirmation step.
        "next_release": labelled_share(dataset=dataset) if can_publish else None,
    }


@require_GET
def release_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The versions list alone, for htmx polling while one builds; a plain visit goes to the
    dataset page, which shows the list."""
    dataset = _visible(request, slug)
    if not request.headers.get("HX-Request"):
        return redirect(f"{dataset_url(dataset)}#versions")
    return render(
        request,
        "datasets_app/_release_list.html",
        {"dataset": dataset, **_versions_context(request, dataset)},
    )


def dataset_url(dataset: Dataset) -> str:
    return reverse("datasets:detail", kwargs={"slug": dataset.slug})


@login_required
@require_http_methods(["POST"])
def release_publish(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = _visible(request, slug)
    user: User = request.user  # type: ignore[assignment]
    try:
        release = release_publish_service(
            dataset=dataset,
            actor=user,
            notes=request.POST.get("notes", ""),
            confirm_low_labelled_share=request.POST.get("confirm_low_labelled_share") == "1",
        )
    except ApplicationError as exc:
        show_error(request, exc)
    else:
        messages.success(
            request, f"Version {release.version} is being built; it appears here when ready."
        )
    return redirect(f"{dataset_url(dataset)}#versions")


@require_GET
def release_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    dataset = _visible(request, slug)
    try:
        release = release_get(dataset=dataset, number=number, user=request.user)
    except NotFoundError:
        raise Http404("No such version.") from None
    if request.headers.get("HX-Request"):  # once built, the files and card appear too
        return polled_status(
            request,
            "datasets_app/_release_status.html",
            {"release": release},
            settled=release.status != ReleaseStatus.BUILDING,
        )
    card_yaml, card_body = release_card_parts(release)
    return render(
        request,
        "datasets_app/release_detail.html",
        {
            "dataset": dataset,
            "release": release,
            "files": list(release.files.all()),
            "card_yaml": card_yaml,
            "card_body": card_body,
            "column_stats": release_statistics_view(release=release),
            **(release_viewer_context(request, release) if release.status == "ready" else {}),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def dataset_create(request: HttpRequest) -> HttpResponse:
    form = DatasetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dataset = services.dataset_create(owner=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except (ApplicationError, ValidationError) as exc:
            show_error(request, exc, form)
        else:
            messages.success(request, f"“{dataset.title}” created.")
            return redirect("datasets:detail", slug=dataset.slug)
    return render(request, "datasets_app/dataset_form.html", {"form": form, "dataset": None})


@login_required
@require_http_methods(["GET", "POST"])
def dataset_edit(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = _visible(request, slug)
    user: User = request.user  # type: ignore[assignment]
    if not can_manage_dataset(user, dataset):
        raise Http404("No such dataset.")
    form = DatasetForm(request.POST or None, initial=DatasetForm.initial_for(dataset))
    if request.method == "POST" and form.is_valid():
        try:
            services.dataset_update(dataset=dataset, actor=user, **form.cleaned_data)
        except (ApplicationError, ValidationError) as exc:
            show_error(request, exc, form)
        else:
            messages.success(request, "Dataset saved.")
            return redirect("datasets:detail", slug=dataset.slug)
    return render(request, "datasets_app/dataset_form.html", {"form": form, "dataset": dataset})


@login_required
@require_GET
def contribute(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload page: drag and drop, progress bar, and this person's contributions, live."""
    dataset = _visible(request, slug)
    return render(
        request,
        "datasets_app/contribute.html",
        {
            "dataset": dataset,
            "contributions": _recent_contributions(request, dataset),
            "max_bytes": settings.UPLOAD_MAX_BYTES,
            "chunk_bytes": settings.UPLOAD_CHUNK_BYTES,
            "hash_max_bytes": settings.UPLOAD_HASH_MAX_BYTES,
        },
    )


@login_required
@require_GET
def contribution_rows(request: HttpRequest, slug: str) -> HttpResponse:
    """The contributions table alone, for htmx polling while validation runs."""
    dataset = _visible(request, slug)
    contributions = _recent_contributions(request, dataset)
    return render(
        request,
        "datasets_app/_contribution_rows.html",
        {"contributions": contributions, "dataset": dataset},
    )


def _recent_contributions(request: HttpRequest, dataset: Dataset) -> Any:
    """This person's latest contributions to ``dataset``, for the upload page's live table."""
    return selectors.contribution_list(user=request.user, dataset=dataset)[:20]  # type: ignore[arg-type]


@login_required
@require_GET
def contribution_detail(request: HttpRequest, contribution_id: int) -> HttpResponse:
    try:
        contribution = selectors.contribution_visible(
            contribution_id=contribution_id, user=request.user
        )
    except NotFoundError:
        raise Http404("No such contribution.") from None
    template = (
        "datasets_app/_contribution_status.html"
        if request.headers.get("HX-Request")
        else "datasets_app/contribution_detail.html"
    )
    return render(
        request,
        template,
        {"contribution": contribution, "novelty_margin_percent": round(NOVELTY_MARGIN * 100)},
    )


@login_required
@require_GET
def label(request: HttpRequest, slug: str) -> HttpResponse:
    """The labeling page; the item queue is driven by the API with small JS."""
    dataset = _visible(request, slug)
    today = labels_today(user=request.user, dataset=dataset)  # type: ignore[arg-type]
    # Spans and boxes: what the annotation JS needs beside each item's ``annotate`` (its text,
    # or its image URL and original size, from the labeling API).
    annotation = {
        "task": dataset.label_task,
        "classes": dataset.label_classes,
        "allow_overlap": dataset.spans_allow_overlap,
        "span_match": dataset.span_match,
        "text_column": dataset.text_column,
        "image_column": dataset.image_column,
    }
    return render(
        request,
        "datasets_app/label.html",
        {"dataset": dataset, "today": today, "annotation": annotation},
    )


@login_required
@require_GET
def my_contributions(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.contribution_list(user=request.user), 25).get_page(  # type: ignore[arg-type]
        request.GET.get("page")
    )
    return render(request, "datasets_app/my_contributions.html", {"page": page})


@login_required
@require_GET
def my_labels(request: HttpRequest) -> HttpResponse:
    page = Paginator(label_list(user=request.user), 25).get_page(  # type: ignore[arg-type]
        request.GET.get("page")
    )
    return render(
        request,
        "datasets_app/my_labels.html",
        {
            "page": page,
            "today": labels_today(user=request.user),  # type: ignore[arg-type]
        },
    )
