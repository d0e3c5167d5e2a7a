"""Rewards and payouts over the API: the signed-in person's own, newest first. Amounts are
decimal strings of base units."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core.api import paginated, request_user
from payments.apis.common import BaseUnits, TokenOutput
from payments.models import Payout, Reward, RewardLine
from payments.selectors.rewards import payout_list, reward_get, reward_list


class RewardLineOutput(serializers.ModelSerializer[RewardLine]):
    demand = BaseUnits()
    amount = BaseUnits()

    class Meta:
        model = RewardLine
        fields = (
            "kind",
            "contribution",
            "units",
            "weighted_micro",
            "demand",
            "amount",
            "reversed_at",
        )


class RewardOutput(serializers.ModelSerializer[Reward]):
    bounty = serializers.IntegerField(source="bounty_id", allow_null=True)
    purchase = serializers.IntegerField(source="purchase_id", allow_null=True)
    dataset = serializers.SerializerMethodField()
    epoch = serializers.IntegerField(source="epoch.number", allow_null=True, default=None)
    period_start = serializers.DateTimeField(
        source="epoch.period_start", allow_null=True, default=None
    )
    period_end = serializers.DateTimeField(source="epoch.period_end", allow_null=True, default=None)
    token = TokenOutput()
    amount = BaseUnits()
    reversed_amount = BaseUnits()
    payable_amount = BaseUnits()

    def get_dataset(self, reward: Reward) -> str:
        return _reward_dataset(reward)

    class Meta:
        model = Reward
        fields: tuple[str, ...] = (
            "id",
            "source",
            "bounty",
            "purchase",
            "dataset",
            "epoch",
            "period_start",
            "period_end",
            "token",
            "amount",
            "reversed_amount",
            "payable_amount",
            "status",
            "payout",
            "basis",
            "created_at",
        )


def _reward_dataset(reward: Reward) -> str:
    source = reward.bounty if reward.bounty is not None else reward.purchase
    return source.dataset.slug if source is not None else ""


class RewardDetailOutput(RewardOutput):
    """A reward with its lines."""

    lines = RewardLineOutput(many=True)

    class Meta(RewardOutput.Meta):
        fields: tuple[str, ...] = (*RewardOutput.Meta.fields, "lines")


class RewardListApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(summary="My rewards, newest first", responses=RewardOutput(many=True))
    def get(self, request: Request) -> Response:
        return paginated(self, request, reward_list(user=request_user(request)), RewardOutput)


class RewardDetailApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(summary="One of my rewards, with the lines it was computed from",
                   responses=RewardDetailOutput)  # fmt: skip
    def get(self, request: Request, reward_id: int) -> Response:
        reward = reward_get(user=request_user(request), reward_id=reward_id)
        return Response(RewardDetailOutput(reward).data)


class PayoutOutput(serializers.ModelSerializer[Payout]):
    token = TokenOutput()
    amount = BaseUnits()

    class Meta:
        model = Payout
        fields = (
            "id",
            "token",
            "to_address",
            "amount",
            "status",
            "tx_hash",
            "mined_hash",
            "block_number",
            "error",
            "created_at",
            "sent_at",
            "confirmed_at",
        )


class PayoutListApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(summary="My payouts, newest first", responses=PayoutOutput(many=True))
    def get(self, request: Request) -> Response:
        return paginated(self, request, payout_list(user=request_user(request)), PayoutOutput)
