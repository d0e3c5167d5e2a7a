"""The HTTP side of x402 for the licensed-data endpoints: answer 402 with the payment
requirements, or settle the payment a request carries and serve it as the payer.

A 402 carries the requirements twice, as x402 v2 says: base64 JSON in ``PAYMENT-REQUIRED``
(what x402 clients read) and as the JSON body, with our ``detail`` and ``code`` beside them. A
paid response carries ``PAYMENT-RESPONSE`` (the settlement) and ``X-Download-Token``, a
short-lived API token with the ``download`` scope for the payer's address, so the next request
(another file, ``load_dataset``'s range reads) sends ``Authorization: Bearer`` instead of paying
again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from datasets_app.models import Dataset, DatasetRelease
from datasets_app.panels import PaywallOutcome
from datasets_app.selectors.releases import latest_ready_release
from marketplace.core.models import User
from payments.services.downloads import LicenseRequiredError
from payments.services.x402 import X402Offer, payment_required, x402_offer
from payments.services.x402_settlement import X402Error, X402Paid, x402_pay

T = TypeVar("T")
PAYMENT_SIGNATURE = "PAYMENT-SIGNATURE"
EXPOSED = "PAYMENT-REQUIRED, PAYMENT-RESPONSE, X-Download-Token, X-Download-Token-Expires"

PAYMENT_REQUIRED_RESPONSE = OpenApiResponse(
    inline_serializer(
        "PaymentRequired",
        {
            "detail": serializers.CharField(),
            "code": serializers.CharField(help_text="payment_required, or why a payment failed"),
            "x402Version": serializers.IntegerField(),
            "error": serializers.CharField(required=False),
            "resource": serializers.DictField(),
            "accepts": serializers.ListField(
                child=serializers.DictField(),
                help_text="x402 payment requirements: scheme exact, network eip155:<chain id>, "
                "asset (the token), amount (base units), payTo (the treasury), "
                "maxTimeoutSeconds, extra {name, version} (the token's EIP-712 domain).",
            ),
        },
    ),
    description="No license covers this: pay with x402 (the same JSON, base64, is in the "
    "`PAYMENT-REQUIRED` header) and send the request again with `PAYMENT-SIGNATURE`. The "
    "paid response carries `PAYMENT-RESPONSE` and `X-Download-Token` (a Bearer token for the "
    "payer's address, valid until `X-Download-Token-Expires`).",
)


def _required(
    offer: X402Offer, url: str, *, detail: str, code: str, error: str | None = None
) -> Response:
    header, body = payment_required(offer, url=url, error=error)
    return Response(
        {"detail": detail, "code": code, **body},
        status=402,
        headers={"PAYMENT-REQUIRED": header, "Access-Control-Expose-Headers": EXPOSED},
    )


def x402_gate(request: Request, release: DatasetRelease) -> X402Paid | Response | None:
    """For a request without a license covering ``release``: None when the release is not
    for sale (the caller refuses as before), a 402 (or a refusal) to send, or the payment the
    request carried, settled."""
    offer = x402_offer(release=release)
    if offer is None:
        return None
    url = request.build_absolute_uri()
    header = request.headers.get(PAYMENT_SIGNATURE, "").strip()
    symbol = offer.tier.token.symbol if offer.tier.token else ""
    if not header:
        return _required(
            offer,
            url,
            detail=f"{release.dataset.title} {release.version} is licensed: pay "
            f"{offer.tier.price} base units of {symbol} for the "
            f"{offer.tier.name} license over x402, or buy it.",
            code="payment_required",
        )
    try:
        return x402_pay(header=header, offer=offer, url=url)
    except X402Error as exc:
        if exc.status_code == 402:
            return _required(offer, url, detail=exc.detail, code=exc.code, error=exc.code)
        headers = {}
        if "retry_after" in exc.extra:
            headers["Retry-After"] = str(exc.extra["retry_after"])
        return Response({"detail": exc.detail, "code": exc.code}, exc.status_code, headers=headers)


def serve_or_charge(
    request: Request,
    serve: Callable[[Any], T],
    serve_paid: Callable[[User, DatasetRelease], T] | None = None,
) -> tuple[T, dict[str, str]] | Response:
    """``serve(request.user)``; when that needs a license (``LicenseRequiredError``), the x402
    gate for the release it names: a 402 (or refusal) to send, or the payer who just paid
    served, with the headers the paid response carries: ``serve_paid(payer, release)`` with
    the release the refusal named and the payment licensed (nothing to look up again), else
    ``serve(payer)``. Nothing for sale: an anonymous request is asked to authenticate (401)
    and a signed-in one gets the refusal, as before."""
    try:
        return serve(request.user), {}
    except LicenseRequiredError as exc:
        gate = x402_gate(request, exc.release)
        if gate is None:
            if not request.user.is_authenticated:
                raise NotAuthenticated() from exc
            raise
        if isinstance(gate, Response):
            return gate
        if serve_paid is None:
            return serve(gate.user), paid_headers(gate)
        return serve_paid(gate.user, exc.release), paid_headers(gate)


def paid_headers(paid: X402Paid) -> dict[str, str]:
    headers = {
        "X-Download-Token": paid.download_token,
        "X-Download-Token-Expires": paid.download_token_expires.isoformat(),
        "Access-Control-Expose-Headers": EXPOSED,
        "Cache-Control": "private, no-store",
    }
    if paid.payment_response:
        headers["PAYMENT-RESPONSE"] = paid.payment_response
    return headers


def with_headers(response: HttpResponseBase, headers: dict[str, str]) -> HttpResponseBase:
    for name, value in headers.items():
        response[name] = value
    return response


def rows_paywall(request: Any, dataset: Dataset) -> PaywallOutcome | None:
    """The rows API's paywall (registered in ``payments.panels``): the latest release's
    price, as for its files."""
    latest = latest_ready_release(dataset=dataset)
    if latest is None:
        return None
    latest.dataset = dataset  # already loaded by the rows API
    gate = x402_gate(request, latest)
    if gate is None:
        return None
    if isinstance(gate, Response):
        return PaywallOutcome(response=gate)
    return PaywallOutcome(user=gate.user, headers=paid_headers(gate))
