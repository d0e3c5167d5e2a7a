from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace.core.exceptions import request_limit_error
from marketplace.core.forms import ProfileForm
from marketplace.core.models import User
from marketplace.core.pages import show_error
from marketplace.core.selectors import user_roles
from marketplace.core.services import user_profile_update


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 handler (``handler400``; DEBUG off). A request over Django's own body, field
    or file limits gets the same refusal a service would give: JSON ``{"detail", "code"}`` on
    the API, the site's error page elsewhere, 413 when it is too large. DRF views answer these
    through the API's exception handler already; this covers what is read outside them."""
    error = request_limit_error(exception)
    if request.path.startswith("/api/"):
        if error is None:
            return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
        return JsonResponse({"detail": error.detail, "code": error.code}, status=error.status_code)
    if error is None:  # e.g. a disallowed Host: nothing here may ask for the host again
        return defaults.bad_request(request, exception)
    return render(request, "core/request_refused.html", {"error": error}, status=error.status_code)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: the process answers and reaches the DB."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_GET
def signin(request: HttpRequest) -> HttpResponse:
    """Where sign-in-only pages send anonymous visitors: explains and offers the wallet button."""
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    return render(request, "core/signin.html", {"next": next_url})


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    """Sign-out for pages without JavaScript (the header button uses the API)."""
    logout(request)
    messages.success(request, "You are signed out.")
    return redirect("datasets:catalogue")


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = ProfileForm(
        request.POST or None, initial={"display_name": user.display_name, "email": user.email}
    )
    if request.method == "POST" and form.is_valid():
        try:
            user_profile_update(user=user, **form.cleaned_data)
        except ValidationError as exc:
            show_error(request, exc, form)
        else:
            messages.success(request, "Profile saved.")
            return redirect("account")
    return render(
        request,
        "core/account.html",
        {"form": form, "roles": user_roles(user), "chain_id": settings.CHAIN_ID},
    )
