"""The one DRF exception handler (every error answers ``{"detail", "code"}``), and what every
API view shares: the page-numbered lists and the signed-in person."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from marketplace.core.exceptions import ApplicationError, request_limit_error

if TYPE_CHECKING:
    from marketplace.core.models import User


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        message = _first_message(value)
        return message if key == "non_field_errors" else f"{key}: {message}"
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = request_limit_error(exc) or exc
    if isinstance(exc, ApplicationError):
        body: dict[str, Any] = {"detail": exc.detail, "code": exc.code, **exc.extra}
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(fields)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "detail": _first_message(exc.detail),
            "code": "invalid",
            "errors": exc.detail,
        }
    else:
        codes = exc.get_codes()
        response.data = {
            "detail": _first_message(exc.detail),
            "code": codes if isinstance(codes, str) else "error",
        }
    if response.status_code >= status.HTTP_500_INTERNAL_SERVER_ERROR:
        response.data["detail"] = "Something went wrong on our side."
    return response


class Pagination(PageNumberPagination):
    """Page-numbered lists for every API: ``?page=2&page_size=50`` (at most 100)."""

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100


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


def request_user(request: Request) -> User:
    """The person behind a request on an ``IsAuthenticated`` endpoint."""
    return request.user  # type: ignore[return-value]
