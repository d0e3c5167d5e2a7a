from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace.core.exceptions import ApplicationError, NotFoundError
from marketplace.core.models import User
from marketplace.core.pages import show_error
from payments.forms import ApiTokenForm
from payments.selectors import (
    api_token_list,
    earnings_balances,
    payout_list,
    reward_get,
    reward_list,
)
from payments.services import CreatedToken, api_token_create, api_token_revoke

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
        "payments/api_tokens.html",
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


@login_required
@require_GET
def earnings(request: HttpRequest) -> HttpResponse:
    """The person's rewards, newest first, and what they are owed per token."""
    user: User = request.user  # type: ignore[assignment]
    page = Paginator(reward_list(user=user), 25).get_page(request.GET.get("page"))
    payouts = Paginator(payout_list(user=user), 10).get_page(1)  # the latest; all on their page
    return render(
        request,
        "payments/earnings.html",
        {
            "page": page,
            "payouts": payouts,
            "balances": earnings_balances(user=user),
            "payout_minimum": settings.PAYOUT_MINIMUM,
        },
    )


@login_required
@require_GET
def reward_receipt(request: HttpRequest, reward_id: int) -> HttpResponse:
    """One reward explained: every input of its computation."""
    try:
        reward = reward_get(user=request.user, reward_id=reward_id)  # type: ignore[arg-type]
    except NotFoundError:
        raise Http404("No such reward.") from None
    return render(request, "payments/reward_receipt.html", {"reward": reward})


@login_required
@require_GET
def payouts(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    page = Paginator(payout_list(user=user), 25).get_page(request.GET.get("page"))
    return render(request, "payments/payouts.html", {"page": page})
