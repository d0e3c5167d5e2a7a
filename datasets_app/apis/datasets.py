"""The datasets API: catalogue, contributions (direct and chunked uploads), labeling."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets_app import services
from datasets_app.enums import FINISHED_CONTRIBUTION_STATUSES, LabelTask, Modality
from datasets_app.exceptions import UploadError
from datasets_app.models import Contribution, Dataset, Item, Label, UploadSession
from datasets_app.quality.pii import PiiKind
from datasets_app.selectors import datasets as selectors
from marketplace.core.api import Pagination
from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User

CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


class DatasetOutput(serializers.ModelSerializer[Dataset]):
    owner = serializers.CharField(source="owner.address")

    class Meta:
        model = Dataset
        fields = (
            "slug",
            "title",
            "description",
            "card_markdown",
            "modality",
            "columns",
            "label_task",
            "label_classes",
            "guidelines",
            "labels_per_item",
            "accepting_contributions",
            "status",
            "language",
            "pii_policy",
            "near_duplicate_threshold",
            "preview_rows",
            "min_labelled_share",
            "agreement_alpha",
            "owner",
            "items_count",
            "labels_count",
            "contributions_count",
            "created_at",
            "updated_at",
        )


class DatasetInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=500)
    card_markdown = serializers.CharField(required=False, allow_blank=True)
    modality = serializers.ChoiceField(choices=Modality.choices)
    columns = serializers.ListField(child=serializers.DictField(), allow_empty=False)
    label_task = serializers.ChoiceField(choices=LabelTask.choices)
    label_classes = serializers.ListField(child=serializers.CharField(), required=False)
    guidelines = serializers.CharField(required=False, allow_blank=True)
    labels_per_item = serializers.IntegerField(required=False, min_value=1, max_value=15)
    accepting_contributions = serializers.BooleanField(required=False)
    status = serializers.ChoiceField(choices=["draft", "open", "closed"], required=False)
    language = serializers.CharField(required=False, allow_blank=True, max_length=8)
    pii_policy = serializers.ChoiceField(choices=["reject", "flag"], required=False)
    near_duplicate_threshold = serializers.FloatField(required=False, min_value=0.5, max_value=1)
    preview_rows = serializers.IntegerField(required=False, min_value=0, max_value=1000)
    min_labelled_share = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        help_text="Publishing a release with a smaller share of rows carrying a consensus label "
        "needs confirm_low_labelled_share.",
    )


class DatasetListCreateApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(
        summary="The dataset catalogue",
        parameters=[
            OpenApiParameter(name, str, required=False)
            for name in ("search", "modality", "label_task", "order", "page")
        ],
        responses=DatasetOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        datasets = selectors.dataset_list(
            search=request.query_params.get("search", ""),
            modality=request.query_params.get("modality", ""),
            label_task=request.query_params.get("label_task", ""),
            order=request.query_params.get("order", "newest"),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(datasets, request, view=self)
        return paginator.get_paginated_response(DatasetOutput(page, many=True).data)

    @extend_schema(summary="Create a dataset", request=DatasetInput, responses={201: DatasetOutput})
    def post(self, request: Request) -> Response:
        data = DatasetInput(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_create(owner=_user(request), **data.validated_data)
        return Response(DatasetOutput(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(summary="One dataset", responses=DatasetOutput)
    def get(self, request: Request, slug: str) -> Response:
        return Response(DatasetOutput(selectors.dataset_visible(slug=slug, user=request.user)).data)

    @extend_schema(summary="Edit a dataset (owner)", request=DatasetInput, responses=DatasetOutput)
    def patch(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        data = DatasetInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_update(
            dataset=dataset, actor=_user(request), **data.validated_data
        )
        return Response(DatasetOutput(dataset).data)


class DatasetStatsApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(
        summary="Rows, contributors, labels, agreement and labels per day",
        responses=inline_serializer(
            "DatasetStats",
            {
                "rows": serializers.IntegerField(),
                "labels": serializers.IntegerField(),
                "contributors": serializers.IntegerField(),
                "labelers": serializers.IntegerField(),
                "fully_labelled": serializers.IntegerField(),
                "agreement": serializers.FloatField(
                    allow_null=True,
                    help_text="Krippendorff's alpha (nominal) over the labels, gold checks "
                    "left out; null before the first consensus round.",
                ),
                "with_consensus": serializers.IntegerField(),
                "labels_per_day": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        return Response(selectors.dataset_stats(dataset=dataset))


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
            contributor=_user(request),
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
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.contribution_list(user=_user(request)), request, view=self
        )
        return paginator.get_paginated_response(ContributionOutput(page, many=True).data)


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
            dataset=dataset, user=_user(request), **data.validated_data
        )
        body = {**UploadOutput(session).data, "chunk_size": settings.UPLOAD_CHUNK_BYTES}
        return Response(body, status=status.HTTP_201_CREATED)


class UploadChunkApi(APIView):
    """``PUT`` one chunk as the raw body with ``Content-Range: bytes START-END/TOTAL``; ``GET``
    tells how many bytes arrived (where to resume); ``DELETE`` aborts."""

    permission_classes = (IsAuthenticated,)
    parser_classes = (JSONParser,)  # chunks are read raw from the body

    def _session(self, request: Request, upload_id: str) -> UploadSession:
        session = UploadSession.objects.filter(pk=upload_id, user=_user(request)).first()
        if session is None:
            raise NotFoundError("No such upload.")
        return session

    @extend_schema(summary="Upload progress (resume from received_bytes)", responses=UploadOutput)
    def get(self, request: Request, upload_id: str) -> Response:
        return Response(UploadOutput(self._session(request, upload_id)).data)

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
            session_id=upload_id, user=_user(request), offset=start, data=body
        )
        return Response(UploadOutput(session).data)

    @extend_schema(summary="Abort an upload", responses={204: None})
    def delete(self, request: Request, upload_id: str) -> Response:
        services.upload_session_abort(session_id=upload_id, user=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadCompleteApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Finish an upload: it becomes a contribution",
        request=None,
        responses={201: ContributionOutput},
    )
    def post(self, request: Request, upload_id: str) -> Response:
        contribution = services.upload_session_complete(session_id=upload_id, user=_user(request))
        return Response(ContributionOutput(contribution).data, status=status.HTTP_201_CREATED)


def item_payload(item: Item) -> dict[str, Any]:
    """An item as labelers see it: its data, with image paths turned into URLs. Whether it is a
    gold item is never shown (they are interleaved unannounced)."""
    data: dict[str, Any] = {}
    for key, value in item.data.items():
        if isinstance(value, dict) and "path" in value:
            value = {
                **value,
                "url": default_storage.url(value["path"]),
                "thumbnail_url": default_storage.url(value.get("thumbnail", value["path"])),
            }
            value.pop("path", None)
            value.pop("thumbnail", None)
        data[key] = value
    return {"id": item.pk, "data": data}


ItemOutput = inline_serializer(
    "LabelingItem", {"id": serializers.IntegerField(), "data": serializers.DictField()}
)


class LabelingNextApi(APIView):
    permission_classes = (IsAuthenticated,)
    token_scope = "write"  # noqa: S105 - a scope name; handing out an item reserves a slot

    @extend_schema(
        summary="The next item to label (reserved for you); 204 when none is left",
        responses={200: ItemOutput, 204: None},
    )
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        item = services.labeling_next_item(dataset=dataset, user=_user(request))
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(item_payload(item))


class LabelingUndoApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Take back your latest label; its item is yours again",
        request=None,
        responses=ItemOutput,
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        return Response(item_payload(services.label_undo(dataset=dataset, user=_user(request))))


def _item(item_id: int) -> Item:
    item = Item.objects.select_related("dataset").filter(pk=item_id).first()
    if item is None:
        raise NotFoundError("No such item.")
    return item


class LabelCreateApi(APIView):
    permission_classes = (IsAuthenticated,)

    class LabelInput(serializers.Serializer[Any]):
        value = serializers.JSONField()

    @extend_schema(
        summary="Label an item reserved for you",
        request=LabelInput,
        responses={
            201: inline_serializer(
                "LabelCreated",
                {"id": serializers.IntegerField(), "item": serializers.IntegerField()},
            )
        },
    )
    def post(self, request: Request, item_id: int) -> Response:
        data = self.LabelInput(data=request.data)
        data.is_valid(raise_exception=True)
        label = services.label_submit(
            item=_item(item_id), user=_user(request), value=data.validated_data["value"]
        )
        return Response({"id": label.pk, "item": label.item_id}, status=status.HTTP_201_CREATED)


class ItemSkipApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(summary="Pass on an item reserved for you", request=None, responses={204: None})
    def post(self, request: Request, item_id: int) -> Response:
        services.label_skip(item=_item(item_id), user=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ItemGoldApi(APIView):
    permission_classes = (IsAuthenticated,)

    class GoldInput(serializers.Serializer[Any]):
        gold_label = serializers.JSONField(allow_null=True)

    @extend_schema(
        summary="Mark an item gold with its known answer (owner; null unmarks)",
        request=GoldInput,
        responses={204: None},
    )
    def put(self, request: Request, item_id: int) -> Response:
        data = self.GoldInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.item_set_gold(
            item=_item(item_id), actor=_user(request), gold_label=data.validated_data["gold_label"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class LabelOutput(serializers.ModelSerializer[Label]):
    dataset = serializers.CharField(source="dataset.slug")

    class Meta:
        model = Label
        fields = ("id", "dataset", "item", "value", "created_at")


class LabelListApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(summary="My labels", responses=LabelOutput(many=True))
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.label_list(user=_user(request)), request, view=self
        )
        return paginator.get_paginated_response(LabelOutput(page, many=True).data)
