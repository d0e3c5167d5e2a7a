"""Bounties over the API: list and create, read with the pool, and fund. Amounts are decimal
strings of base units; views parse, call one service or selector, and render."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets_app.models import Dataset
from datasets_app.selectors.datasets import dataset_visible
from marketplace.core.api import paginated, request_user
from payments.apis.common import BaseUnits, TokenOutput, created_on_dataset
from payments.enums import FundingStatus
from payments.models import Bounty
from payments.selectors.bounties import (
    bounty_funding_state,
    bounty_get,
    bounty_list,
    bounty_pool_progress,
)
from payments.selectors.tokens import token_by_address
from payments.services.bounties import bounty_create
from payments.services.funding import bounty_funding_submit, treasury_address


class BountyOutput(serializers.ModelSerializer[Bounty]):
    dataset = serializers.CharField(source="dataset.slug")
    sponsor = serializers.CharField(source="sponsor.address")
    token = TokenOutput()
    rate_per_row = BaseUnits()
    rate_per_label = BaseUnits()
    pool_amount = BaseUnits()
    epoch_length_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Bounty
        fields = (
            "id",
            "dataset",
            "sponsor",
            *Bounty.TERMS,
            "starts_at",
            "ends_at",
            "epoch_length_seconds",
            "status",
            "funded_at",
            "epochs_computed",
        )

    def get_epoch_length_seconds(self, bounty: Bounty) -> int:
        return int(bounty.epoch_length.total_seconds())


class BountyInput(serializers.Serializer[Any]):
    dataset = serializers.SlugField()
    title = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    token_address = serializers.CharField(max_length=42)
    pays_for = serializers.ChoiceField(choices=["rows", "labels", "both"])
    rate_per_row = BaseUnits(required=False, default=0)
    rate_per_label = BaseUnits(required=False, default=0)
    pool_amount = BaseUnits()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    epoch_length_seconds = serializers.IntegerField(min_value=60)


class BountyListCreateApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(
        summary="A dataset's bounties",
        parameters=[OpenApiParameter("dataset", str, required=True), OpenApiParameter("page", int)],
        responses=BountyOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        dataset = dataset_visible(slug=request.query_params.get("dataset", ""), user=request.user)
        return paginated(self, request, bounty_list(dataset=dataset), BountyOutput)

    @extend_schema(
        summary="Create a bounty on your dataset (it opens once its funding is verified)",
        request=BountyInput,
        responses={201: BountyOutput},
    )
    def post(self, request: Request) -> Response:
        def create(dataset: Dataset, values: dict[str, Any]) -> Bounty:
            return bounty_create(
                dataset=dataset,
                sponsor=request_user(request),
                token=token_by_address(address=values.pop("token_address")),
                epoch_length=timedelta(seconds=values.pop("epoch_length_seconds")),
                **values,
            )

        return created_on_dataset(request, BountyInput, BountyOutput, create)


class BountyDetailApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(
        summary="A bounty, its pool (funded, awarded, left) and where to pay its funding",
        responses=inline_serializer(
            "BountyDetailOutput",
            {
                "bounty": BountyOutput(),
                "pool": inline_serializer(
                    "PoolOutput",
                    {
                        "funded": BaseUnits(),
                        "awarded": BaseUnits(),
                        "left": BaseUnits(),
                    },
                ),
                "pay_to": serializers.CharField(),
                "chain_id": serializers.IntegerField(),
                "funding_status": serializers.ChoiceField(
                    choices=FundingStatus.choices,
                    allow_null=True,
                    help_text="The latest funding transaction's state; null before any.",
                ),
                "funding_error": inline_serializer(
                    "FundingErrorOutput",
                    {"code": serializers.CharField(), "detail": serializers.CharField()},
                    allow_null=True,
                    help_text=(
                        "Why the latest funding transaction was refused (or, while verifying, "
                        "what it waits for): for the sponsor and staff; null otherwise."
                    ),
                ),
            },
        ),
    )
    def get(self, request: Request, bounty_id: int) -> Response:
        bounty = bounty_get(bounty_id=bounty_id, user=request.user)
        progress = bounty_pool_progress(bounty=bounty)
        funding = bounty_funding_state(bounty=bounty, user=request.user)
        return Response(
            {
                "bounty": BountyOutput(bounty).data,
                "pool": {
                    "funded": str(progress.funded),
                    "awarded": str(progress.awarded),
                    "left": str(progress.left),
                },
                "pay_to": treasury_address(),
                "chain_id": settings.CHAIN_ID,
                "funding_status": funding.status,
                "funding_error": {"code": funding.error_code, "detail": funding.error_detail}
                if funding.error_code
                else None,
            }
        )


class BountyFundApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Submit the transaction that funds a bounty; it is verified on chain",
        request=inline_serializer("FundInput", {"tx_hash": serializers.CharField()}),
        responses={
            202: inline_serializer(
                "FundOutput",
                {"id": serializers.IntegerField(), "status": serializers.CharField()},
            )
        },
    )
    def post(self, request: Request, bounty_id: int) -> Response:
        funding = bounty_funding_submit(
            bounty=bounty_get(bounty_id=bounty_id, user=request.user),
            user=request_user(request),
            tx_hash=str(request.data.get("tx_hash", "")),
        )
        return Response(
            {"id": funding.pk, "status": funding.status}, status=status.HTTP_202_ACCEPTED
        )
