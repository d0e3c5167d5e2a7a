"""The form a page posts a transaction hash with (typed, or sent by the wallet button): a bounty's
funding and a license order's payment. A service records the hash, a task verifies it on chain
and the page polls its status."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from marketplace.core.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from marketplace.core.pages import show_error
from payments.forms import FundingHashForm


def tx_hash_post(
    request: HttpRequest,
    form: FundingHashForm,
    submit: Callable[[str], object],
    *,
    done: str,
    back: str,
    page: Callable[[], HttpResponse],
) -> HttpResponse:
    """Hand the posted hash to ``submit`` (the service), then go back to the page at ``back``
    with ``done`` as a message, or with the service's refusal when it is not about the hash.
    A hash that is malformed, or that the service refuses naming the field
    (``extra={"field": "tx_hash"}``), shows the ``page`` again (a 400) with the error beside the
    field. The service's 404 and 403 are the page's."""
    if form.is_valid():
        try:
            submit(form.cleaned_data["tx_hash"])
        except NotFoundError as exc:
            raise Http404(exc.detail) from None
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.detail) from exc
        except ApplicationError as exc:
            if exc.extra.get("field") != "tx_hash":
                show_error(request, exc)
                return redirect(back)
            form.add_error("tx_hash", exc.detail)
        else:
            messages.success(request, done)
            return redirect(back)
    response = page()
    response.status_code = 400
    return response
