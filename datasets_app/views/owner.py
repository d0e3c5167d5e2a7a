"""``/me/datasets/``: the datasets the signed-in person owns, in any state (drafts included),
each linking to its page, where they manage it (the nav's "My datasets")."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from datasets_app.selectors import datasets as selectors

PAGE_SIZE = 12


@login_required
@require_GET
def my_datasets(request: HttpRequest) -> HttpResponse:
    datasets = selectors.dataset_list(user=request.user, mine=True)  # type: ignore[arg-type]
    page = Paginator(datasets, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "datasets_app/my_datasets.html", {"page": page})
