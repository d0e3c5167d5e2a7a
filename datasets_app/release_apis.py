"""The releases API: publish a version (owner), list versions, one version with its files."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets_app import selectors
from datasets_app.models import DatasetRelease, ReleaseFile
from datasets_app.release_selectors import release_get, release_list
from datasets_app.services.releases import release_publish
from marketplace.core.api import Pagination
from marketplace.core.models import User


class ReleaseOutput(serializers.ModelSerializer[DatasetRelease]):
    version = serializers.CharField(read_only=True)

    class Meta:
        model = DatasetRelease
        fields: tuple[str, ...] = (
            "id",
            "number",
            "version",
            "status",
            "progress",
            "error",
            "notes",
            "rows",
            "labelled_rows",
            "size_bytes",
            "content_hash",
            "created_at",
            "ready_at",
        )


class ReleaseFileOutput(serializers.ModelSerializer[ReleaseFile]):
    class Meta:
        model = ReleaseFile
        fields = ("name", "sha256", "rows", "size_bytes")


class ReleaseDetailOutput(ReleaseOutput):
    files = ReleaseFileOutput(many=True, read_only=True)
    features = serializers.DictField(read_only=True)
    quality = serializers.DictField(read_only=True)

    class Meta(ReleaseOutput.Meta):
        fields = (*ReleaseOutput.Meta.fields, "features", "quality", "card", "files")


class ReleaseInput(serializers.Serializer[Any]):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    license = serializers.CharField(
        required=False,
        max_length=64,
        help_text="A Hugging Face licence identifier for the card (cc-by-4.0, ...); other.",
    )


class DatasetReleaseListCreateApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(
        summary="A dataset's versions, newest first (unfinished ones only to the owner)",
        parameters=[OpenApiParameter("page", int, required=False)],
        responses=ReleaseOutput(many=True),
    )
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        paginator = Pagination()
        page = paginator.paginate_queryset(
            release_list(dataset=dataset, user=request.user), request, view=self
        )
        return paginator.get_paginated_response(ReleaseOutput(page, many=True).data)

    @extend_schema(
        summary="Publish a version (owner): the build runs in the background",
        request=ReleaseInput,
        responses={
            202: inline_serializer(
                "ReleaseQueued",
                {
                    "id": serializers.IntegerField(),
                    "number": serializers.IntegerField(),
                    "status": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        data = ReleaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        release = release_publish(
            dataset=dataset,
            actor=user,
            notes=data.validated_data.get("notes", ""),
            license_id=data.validated_data.get("license", "other"),
        )
        return Response(
            {"id": release.pk, "number": release.number, "status": release.status},
            status=status.HTTP_202_ACCEPTED,
        )


class DatasetReleaseDetailApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(
        summary="One version: figures, card, and its files with sizes and sha256",
        responses=ReleaseDetailOutput,
    )
    def get(self, request: Request, slug: str, number: int) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        release = release_get(dataset=dataset, number=number, user=request.user)
        return Response(ReleaseDetailOutput(release).data)
