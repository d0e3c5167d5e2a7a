"""What pages share: the counterpart of the API exception handler (a service's
``ApplicationError`` or ``ValidationError`` becomes a message on the page and form errors, never a
500), and the status block htmx polls while work runs elsewhere (a task, the chain)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from marketplace.core.exceptions import ApplicationError


def show_error(request: HttpRequest, exc: Exception, form: forms.Form | None = None) -> None:
    if isinstance(exc, ValidationError) and form is not None and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return
    if isinstance(exc, ValidationError):
        messages.error(request, " ".join(exc.messages))
    elif isinstance(exc, ApplicationError):
        field = str(exc.extra.get("field", ""))
        if form is not None and field in form.fields:
            form.add_error(field, exc.detail)  # beside the field it is about
        else:
            messages.error(request, exc.detail)
    else:
        raise exc


def polled_status(
    request: HttpRequest, template: str, context: dict[str, Any], *, settled: bool
) -> HttpResponse:
    """The status block alone, for htmx polling it while the work runs; once ``settled``, the
    whole page reloads (``HX-Refresh``): more than the block changes with the outcome."""
    response = render(request, template, context)
    if settled:
        response["HX-Refresh"] = "true"
    return response
