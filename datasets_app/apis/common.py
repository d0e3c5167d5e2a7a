"""What the datasets APIs share: the signed-in person and a page of a list."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core.api import Pagination
from marketplace.core.models import User


def request_user(request: Request) -> User:
    """The person behind a request on an ``IsAuthenticated`` endpoint."""
    return request.user  # type: ignore[return-value]


def paginated(
    view: APIView,
    request: Request,
    queryset: QuerySet[Any],
    output: type[serializers.BaseSerializer[Any]],
) -> Response:
    """One page of ``queryset`` serialized by ``output``, with the links to the others."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(output(page, many=True).data)
