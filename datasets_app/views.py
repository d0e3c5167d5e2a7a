from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def catalogue(request: HttpRequest) -> HttpResponse:
    """The home page: the dataset catalogue (datasets arrive with their own issue)."""
    return render(request, "datasets_app/catalogue.html", {"datasets": []})
