"""License tiers, purchases and grants over the API. Amounts are decimal strings of base units."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets_app.models import Dataset
from datasets_app.selectors.datasets import dataset_visible
from marketplace.core.api import paginated, request_user
from marketplace.core.exceptions import NotFoundError
from payments.apis.common import BaseUnits, TokenOutput, created_on_dataset
from payments.models import LicenseGrant, LicenseTier, Purchase
from payments.selectors.licenses import (
    license_grant_list,
    license_tier_list,
    license_tier_offered,
    purchase_get,
    purchase_list,
)
from payments.selectors.tokens import token_by_address
from payments.services.licenses import license_claim_free, license_tier_create
from payments.services.purchases import purchase_confirm, purchase_create


class LicenseTierOutput(serializers.ModelSerializer[LicenseTier]):
    dataset = serializers.CharField(source="dataset.slug")
    price = BaseUnits()
    token = TokenOutput(allow_null=True)
    terms = serializers.CharField()
    terms_hash = serializers.CharField()
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = LicenseTier
        fields = (
            "id",
            "dataset",
            "name",
            "spdx_id",
            "custom_terms",
            "terms",
            "terms_hash",
            "commercial",
            "price",
            "token",
            "duration_seconds",
            "covers",
            "is_active",
        )

    def get_duration_seconds(self, tier: LicenseTier) -> int | None:
        return int(tier.duration.total_seconds()) if tier.duration else None


class LicenseTierInput(serializers.Serializer[Any]):
    dataset = serializers.SlugField()
    name = serializers.CharField(max_length=80)
    spdx_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    custom_terms = serializers.CharField(required=False, allow_blank=True, default="")
    commercial = serializers.BooleanField(required=False, default=False)
    price = BaseUnits(required=False, default=0)
    token_address = serializers.CharField(required=False, allow_blank=True, default="")
    duration_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    covers = serializers.ChoiceField(
        choices=["all", "released", "latest"], required=False, default="released"
    )


class LicenseTierListCreateApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(
        summary="A dataset's license tiers",
        parameters=[OpenApiParameter("dataset", str, required=True)],
        responses=LicenseTierOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        dataset = dataset_visible(slug=request.query_params.get("dataset", ""), user=request.user)
        return Response(LicenseTierOutput(license_tier_list(dataset=dataset), many=True).data)

    @extend_schema(
        summary="Offer a license tier on your dataset",
        request=LicenseTierInput,
        responses={201: LicenseTierOutput},
    )
    def post(self, request: Request) -> Response:
        def create(dataset: Dataset, values: dict[str, Any]) -> LicenseTier:
            address = values.pop("token_address")
            seconds = values.pop("duration_seconds", None)
            return license_tier_create(
                dataset=dataset,
                actor=request_user(request),
                token=token_by_address(address=address) if address else None,
                duration=timedelta(seconds=seconds) if seconds else None,
                **values,
            )

        return created_on_dataset(request, LicenseTierInput, LicenseTierOutput, create)


class PurchaseOutput(serializers.ModelSerializer[Purchase]):
    license = serializers.IntegerField(source="tier_id")
    dataset = serializers.CharField(source="dataset.slug")
    amount = BaseUnits()
    token_address = serializers.CharField(source="token.address")
    decimals = serializers.IntegerField(source="token.decimals")
    # The reverse one-to-one, loaded with ``select_related("grant")`` by the views.
    grant = serializers.IntegerField(source="grant.pk", read_only=True, allow_null=True)

    class Meta:
        model = Purchase
        fields = (
            "id",
            "license",
            "dataset",
            "amount",
            "token_address",
            "decimals",
            "pay_to",
            "chain_id",
            "status",
            "expires_at",
            "tx_hash",
            "confirmations",
            "error_code",
            "error_detail",
            "paid_at",
            "grant",
        )


def _purchase(request: Request, purchase_id: int) -> Purchase:
    return purchase_get(user=request_user(request), purchase_id=purchase_id)


class PurchaseCreateApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Order a license: returns what to pay, in which token, to which address",
        request=inline_serializer("PurchaseInput", {"license": serializers.IntegerField()}),
        responses={201: PurchaseOutput},
    )
    def post(self, request: Request) -> Response:
        tier_id = request.data.get("license")
        if not isinstance(tier_id, int) and not str(tier_id or "").isdigit():
            raise NotFoundError('Name the license tier: {"license": <id>}.', code="no_license")
        tier = license_tier_offered(tier_id=int(str(tier_id)), user=request.user)
        purchase = purchase_create(buyer=request_user(request), tier=tier)
        return Response(PurchaseOutput(purchase).data, status=status.HTTP_201_CREATED)


class PurchaseListApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(summary="My purchases, newest first", responses=PurchaseOutput(many=True))
    def get(self, request: Request) -> Response:
        purchases = purchase_list(user=request_user(request))
        return paginated(self, request, purchases, PurchaseOutput)


class PurchaseDetailApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="A purchase: awaiting_payment, confirming, paid, failed or expired",
        responses=PurchaseOutput,
    )
    def get(self, request: Request, purchase_id: int) -> Response:
        return Response(PurchaseOutput(_purchase(request, purchase_id)).data)


class PurchaseConfirmApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Say which transaction paid; it is verified on chain",
        request=inline_serializer("ConfirmInput", {"tx_hash": serializers.CharField()}),
        responses={202: PurchaseOutput},
    )
    def post(self, request: Request, purchase_id: int) -> Response:
        purchase = purchase_confirm(
            purchase=_purchase(request, purchase_id),
            user=request_user(request),
            tx_hash=str(request.data.get("tx_hash", "")),
        )
        return Response(PurchaseOutput(purchase).data, status=status.HTTP_202_ACCEPTED)


class LicenseGrantOutput(serializers.ModelSerializer[LicenseGrant]):
    dataset = serializers.CharField(source="dataset.slug")
    tier = serializers.CharField(source="tier.name")
    versions = serializers.SerializerMethodField()

    class Meta:
        model = LicenseGrant
        fields = (
            "id",
            "dataset",
            "tier",
            "purchase",
            "versions",
            "covers_future",
            "expires_at",
            "revoked_at",
            "created_at",
            "receipt",
            "signature",
            "signer",
        )

    def get_versions(self, grant: LicenseGrant) -> list[int]:
        return sorted(r.number for r in grant.releases.all())


class LicenseGrantListApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="My licenses, each with its signed EIP-712 receipt",
        responses=LicenseGrantOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        grants = license_grant_list(user=request_user(request))
        return paginated(self, request, grants, LicenseGrantOutput)


class LicenseClaimApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Take a free tier's license", request=None, responses={201: LicenseGrantOutput}
    )
    def post(self, request: Request, tier_id: int) -> Response:
        tier = license_tier_offered(tier_id=tier_id, user=request.user)
        grant = license_claim_free(buyer=request_user(request), tier=tier)
        return Response(LicenseGrantOutput(grant).data, status=status.HTTP_201_CREATED)
