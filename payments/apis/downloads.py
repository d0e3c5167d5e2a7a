"""Licensed downloads over the API: a release's file list, and each file (ranges, HEAD).

Both take a session or an API token with the ``download`` scope; without a license, a release
for sale answers 402 and is paid per request over x402 (``payments.apis.x402``). The file URLs
work as ``data_files`` for ``datasets.load_dataset("parquet", ..., storage_options={"headers":
{"Authorization": "Bearer dbt_..."}})``: fsspec sends HEAD, then range GETs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpResponseBase
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.apis.x402 import PAYMENT_REQUIRED_RESPONSE, serve_or_charge, with_headers
from payments.services.downloads import download_file_get, release_files, release_files_list
from payments.views.downloads import file_response

ERROR_OUTPUT = inline_serializer(
    "DownloadErrorOutput", {"detail": serializers.CharField(), "code": serializers.CharField()}
)


class FirstRenderer(BaseContentNegotiation):
    """The file endpoint answers bytes whatever ``Accept`` says (fsspec, curl and browsers send
    different ones); only its error bodies go through a renderer, the first configured one."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


class FileOutput(serializers.Serializer[Any]):
    name = serializers.CharField(
        help_text='Path in the release: "data/train-00000-of-00001.parquet"'
    )
    url = serializers.URLField(help_text="GET (ranges allowed) with the same credentials")
    sha256 = serializers.CharField()
    rows = serializers.IntegerField(allow_null=True, help_text="Rows in a Parquet shard")
    size = serializers.IntegerField(help_text="Bytes")


class ReleaseFilesOutput(serializers.Serializer[Any]):
    dataset = serializers.CharField(help_text="The dataset's slug")
    version = serializers.IntegerField(help_text="The release number (v1 is 1)")
    content_hash = serializers.CharField()
    files = FileOutput(many=True)


class ReleaseFilesApi(APIView):
    permission_classes = (AllowAny,)  # no license: 402, pay per request (x402)
    token_scope = "download"  # noqa: S105 - a scope name

    @extend_schema(
        summary="A licensed release's files, with their download URLs",
        description="The latest ready release you hold a license for, or `?version=<n>`. "
        "Without a license covering it: **402 Payment Required** (x402) when it is for sale, "
        "403 `license_required` when it is not (a free license is claimed first). Send the "
        "request again with `PAYMENT-SIGNATURE` to pay; no session or token is needed.",
        parameters=[
            OpenApiParameter(
                "version",
                int,
                description="Release number; default: the latest you are licensed for",
            )
        ],
        responses={
            200: ReleaseFilesOutput,
            402: PAYMENT_REQUIRED_RESPONSE,
            403: ERROR_OUTPUT,
            404: ERROR_OUTPUT,
            409: ERROR_OUTPUT,
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponseBase:
        raw_version = request.query_params.get("version")
        version = None
        if raw_version not in (None, ""):
            version = serializers.IntegerField(min_value=1).run_validation(raw_version)
        served = serve_or_charge(
            request,
            lambda user: release_files_list(user=user, dataset_slug=slug, version=version),
            lambda payer, release: release_files(user=payer, release=release),
        )
        if isinstance(served, Response):
            return served
        listing, headers = served
        release = listing.release
        return Response(
            {
                "dataset": release.dataset.slug,
                "version": release.number,
                "content_hash": release.content_hash,
                "files": [
                    {
                        "name": f.name,
                        "url": request.build_absolute_uri(reverse("api-file", args=[f.pk])),
                        "sha256": f.sha256,
                        "rows": f.rows,
                        "size": f.size_bytes,
                    }
                    for f in listing.files
                ],
            },
            headers={"Cache-Control": "private, no-store", **headers},
        )


class ReleaseFileApi(APIView):
    permission_classes = (AllowAny,)  # no license: 402, pay per request (x402)
    token_scope = "download"  # noqa: S105 - a scope name
    content_negotiation_class = FirstRenderer

    @extend_schema(
        summary="Download one release file (HEAD and Range requests supported)",
        description="Streams the file with `Content-Length`, `ETag` (its sha256) and "
        "`Accept-Ranges: bytes`. `Range: bytes=a-b`, `a-` or `-n` answers 206 with "
        "`Content-Range`; a range past the end answers 416.",
        parameters=[
            OpenApiParameter("Range", str, OpenApiParameter.HEADER, description="bytes=a-b"),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
            (206, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The requested byte range"
            ),
            402: PAYMENT_REQUIRED_RESPONSE,
            403: ERROR_OUTPUT,
            404: ERROR_OUTPUT,
            409: ERROR_OUTPUT,
            416: OpenApiResponse(description="Range not satisfiable"),
        },
    )
    def get(self, request: Request, file_id: int) -> HttpResponseBase:
        served = serve_or_charge(
            request,
            lambda user: download_file_get(user=user, file_id=file_id),
        )
        if isinstance(served, Response):
            return served
        release_file, headers = served
        response = file_response(
            request._request,
            release_file,
            filename=release_file.name.rsplit("/", 1)[-1],
        )
        return with_headers(response, headers)
