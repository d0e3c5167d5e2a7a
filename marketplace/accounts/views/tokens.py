from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from marketplace.accounts.forms import ApiTokenForm
from marketplace.accounts.selectors import api_token_list
from marketplace.accounts.services.api_tokens import (
    CreatedToken,
    api_token_create,
    api_token_revoke,
)
from marketplace.core.exceptions import ApplicationError
from marketplace.core.models import User
from marketplace.core.pages import show_error

NEW_TOKEN_SESSION_KEY = "new_api_token"  # noqa: S105 - a session key name


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List, create and revoke API tokens. A new token's secret is shown once: the POST
    redirects (so a reload cannot create a second token) and the page after it pops the secret
    from the session, where it sat only between those two requests."""
    user: User = request.user  # type: ignore[assignment]
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new = api_token_create(
                user=user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
            )
        except ApplicationError as exc:
            show_error(request, exc, form)
        else:
            request.session[NEW_TOKEN_SESSION_KEY] = {"id": new.token.pk, "secret": new.secret}
            return redirect("api-tokens")
    fresh = request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    tokens = api_token_list(user=user)
    created: CreatedToken | None = None
    if fresh is not None:
        token = next((t for t in tokens if t.pk == fresh["id"]), None)
        created = CreatedToken(token=token, secret=fresh["secret"]) if token else None
    response = render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "tokens": tokens, "created": created},
    )
    if created is not None:
        response["Cache-Control"] = "no-store"  # the page holds a secret
    return response


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = api_token_revoke(user=request.user, token_id=token_id)  # type: ignore[arg-type]
    except ApplicationError as exc:
        show_error(request, exc)
    else:
        messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("api-tokens")
