"""JSON endpoints the pay cards call (static/js/erc20_pay.js): the signed-in person's balance of a
token, read on our node; and, with DEBUG on a local chain only, the dev wallet's JSON-RPC relay
(payments/integrations/dev_chain.py). Refusals of the request are JSON ``{"detail", "code"}``;
a JSON-RPC call the relay will not forward is answered the JSON-RPC way (200 with ``error``), as
a node would, so the page's ethers reports it."""

from __future__ import annotations

import json

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from marketplace.core.models import User
from payments.integrations.chain import ChainClient, ChainError
from payments.integrations.dev_chain import (
    INTERNAL_ERROR,
    NodeUnavailable,
    RelayRefused,
    dev_wallet_payments_enabled,
    relay_check,
    relay_forward,
)
from payments.models import Token
from payments.templatetags.money import format_amount


def _refusal(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def _signed_in(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


@require_GET
def token_balance(request: HttpRequest, token_id: int) -> HttpResponse:
    """``{"token", "symbol", "decimals", "address", "balance", "balance_text"}``: how much of the
    token the signed-in address holds, in base units (a decimal string) and for people."""
    user = _signed_in(request)
    if user is None:
        return _refusal("Sign in to see your balance.", "not_authenticated", 401)
    token = get_object_or_404(Token, pk=token_id)
    try:
        balance = ChainClient.from_settings().with_token(token.address).token_balance(user.address)
    except ChainError as exc:
        return _refusal(exc.detail, "chain_unavailable", 503)
    response = JsonResponse(
        {
            "token": token.address,
            "symbol": token.symbol,
            "decimals": token.decimals,
            "address": user.address,
            "balance": str(balance),
            "balance_text": format_amount(balance, token.decimals, token.symbol),
        }
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def dev_chain_rpc(request: HttpRequest) -> HttpResponse:
    """The dev wallet's relay to our node: one JSON-RPC request in, the node's answer out.
    Does not exist (404) unless DEBUG is on and the chain is a local development chain; only the
    signed-in person may use it (CSRF-checked, as any POST), and a raw transaction must be
    signed by their own address."""
    if not dev_wallet_payments_enabled():
        raise Http404("No such page.")
    user = _signed_in(request)
    if user is None:
        return _refusal("Sign in with the dev wallet first.", "not_authenticated", 401)
    try:
        payload = json.loads(request.body)
    except ValueError:
        return _refusal("The body is not JSON.", "malformed_request", 400)
    request_id = payload.get("id") if isinstance(payload, dict) else None
    try:
        request_id, method, params = relay_check(payload=payload, sender=user.address)
        answer = relay_forward(request_id=request_id, method=method, params=params)
    except RelayRefused as exc:
        answer = {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {"code": exc.code, "message": exc.message},
        }
    except NodeUnavailable as exc:
        answer = {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {"code": INTERNAL_ERROR, "message": f"The chain node did not answer: {exc}"},
        }
        return JsonResponse(
            {**answer, "detail": "The chain node did not answer.", "code": "chain_unavailable"},
            status=503,
        )
    return JsonResponse(answer)
