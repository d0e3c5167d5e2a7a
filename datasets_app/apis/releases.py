"""The releases API: publish a version (owner), list versions, one version with its files."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets_app.models import DatasetRelease, ReleaseFile
from datasets_app.selectors import datasets as selectors
from datasets_app.selectors.releases import release_get, release_list
from datasets_app.services.releases import release_publish
from marketplace.core.api import paginated, request_user


class ReleaseOutput(serializers.ModelSerializer[DatasetRelease]):
    """A version and what it contains (the figures are frozen when it is built)."""

    version = serializers.CharField(read_only=True)
    labelled_share = serializers.SerializerMethodField(
        help_text="Share of rows with a consensus label (0..1); null before the build."
    )
    agreement_alpha = serializers.SerializerMethodField(
        help_text="Krippendorff's alpha over the labels when the version was built."
    )
    licenses = serializers.SerializerMethodField(
        help_text="Hugging Face license ids of the license tiers that covered the version when "
        "it was built (`unknown`: no tier existed then)."
    )

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
            "labelled_share",
            "agreement_alpha",
            "licenses",
            "size_bytes",
            "content_hash",
            "created_at",
            "ready_at",
        )

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_labelled_share(self, release: DatasetRelease) -> float | None:
        return (release.quality or {}).get("labelled_share")

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_agreement_alpha(self, release: DatasetRelease) -> float | None:
        return (release.quality or {}).get("agreement_alpha")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_licenses(self, release: DatasetRelease) -> list[str]:
        return list((release.quality or {}).get("licenses") or [])


class ReleaseFileOutput(serializers.ModelSerializer[ReleaseFile]):
    class Meta:
        model = ReleaseFile
        fields = ("name", "sha256", "rows", "size_bytes")


# --- The statistics' schema (what services/release_statistics.py stores) -----------------------


class BinOutput(serializers.Serializer[dict[str, Any]]):
    low = serializers.FloatField()
    high = serializers.FloatField(help_text="Inclusive for lengths and single values.")
    count = serializers.IntegerField()


class LengthOutput(serializers.Serializer[dict[str, Any]]):
    min = serializers.IntegerField()
    max = serializers.IntegerField()
    mean = serializers.FloatField()
    histogram = BinOutput(many=True, help_text="Equal-width bins of lengths, exact counts.")


class NumberHistogramOutput(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(
        choices=["values", "ranges"], help_text="values: one bin per distinct value."
    )
    approximate = serializers.BooleanField(
        help_text="Counts scaled from a uniform sample of the values."
    )
    bins = BinOutput(many=True)


class RangeOutput(serializers.Serializer[dict[str, Any]]):
    count = serializers.IntegerField()
    min = serializers.FloatField()
    max = serializers.FloatField()
    mean = serializers.FloatField()


class ClassCountOutput(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True, help_text="Of the labelled rows.")


class ColumnStatisticsOutput(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    dtype = serializers.CharField()
    kind = serializers.ChoiceField(choices=["text", "number", "boolean", "image", "label"])
    count = serializers.IntegerField(help_text="Non-null values.")
    nulls = serializers.IntegerField()
    null_share = serializers.FloatField(allow_null=True)
    empty = serializers.IntegerField(required=False, help_text="text: empty strings.")
    length = LengthOutput(
        required=False, allow_null=True, help_text="text and free-text labels (characters)."
    )
    min = serializers.FloatField(required=False, allow_null=True)
    max = serializers.FloatField(required=False, allow_null=True)
    mean = serializers.FloatField(required=False, allow_null=True)
    histogram = NumberHistogramOutput(required=False, allow_null=True)
    true = serializers.IntegerField(required=False)
    false = serializers.IntegerField(required=False)
    width = RangeOutput(required=False, allow_null=True, help_text="image: pixels, if known.")
    height = RangeOutput(required=False, allow_null=True)
    bytes = RangeOutput(required=False, allow_null=True)
    formats = serializers.DictField(child=serializers.IntegerField(), required=False)
    task = serializers.CharField(required=False, help_text="label: the label task.")
    classes = ClassCountOutput(many=True, required=False, help_text="label: class balance.")
    labels_per_row = LengthOutput(required=False, allow_null=True)


class ReleaseStatisticsOutput(serializers.Serializer[dict[str, Any]]):
    rows = serializers.IntegerField()
    label_column = serializers.CharField()
    columns = ColumnStatisticsOutput(many=True)


@extend_schema_field(ReleaseStatisticsOutput)
class StatisticsField(serializers.JSONField):
    """The stored statistics as they are ({} for a version built before they existed)."""


class ReleaseDetailOutput(ReleaseOutput):
    files = ReleaseFileOutput(many=True, read_only=True)
    features = serializers.DictField(read_only=True)
    quality = serializers.DictField(read_only=True)
    statistics = StatisticsField(read_only=True)

    class Meta(ReleaseOutput.Meta):
        fields = (
            *ReleaseOutput.Meta.fields,
            "features",
            "quality",
            "statistics",
            "card",
            "files",
        )


class ReleaseInput(serializers.Serializer[Any]):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    license = serializers.CharField(
        required=False,
        max_length=64,
        help_text="A Hugging Face license id for the card (cc-by-4.0, ...), used only when the "
        "dataset has no active license tier when the version is built: the tiers' licenses win.",
    )
    confirm_low_labelled_share = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Publish even though fewer rows than the dataset's min_labelled_share carry a "
        "consensus label (otherwise 409 labelled_share_below_minimum).",
    )


PUBLISH_REFUSED = inline_serializer(
    "ReleaseRefused",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(
            help_text="release_in_progress, or labelled_share_below_minimum (then also the "
            "figures below)"
        ),
        "labelled_rows": serializers.IntegerField(required=False),
        "rows": serializers.IntegerField(required=False),
        "labelled_share": serializers.FloatField(required=False),
        "min_labelled_share": serializers.FloatField(required=False),
    },
)


class DatasetReleaseListCreateApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(
        summary="A dataset's versions, newest first (unfinished ones only to the owner)",
        parameters=[OpenApiParameter("page", int)],
        responses=ReleaseOutput(many=True),
    )
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        return paginated(
            self, request, release_list(dataset=dataset, user=request.user), ReleaseOutput
        )

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
            ),
            409: PUBLISH_REFUSED,
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        data = ReleaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        release = release_publish(
            dataset=dataset,
            actor=request_user(request),
            notes=data.validated_data.get("notes", ""),
            license_id=data.validated_data.get("license", "other"),
            confirm_low_labelled_share=data.validated_data["confirm_low_labelled_share"],
        )
        return Response(
            {"id": release.pk, "number": release.number, "status": release.status},
            status=status.HTTP_202_ACCEPTED,
        )


class DatasetReleaseDetailApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(
        summary="One version: what it contains (rows, labelled share, agreement, licenses, "
        "per-column statistics), its card, and its files with sizes and sha256",
        responses=ReleaseDetailOutput,
    )
    def get(self, request: Request, slug: str, number: int) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        release = release_get(dataset=dataset, number=number, user=request.user)
        return Response(ReleaseDetailOutput(release).data)
