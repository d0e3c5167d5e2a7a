"""What the payments API modules share: amounts in base units as decimal strings (a uint256 does
not fit a JSON number), a token's description, and creating a thing on a dataset named in the
request body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from datasets_app.models import Dataset
from datasets_app.selectors.datasets import dataset_visible
from payments.models import Token


@extend_schema_field(
    {"type": "string", "pattern": "^[0-9]{1,78}$", "example": "1000000000000000000"}
)
class BaseUnits(serializers.Field):  # type: ignore[type-arg]
    """An amount in base units as a decimal string: "1000000000000000000"."""

    def to_representation(self, value: Any) -> str:
        return str(int(value))

    def to_internal_value(self, data: Any) -> int:
        text = str(data).strip()
        if not text.isdigit() or len(text) > 78:
            raise serializers.ValidationError("Give an amount in base units: digits only.")
        return int(text)


class TokenOutput(serializers.ModelSerializer[Token]):
    class Meta:
        model = Token
        fields = ("chain_id", "address", "symbol", "decimals")


def created_on_dataset(
    request: Request,
    input_serializer: type[serializers.Serializer[Any]],
    output_serializer: type[serializers.BaseSerializer[Any]],
    create: Callable[[Dataset, dict[str, Any]], Model],
) -> Response:
    """Validate the body with ``input_serializer``, find the dataset its ``dataset`` slug names
    (as the asker may see it, else 404), hand it and the other values to ``create``, and answer
    201 with what it made, rendered by ``output_serializer``. The body is checked first: a bad
    body answers 400 before the dataset is looked up."""
    data = input_serializer(data=request.data)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    dataset = dataset_visible(slug=values.pop("dataset"), user=request.user)
    return Response(output_serializer(create(dataset, values)).data, status=status.HTTP_201_CREATED)
