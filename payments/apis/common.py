"""What the payments API modules share: amounts in base units as decimal strings (a uint256 does
not fit a JSON number), and a token's description."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

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
