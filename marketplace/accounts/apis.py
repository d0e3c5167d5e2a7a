"""The sign-in API: nonce, login, logout, me, and API tokens. Views parse, call one service,
render; the checks live in ``marketplace.accounts.services``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.accounts.authentication import SESSION_ONLY
from marketplace.accounts.models import ApiToken, ApiTokenScope
from marketplace.accounts.selectors import api_token_list
from marketplace.accounts.services.api_tokens import api_token_create, api_token_revoke
from marketplace.accounts.services.auth import siwe_login, siwe_nonce_issue
from marketplace.core.api import request_user
from marketplace.core.client_ip import client_ip
from marketplace.core.models import User
from marketplace.core.selectors import user_roles
from marketplace.core.services import user_profile_update

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _enforce_csrf(request: Request) -> None:
    """DRF checks CSRF only for authenticated sessions; sign-in changes the session, so the
    anonymous login and logout requests must carry the token as well."""
    SessionAuthentication().enforce_csrf(request)


class UserOutput(serializers.Serializer[User]):
    address = serializers.CharField()
    display_name = serializers.CharField()
    email = serializers.EmailField()
    is_staff = serializers.BooleanField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user: User) -> list[str]:
        return user_roles(user)


class NonceApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        summary="Issue a single-use SIWE nonce bound to this session",
        responses=inline_serializer(
            "NonceOutput",
            {
                "nonce": serializers.CharField(),
                "expires_at": serializers.DateTimeField(),
                "domain": serializers.CharField(),
                "uri": serializers.CharField(),
                "chain_id": serializers.IntegerField(),
                "statement": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        if not request.session.session_key:
            request.session.save()
        issued = siwe_nonce_issue(
            session_key=str(request.session.session_key), client_ip=client_ip(request._request)
        )
        host = request.get_host()
        return Response(
            {
                "nonce": issued.nonce,
                "expires_at": issued.expires_at,
                # What a well-formed message for this site carries; the server checks every
                # field against its own settings whatever the client sends.
                "domain": host,
                "uri": f"{request.scheme}://{host}",
                "chain_id": (settings.SIWE_CHAIN_IDS or [settings.CHAIN_ID])[0],
                "statement": settings.SIWE_STATEMENT,
            },
            headers={"Cache-Control": "no-store"},
        )


class LoginApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    class LoginInput(serializers.Serializer[Any]):
        message = serializers.CharField(trim_whitespace=False, max_length=4096)
        signature = serializers.CharField(max_length=2048)

    @extend_schema(
        summary="Sign in with a signed EIP-4361 message",
        request=LoginInput,
        responses=inline_serializer("LoginOutput", {"address": serializers.CharField()}),
    )
    def post(self, request: Request) -> Response:
        _enforce_csrf(request)
        data = self.LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = siwe_login(
            message=data.validated_data["message"],
            signature=data.validated_data["signature"],
            session_key=str(request.session.session_key or ""),
            client_ip=client_ip(request._request),
        )
        login(request._request, user, backend=MODEL_BACKEND)  # rotates the session key
        return Response({"address": user.address})


class LogoutApi(APIView):
    authentication_classes = (SessionAuthentication,)
    permission_classes = (AllowAny,)

    @extend_schema(summary="Sign out (ends the session)", request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        _enforce_csrf(request)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = (IsAuthenticated,)

    class ProfileInput(serializers.Serializer[Any]):
        display_name = serializers.CharField(required=False, allow_blank=True, max_length=80)
        email = serializers.EmailField(required=False, allow_blank=True)

    @extend_schema(summary="The signed-in person", responses=UserOutput)
    def get(self, request: Request) -> Response:
        return Response(UserOutput(request_user(request)).data)

    @extend_schema(
        summary="Change display name or e-mail", request=ProfileInput, responses=UserOutput
    )
    def patch(self, request: Request) -> Response:
        data = self.ProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = request_user(request)
        user_profile_update(
            user=user,
            display_name=data.validated_data.get("display_name", user.display_name),
            email=data.validated_data.get("email", user.email),
        )
        return Response(UserOutput(user).data)


class ApiTokenOutput(serializers.ModelSerializer[ApiToken]):
    class Meta:
        model = ApiToken
        fields = (
            "id",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        )


class ApiTokenListCreateApi(APIView):
    permission_classes = (IsAuthenticated,)
    token_scope = SESSION_ONLY  # a leaked token must not mint more tokens

    class CreateInput(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=80)
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=ApiTokenScope.choices), allow_empty=False
        )
        expires_at = serializers.DateTimeField(required=False, allow_null=True)

    @extend_schema(summary="My API tokens", responses=ApiTokenOutput(many=True))
    def get(self, request: Request) -> Response:
        tokens = api_token_list(user=request_user(request))
        return Response(ApiTokenOutput(tokens, many=True).data)

    @extend_schema(
        summary="Create an API token (the secret is returned once)",
        request=CreateInput,
        responses={201: ApiTokenOutput},
    )
    def post(self, request: Request) -> Response:
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = api_token_create(
            user=request_user(request),
            name=data.validated_data["name"],
            scopes=data.validated_data["scopes"],
            expires_at=data.validated_data.get("expires_at"),
        )
        body = {**ApiTokenOutput(created.token).data, "secret": created.secret}
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class ApiTokenRevokeApi(APIView):
    permission_classes = (IsAuthenticated,)
    token_scope = SESSION_ONLY

    @extend_schema(summary="Revoke an API token", responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        api_token_revoke(user=request_user(request), token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
