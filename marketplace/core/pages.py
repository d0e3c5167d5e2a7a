"""The pages' counterpart of the API exception handler: a service's ``ApplicationError`` or
``ValidationError`` becomes a message on the page (and form errors), never a 500."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

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
