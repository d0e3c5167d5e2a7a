"""The contributions API: direct uploads, chunked uploads, and a contribution's status and
validation report."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets_app import services
from datasets_app.enums import FINISHED_CONTRIBUTION_STATUSES
from datasets_app.exceptions import UploadError
from datasets_app.models import Contribution, UploadSession
from datasets_app.quality.pii import PiiKind
from datasets_app.selectors import datasets as selectors
from datasets_app.selectors.uploads import upload_session_get
from marketplace.core.api import paginated, request_user

CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class ScoreBucketOutput(serializers.Serializer[dict[str, Any]]):
    low = serializers.FloatField()
    high = serializers.FloatField(help_text="Exclusive, except for the last bucket (1.0).")
    rows = serializers.IntegerField()


class ScoreDistributionOutput(serializers.Serializer[dict[str, Any]]):
    rows = serializers.IntegerField(help_text="Accepted rows: the buckets add up to it.")
    min = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    mean = serializers.FloatField(allow_null=True, help_text="Mean score of the accepted rows.")
    buckets = ScoreBucketOutput(many=True, help_text="Ten buckets over 0..1.")


class PersonalDataOutput(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=[kind.value for kind in PiiKind])
    name = serializers.CharField(help_text='The kind as people read it, e.g. "card number".')
    action = serializers.ChoiceField(
        choices=["rejected", "flagged"],
        help_text="Rejected rows, or accepted rows flagged, per the dataset's policy.",
    )
    rows = serializers.IntegerField()
    sample_rows = serializers.ListField(
        child=serializers.IntegerField(), help_text="The first row numbers in the file."
    )


class ContributionOutput(serializers.ModelSerializer[Contribution]):
    dataset = serializers.CharField(source="dataset.slug")
    quality_score = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="0..1: the mean score of all rows read, a rejected row counting 0. "
        "Null until validation finishes.",
    )
    score_distribution = serializers.SerializerMethodField(
        help_text="The accepted rows' quality scores. Null until validation finishes."
    )
    personal_data = serializers.SerializerMethodField(
        help_text="Rows with personal data, per kind: rejected or flagged per the dataset's policy."
    )

    @extend_schema_field(ScoreDistributionOutput(allow_null=True))
    def get_score_distribution(self, contribution: Contribution) -> dict[str, Any] | None:
        if contribution.status not in FINISHED_CONTRIBUTION_STATUSES:
            return None
        distribution: dict[str, Any] | None = contribution.report.get("score_distribution")
        return distribution

    @extend_schema_field(PersonalDataOutput(many=True))
    def get_personal_data(self, contribution: Contribution) -> list[dict[str, Any]]:
        return list(contribution.report.get("personal_data", []))

    class Meta:
        model = Contribution
        fields = (
            "id",
            "dataset",
            "original_name",
            "file_format",
            "size_bytes",
            "sha256",
            "status",
            "progress",
            "rows_total",
            "rows_accepted",
            "rows_rejected",
            "quality_score",
            "score_distribution",
            "personal_data",
            "report",
            "created_at",
            "validated_at",
        )


class ContributionCreateApi(APIView):
    permission_classes = (IsAuthenticated,)
    parser_classes = (MultiPartParser,)

    @extend_schema(
        summary="Contribute a file (multipart `file`); large files: use uploads",
        request={
            "multipart/form-data": inline_serializer(
                "ContributionUpload", {"file": serializers.FileField()}
            )
        },
        responses={
            201: inline_serializer(
                "ContributionCreated",
                {"id": serializers.IntegerField(), "status": serializers.CharField()},
            )
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        upload = request.FILES.get("file")
        if upload is None:
            raise UploadError(
                "Send the file in a multipart field named 'file'.", code="file_missing"
            )
        contribution = services.contribution_submit(
            dataset=dataset,
            contributor=request_user(request),
            file=upload,
            filename=upload.name or "",
            size=upload.size or 0,
        )
        return Response(
            {"id": contribution.pk, "status": contribution.status}, status=status.HTTP_201_CREATED
        )


SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class ContributionFileCheckApi(APIView):
    """Asked by the contribute page before it uploads: has this very file (its SHA-256, hashed
    in the browser) been contributed to the dataset already? Only an answer to save a wasted
    upload; the upload itself is refused with 409 ``duplicate_file`` all the same."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Was a file with this SHA-256 contributed to the dataset already?",
        parameters=[OpenApiParameter("sha256", str, required=True, description="64 hex digits")],
        responses=inline_serializer(
            "ContributionFileCheck",
            {
                "sha256": serializers.CharField(),
                "duplicate": serializers.BooleanField(),
                "detail": serializers.CharField(allow_null=True),
                "code": serializers.CharField(allow_null=True),
                "contribution": serializers.IntegerField(
                    allow_null=True, help_text="The earlier contribution, when it is yours."
                ),
            },
        ),
    )
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        sha256 = request.query_params.get("sha256", "")
        if not SHA256_HEX.match(sha256):
            raise UploadError("Give the file's SHA-256 as 64 hex digits.", code="invalid_sha256")
        earlier = selectors.contribution_same_file(dataset=dataset, sha256=sha256)
        refusal = services.duplicate_file_error("This file") if earlier else None
        return Response(
            {
                "sha256": sha256.lower(),
                "duplicate": earlier is not None,
                "detail": refusal.detail if refusal else None,
                "code": refusal.code if refusal else None,
                # Someone else's contribution stays theirs: only its existence is told.
                "contribution": earlier.pk
                if earlier and earlier.contributor_id == request.user.pk
                else None,
            }
        )


class ContributionListApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(summary="My contributions", responses=ContributionOutput(many=True))
    def get(self, request: Request) -> Response:
        return paginated(
            self,
            request,
            selectors.contribution_list(user=request_user(request)),
            ContributionOutput,
        )


class ContributionDetailApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="A contribution's status and validation report", responses=ContributionOutput
    )
    def get(self, request: Request, contribution_id: int) -> Response:
        contribution = selectors.contribution_visible(
            contribution_id=contribution_id, user=request.user
        )
        return Response(ContributionOutput(contribution).data)


class UploadOutput(serializers.ModelSerializer[UploadSession]):
    contribution: serializers.PrimaryKeyRelatedField[Contribution] = (
        serializers.PrimaryKeyRelatedField(read_only=True)
    )

    class Meta:
        model = UploadSession
        fields = (
            "id",
            "filename",
            "file_format",
            "total_size",
            "received_bytes",
            "status",
            "contribution",
            "expires_at",
        )


class UploadCreateApi(APIView):
    permission_classes = (IsAuthenticated,)

    class UploadStartInput(serializers.Serializer[Any]):
        filename = serializers.CharField(max_length=255)
        total_size = serializers.IntegerField(min_value=1)

    @extend_schema(
        summary="Start a resumable chunked upload",
        request=UploadStartInput,
        responses={201: UploadOutput},
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        data = self.UploadStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = services.upload_session_create(
            dataset=dataset, user=request_user(request), **data.validated_data
        )
        body = {**UploadOutput(session).data, "chunk_size": settings.UPLOAD_CHUNK_BYTES}
        return Response(body, status=status.HTTP_201_CREATED)


class UploadChunkApi(APIView):
    """``PUT`` one chunk as the raw body with ``Content-Range: bytes START-END/TOTAL``; ``GET``
    tells how many bytes arrived (where to resume); ``DELETE`` aborts."""

    permission_classes = (IsAuthenticated,)
    parser_classes = (JSONParser,)  # chunks are read raw from the body

    @extend_schema(summary="Upload progress (resume from received_bytes)", responses=UploadOutput)
    def get(self, request: Request, upload_id: str) -> Response:
        session = upload_session_get(upload_id=upload_id, user=request_user(request))
        return Response(UploadOutput(session).data)

    @extend_schema(
        summary="Send one chunk",
        request={"application/octet-stream": bytes},
        responses=UploadOutput,
    )
    def put(self, request: Request, upload_id: str) -> Response:
        match = CONTENT_RANGE.match(request.headers.get("Content-Range", ""))
        if match is None:
            raise UploadError(
                "Send 'Content-Range: bytes START-END/TOTAL' with each chunk.",
                code="content_range_missing",
            )
        start, end, _total = (int(g) for g in match.groups())
        content_length = request.META.get("CONTENT_LENGTH") or ""
        # Before reading the body, so an oversize chunk is refused with the chunk limit.
        services.upload_chunk_size_check(
            size=max(end - start + 1, int(content_length) if content_length.isdigit() else 0)
        )
        body = request._request.body  # raw bytes; capped by DATA_UPLOAD_MAX_MEMORY_SIZE
        if end - start + 1 != len(body):
            raise UploadError(
                "Content-Range does not match the body's length.", code="content_range_mismatch"
            )
        session = services.upload_chunk_append(
            session_id=upload_id, user=request_user(request), offset=start, data=body
        )
        return Response(UploadOutput(session).data)

    @extend_schema(summary="Abort an upload", responses={204: None})
    def delete(self, request: Request, upload_id: str) -> Response:
        services.upload_session_abort(session_id=upload_id, user=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadCompleteApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Finish an upload: it becomes a contribution",
        request=None,
        responses={201: ContributionOutput},
    )
    def post(self, request: Request, upload_id: str) -> Response:
        contribution = services.upload_session_complete(
            session_id=upload_id, user=request_user(request)
        )
        return Response(ContributionOutput(contribution).data, status=status.HTTP_201_CREATED)
