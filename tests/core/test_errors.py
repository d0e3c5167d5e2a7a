"""The one API exception handler: every failure answers {"detail", "code"}."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from marketplace.core.exceptions import ApplicationError, NotFoundError


def _view_raising(exc: Exception):
    class Raising(APIView):
        authentication_classes = ()
        permission_classes = ()

        def get(self, request):
            raise exc

    return Raising.as_view()


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (
            ApplicationError("The nonce was already used.", code="nonce_reused"),
            400,
            {"detail": "The nonce was already used.", "code": "nonce_reused"},
        ),
        (
            NotFoundError("No such dataset."),
            404,
            {"detail": "No such dataset.", "code": "not_found"},
        ),
        (
            ApplicationError("Pay first.", code="payment_required", status_code=402),
            402,
            {"detail": "Pay first.", "code": "payment_required"},
        ),
    ],
)
def test_application_errors_become_detail_and_code(exc, status, body):
    response = _view_raising(exc)(APIRequestFactory().get("/"))
    assert response.status_code == status
    assert response.data == body


def test_django_validation_errors_become_400_with_field_errors():
    exc = ValidationError({"price": ["Must be positive."]})
    response = _view_raising(exc)(APIRequestFactory().get("/"))
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert response.data["detail"] == "price: Must be positive."
    assert response.data["errors"] == {"price": ["Must be positive."]}


@pytest.mark.django_db
def test_drf_errors_keep_the_same_shape(client):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    from rest_framework.exceptions import NotAuthenticated

    response = _view_raising(NotAuthenticated())(APIRequestFactory().get("/"))
    assert response.status_code in (401, 403)
    assert response.data["code"] == "not_authenticated"
    assert "credentials" in response.data["detail"]
