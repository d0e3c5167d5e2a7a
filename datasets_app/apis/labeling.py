"""The labeling API: the next item, undo, labels, skips and gold answers."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from drf_spectacular.utils import (
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets_app import services
from datasets_app.enums import LabelTask
from datasets_app.models import Dataset, Item, Label
from datasets_app.selectors import datasets as selectors
from datasets_app.selectors.labeling import item_get, label_list
from datasets_app.services.consensus import item_image_size, item_text
from marketplace.core.api import paginated, request_user


def item_payload(item: Item, dataset: Dataset | None = None) -> dict[str, Any]:
    """An item as labelers see it: its data, with image paths turned into URLs. Whether it is a
    gold item is never shown (they are interleaved unannounced). Given its span or box
    ``dataset``, also ``annotate``: the text the spans point into, or the image (URL and
    original width and height) the boxes are drawn on."""
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
    payload: dict[str, Any] = {"id": item.pk, "data": data}
    if dataset is not None and dataset.label_task == LabelTask.SPANS:
        payload["annotate"] = {"text": item_text(dataset, item)}
    elif dataset is not None and dataset.label_task == LabelTask.BOXES:
        image = data.get(dataset.image_column or "")
        size = item_image_size(dataset, item)
        payload["annotate"] = {
            "image_url": image.get("url") if isinstance(image, dict) else None,
            "width": size[0] if size else None,
            "height": size[1] if size else None,
        }
    return payload


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
        item = services.labeling_next_item(dataset=dataset, user=request_user(request))
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(item_payload(item, dataset))


class LabelingUndoApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Take back your latest label; its item is yours again",
        request=None,
        responses=ItemOutput,
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_visible(slug=slug, user=request.user)
        return Response(
            item_payload(services.label_undo(dataset=dataset, user=request_user(request)), dataset)
        )


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
            item=item_get(item_id=item_id),
            user=request_user(request),
            value=data.validated_data["value"],
        )
        return Response({"id": label.pk, "item": label.item_id}, status=status.HTTP_201_CREATED)


class ItemSkipApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(summary="Pass on an item reserved for you", request=None, responses={204: None})
    def post(self, request: Request, item_id: int) -> Response:
        services.label_skip(item=item_get(item_id=item_id), user=request_user(request))
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
            item=item_get(item_id=item_id),
            actor=request_user(request),
            gold_label=data.validated_data["gold_label"],
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
        return paginated(self, request, label_list(user=request_user(request)), LabelOutput)
