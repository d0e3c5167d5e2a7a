"""The datasets API: the catalogue, a dataset's details and its statistics."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets_app import services
from datasets_app.enums import LabelTask, Modality, SpanMatch
from datasets_app.models import Dataset
from datasets_app.selectors import datasets as selectors
from marketplace.core.api import paginated, request_user


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
            "spans_allow_overlap",
            "span_match",
            "span_token_overlap",
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
    label_classes = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="The classes, in order (a class's index is its position). Classification: at "
        "least two; spans: the entity classes; boxes: the object classes (at least one).",
    )
    spans_allow_overlap = serializers.BooleanField(
        required=False, help_text="Span tasks: spans may overlap (default false)."
    )
    span_match = serializers.ChoiceField(
        choices=SpanMatch.choices,
        required=False,
        help_text="Span tasks: spans agree at the same offsets (exact) or by shared word tokens "
        "(token, the default).",
    )
    span_token_overlap = serializers.FloatField(
        required=False,
        min_value=0.01,
        max_value=1,
        help_text="Span tasks, token matching: the Jaccard share of word tokens at which two "
        "spans agree (default 0.5).",
    )
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
            OpenApiParameter(name, str)
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
        return paginated(self, request, datasets, DatasetOutput)

    @extend_schema(summary="Create a dataset", request=DatasetInput, responses={201: DatasetOutput})
    def post(self, request: Request) -> Response:
        data = DatasetInput(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_create(owner=request_user(request), **data.validated_data)
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
            dataset=dataset, actor=request_user(request), **data.validated_data
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
