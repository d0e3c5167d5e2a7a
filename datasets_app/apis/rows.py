"""The row viewer's API: a dataset's rows a keyset page at a time (row_selectors)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase, QueryDict
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets_app.apis.labeling import item_payload
from datasets_app.models import Item
from datasets_app.panels import dataset_paywall
from datasets_app.selectors import datasets as selectors
from datasets_app.selectors.rows import (
    CONSENSUS_STATES,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    Cursor,
    RowPage,
    consensus_state,
    cursor_decode,
    page_size_parse,
    row_filters_parse,
    row_page,
    rows_see_all,
)


def row_output(item: Item, page: RowPage) -> dict[str, Any]:
    """One row as the API and the viewer's table show it."""
    payload = item_payload(item)
    thumbnail = next(
        (v["thumbnail_url"] for v in payload["data"].values() if isinstance(v, dict)), None
    )
    agree, labels = page.agreement.get(item.pk, (0, 0))
    return {
        "id": item.pk,
        "data": payload["data"],
        "thumbnail_url": thumbnail,
        "consensus": consensus_state(item),
        "label": item.consensus_label,
        "agreement": round(agree / labels, 3) if labels else None,
        "agreeing_labels": agree if labels else None,
        "labels": item.labels_count,
        "confidence": item.consensus_confidence,
        "flags": item.flags or [],
    }


def page_link(request: Any, cursor: Cursor | None) -> str | None:
    """The current URL with ``page`` set to ``cursor`` (None: no such page)."""
    if cursor is None:
        return None
    params: QueryDict = request.GET.copy()
    params["page"] = cursor.encode()
    return str(request.build_absolute_uri(f"{request.path}?{params.urlencode()}"))


ROW_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "id": serializers.IntegerField(),
    "data": serializers.DictField(
        help_text="The row; an image value has url and thumbnail_url instead of a path."
    ),
    "thumbnail_url": serializers.CharField(allow_null=True),
    "consensus": serializers.ChoiceField(choices=list(CONSENSUS_STATES)),
    "label": serializers.JSONField(allow_null=True, help_text="The consensus label."),
    "agreement": serializers.FloatField(
        allow_null=True, help_text="Share of the row's labels equal to its consensus label."
    ),
    "agreeing_labels": serializers.IntegerField(allow_null=True),
    "labels": serializers.IntegerField(),
    "confidence": serializers.FloatField(
        allow_null=True,
        help_text="The consensus round's confidence (weighted share or Dawid-Skene posterior).",
    ),
    "flags": serializers.ListField(child=serializers.CharField()),
}


class DatasetRowsApi(APIView):
    permission_classes = (IsAuthenticatedOrReadOnly,)

    @extend_schema(
        summary="A dataset's rows, a keyset page at a time, with consensus labels",
        description=(
            "Rows in id order. `page` is an opaque cursor taken from `next` or `previous`. "
            "Without a license (and unless you own the dataset), a dataset for sale answers "
            "**402 Payment Required** in the x402 protocol (pay and send the request again "
            "with `PAYMENT-SIGNATURE`), unless `preview=1` asks for the owner's preview: the "
            "first `preview_rows` rows, search and filters applying within it. A dataset not "
            "for sale shows the preview. "
            "`count` is the number of rows when it is cheap to know (unfiltered, or within the "
            "preview), else null."
        ),
        parameters=[
            OpenApiParameter("page", str, description="Opaque cursor."),
            OpenApiParameter(
                "page_size",
                int,
                description=f"Rows per page, default {PAGE_SIZE}, at most {MAX_PAGE_SIZE}.",
            ),
            OpenApiParameter(
                "q",
                str,
                description="Full-text search over the row's text (websearch syntax: "
                '"a phrase", or, -word); whole words, no stemming.',
            ),
            OpenApiParameter("label", str, description="Consensus label."),
            OpenApiParameter(
                "consensus",
                str,
                enum=list(CONSENSUS_STATES),
                description="decided: has a consensus label; pending: labelled, not decided; "
                "none: no labels yet.",
            ),
            OpenApiParameter("flagged", bool, description="Rows with flags."),
            OpenApiParameter(
                "preview",
                bool,
                description="Without a license: the preview instead of a 402.",
            ),
        ],
        responses={
            200: inline_serializer(
                "DatasetRowPage",
                {
                    "count": serializers.IntegerField(allow_null=True),
                    "total": serializers.IntegerField(help_text="Rows in the dataset."),
                    "preview": serializers.BooleanField(
                        help_text="True when only the first preview_rows rows are shown."
                    ),
                    "preview_rows": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "next_cursor": serializers.CharField(allow_null=True),
                    "previous_cursor": serializers.CharField(allow_null=True),
                    "results": inline_serializer("DatasetRow", ROW_FIELDS, many=True),
                },
            ),
            402: OpenApiResponse(
                description="For sale and not licensed: x402 payment requirements (body and "
                "`PAYMENT-REQUIRED`), as the release files API answers."
            ),
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponseBase:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        params = request.query_params
        user, headers = request.user, {}
        full: bool | None = rows_see_all(dataset=dataset, user=user)
        if not full and params.get("preview") not in ("1", "true"):
            outcome = dataset_paywall(request, dataset)
            if outcome is not None and outcome.response is not None:
                return outcome.response  # type: ignore[no-any-return]
            if outcome is not None:  # served as the payer: row_page works out what they see
                user, headers, full = outcome.user, dict(outcome.headers), None
        page = row_page(
            dataset=dataset,
            user=user,
            full=full,
            filters=row_filters_parse(dataset=dataset, params=params),
            cursor=cursor_decode(params.get("page", "")),
            size=page_size_parse(params.get("page_size")),
        )
        return Response(
            {
                "count": page.count,
                "total": page.total,
                "preview": not page.full,
                "preview_rows": page.preview_rows,
                "next": page_link(request, page.next),
                "previous": page_link(request, page.previous),
                "next_cursor": page.next.encode() if page.next else None,
                "previous_cursor": page.previous.encode() if page.previous else None,
                "results": [row_output(item, page) for item in page.rows],
            },
            headers=headers,
        )
