"""Releases of spans and boxes datasets (issue 16): the Parquet files load with
``datasets.load_dataset("parquet", ...)`` into exactly the Hub's layouts (no casting), the values
round-trip (class names through ``ClassLabel.int2str``), the statistics count entities per class
and the card documents the schema."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from datasets_app.models import DatasetRelease, Label
from datasets_app.selectors.releases import dataset_quality_card
from datasets_app.selectors.rows import RowFilters, release_row_page, row_page
from datasets_app.services.releases import release_build, release_publish
from tests.factories import DatasetFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db

ENTITIES = ["PER", "LOC", "ORG"]
OBJECTS = ["car", "person"]

SPANS_FEATURE = datasets.Sequence(
    {
        "start": datasets.Value("int32"),
        "end": datasets.Value("int32"),
        "label": datasets.ClassLabel(names=ENTITIES),
    }
)
BOXES_FEATURE = datasets.Sequence(
    {
        "bbox": datasets.Sequence(datasets.Value("float32"), length=4),
        "category": datasets.ClassLabel(names=OBJECTS),
    }
)


def _build(dataset: Any) -> DatasetRelease:
    release = release_publish(dataset=dataset, actor=dataset.owner, confirm_low_labelled_share=True)
    assert release_build(release_id=release.pk) == "ready", release.error
    release.refresh_from_db()
    return release


def _load(release: DatasetRelease, tmp_path: Path) -> datasets.Dataset:
    shards = release.files.exclude(name="README.md").order_by("name")
    paths = [default_storage.path(shard.file.name) for shard in shards]
    loaded = datasets.load_dataset("parquet", data_files=paths, cache_dir=str(tmp_path / "hf"))
    return loaded["train"]


def sorted_spans(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(spans, key=lambda span: (span["start"], span["end"]))


def _decided(label: Any) -> dict[str, Any]:
    return {"consensus_label": label, "consensus_at": None if label is None else timezone.now()}


def _card(release: DatasetRelease) -> tuple[dict[str, Any], str]:
    _, front, body = release.card.split("---", 2)
    return yaml.safe_load(front), body


def _card_features(metadata: dict[str, Any]) -> datasets.Features:
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    infos = DatasetInfosDict.from_dataset_card_data(DatasetCardData(**metadata))
    features = infos["default"].features
    assert features is not None
    return features


def _run_loading_snippet(
    body: str, release: DatasetRelease, tmp_path: Path, capsys: Any
) -> list[str]:
    """Run the card's loading snippet on the release's files; what it prints, line by line."""
    snippet = body.split("## Loading", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    shards = release.files.exclude(name="README.md")
    paths = [default_storage.path(shard.file.name) for shard in shards]
    snippet = snippet.replace(
        'data_files="data/train-*.parquet"',
        f"data_files={paths!r}, cache_dir={str(tmp_path / 'card')!r}",
    )
    capsys.readouterr()
    exec(snippet, {})  # noqa: S102 - the card's own example, on the test's files
    return capsys.readouterr().out.splitlines()


def test_a_spans_release_loads_as_a_sequence_of_start_end_classlabel(tmp_path, capsys):
    dataset = DatasetFactory.create(
        label_task="spans",
        label_classes=ENTITIES,
        columns=[{"name": "id", "dtype": "int64"}, {"name": "text", "dtype": "string"}],
    )
    texts = ["Ada Lovelace met Babbage in London.", "Zoë works at ACME in Paris.", "Nothing.", "?"]
    labels: list[Any] = [
        [
            {"start": 0, "end": 12, "label": "PER"},
            {"start": 17, "end": 24, "label": "PER"},
            {"start": 28, "end": 34, "label": "LOC"},
        ],
        # Stored unsorted: the release sorts by offset. Offsets count code points (the ë).
        [{"start": 21, "end": 26, "label": "LOC"}, {"start": 13, "end": 17, "label": "ORG"}],
        [],  # the labelers agreed there is nothing to mark
        None,  # undecided
    ]
    for n, (text, label) in enumerate(zip(texts, labels, strict=True)):
        ItemFactory.create(dataset=dataset, data={"id": n, "text": text}, **_decided(label))

    release = _build(dataset)
    train = _load(release, tmp_path)

    assert train.features == datasets.Features(
        {"id": datasets.Value("int64"), "text": datasets.Value("string"), "label": SPANS_FEATURE}
    )
    # The features come from the Parquet schema metadata as written: nothing was cast.
    shard = release.files.exclude(name="README.md").get()
    schema = pq.read_schema(default_storage.path(shard.file.name))
    assert b"huggingface" in (schema.metadata or {})
    assert datasets.Features.from_arrow_schema(schema) == train.features
    assert release.features == train.features.to_dict()

    names = train.features["label"]["label"].feature
    read: list[list[tuple[str, str]] | None] = []
    for row in train:
        spans = row["label"]
        if spans is None:
            read.append(None)
            continue
        read.append(
            [
                (row["text"][start:end], names.int2str(index))
                for start, end, index in zip(
                    spans["start"], spans["end"], spans["label"], strict=True
                )
            ]
        )
    assert read == [
        [("Ada Lovelace", "PER"), ("Babbage", "PER"), ("London", "LOC")],
        [("ACME", "ORG"), ("Paris", "LOC")],
        [],
        None,
    ]
    assert train[2]["label"] == {"start": [], "end": [], "label": []}

    rows = release_row_page(release=release, user=dataset.owner).rows
    assert [row["label"] for row in rows] == [labels[0], sorted_spans(labels[1]), [], None]

    statistics = release.statistics
    label = statistics["columns"][-1]
    assert statistics["label_column"] == "label"
    assert label["dtype"].startswith("Sequence({start: int32, end: int32, label: ClassLabel(3")
    assert [(c["name"], c["count"]) for c in label["classes"]] == [
        ("PER", 2),
        ("LOC", 2),
        ("ORG", 1),
    ]
    assert (label["count"], label["nulls"]) == (3, 1)
    assert (label["labels_per_row"]["min"], label["labels_per_row"]["max"]) == (0, 3)

    metadata, body = _card(release)
    assert metadata["task_categories"] == ["token-classification"]
    assert metadata["task_ids"] == ["named-entity-recognition"]
    assert _card_features(metadata) == train.features  # the YAML reads back the same
    assert "### Spans" in body
    assert 'Sequence({\n    "start": Value("int32")' in body
    assert "ClassLabel(names=['PER', 'LOC', 'ORG'])" in body
    assert "| 0 | PER |" in body and "| 2 | ORG |" in body
    assert "(`text`)" in body and "(exclusive)" in body
    assert "`text[start:end]` is the entity" in body
    assert _run_loading_snippet(body, release, tmp_path, capsys) == [
        "Ada Lovelace PER",
        "Babbage PER",
        "London LOC",
    ]


def _image(dataset: Any, size: tuple[int, int], name: str) -> dict[str, Any]:
    png = io.BytesIO()
    Image.new("RGB", size, "white").save(png, format="PNG")
    stored = default_storage.save(f"items/{dataset.pk}/{name}", ContentFile(png.getvalue()))
    return {
        "path": stored,
        "thumbnail": stored,
        "file_name": name,
        "width": size[0],
        "height": size[1],
        "format": "png",
    }


def test_a_boxes_release_loads_as_coco_style_objects(tmp_path, capsys):
    dataset = DatasetFactory.create(
        modality="image",
        label_task="boxes",
        label_classes=OBJECTS,
        columns=[{"name": "image", "dtype": "image"}, {"name": "city", "dtype": "string"}],
    )
    labels: list[Any] = [
        [
            {"x": 10, "y": 20, "w": 30, "h": 40, "label": "person"},
            {"x": 0, "y": 0, "w": 64, "h": 12, "label": "car"},
        ],
        # A consensus box is a weighted mean: coordinates need not be whole pixels.
        [{"x": 1.5, "y": 2.25, "w": 100.75, "h": 50, "label": "car"}],
        [],
        None,
    ]
    for n, label in enumerate(labels):
        image = _image(dataset, (160, 90), f"street-{n}.png")
        data = {"image": image, "city": "Oslo"}
        ItemFactory.create(dataset=dataset, data=data, **_decided(label))

    release = _build(dataset)
    train = _load(release, tmp_path)

    assert train.features == datasets.Features(
        {"image": datasets.Image(), "city": datasets.Value("string"), "objects": BOXES_FEATURE}
    )
    assert release.features == train.features.to_dict()
    assert train[0]["image"].size == (160, 90)

    names = train.features["objects"]["category"].feature
    read = [
        None
        if row["objects"] is None
        else [
            (names.int2str(category), bbox)
            for bbox, category in zip(
                row["objects"]["bbox"], row["objects"]["category"], strict=True
            )
        ]
        for row in train
    ]
    assert read == [
        [("person", [10.0, 20.0, 30.0, 40.0]), ("car", [0.0, 0.0, 64.0, 12.0])],
        [("car", [1.5, 2.25, 100.75, 50.0])],
        [],
        None,
    ]

    # The release's row viewer reads the boxes back as the dataset stores them.
    rows = release_row_page(release=release, user=dataset.owner).rows
    assert [row["label"] for row in rows] == labels
    assert rows[0]["data"]["image"]["width"] == 160 and rows[0]["data"]["image"]["height"] == 90

    label = release.statistics["columns"][-1]
    assert release.statistics["label_column"] == "objects"
    assert label["name"] == "objects"
    assert [(c["name"], c["count"], c["share"]) for c in label["classes"]] == [
        ("car", 2, round(2 / 3, 4)),
        ("person", 1, round(1 / 3, 4)),
    ]

    metadata, body = _card(release)
    assert metadata["task_categories"] == ["object-detection"]
    assert "task_ids" not in metadata
    assert _card_features(metadata) == train.features
    assert "### Boxes" in body
    assert "| `objects` | consensus label: boxes, `Sequence` of `{bbox: [x, y, w, h]" in body
    assert '"bbox": Sequence(Value("float32"), length=4),  # [x, y, w, h]' in body
    assert "in pixels of the original image" in body and "the top-left corner" in body
    assert "| 1 | person |" in body
    assert _run_loading_snippet(body, release, tmp_path, capsys) == [
        "person 10.0 20.0 30.0 40.0",
        "car 0.0 0.0 64.0 12.0",
    ]
    # The dataset page's "before you buy" schema names the column and type the release has.
    schema = dataset_quality_card(dataset=dataset)["schema"]
    assert schema[-1] == {
        "name": "objects",
        "dtype": "Sequence({bbox: [x, y, w, h] float32, category: ClassLabel(2 classes)})",
    }


def test_a_label_with_an_unknown_class_fails_the_build_with_a_clear_error():
    dataset = DatasetFactory.create(label_task="spans", label_classes=ENTITIES)
    ItemFactory.create(
        dataset=dataset,
        data={"text": "Ada"},
        **_decided([{"start": 0, "end": 3, "label": "ANIMAL"}]),
    )
    release = release_publish(dataset=dataset, actor=dataset.owner, confirm_low_labelled_share=True)
    assert release_build(release_id=release.pk) == "failed"
    release.refresh_from_db()
    assert "is not one of the dataset's classes" in release.error
    assert not release.files.exists()


def test_the_viewer_filters_spans_rows_by_class_and_counts_agreement_by_f1():
    dataset = DatasetFactory.create(label_task="spans", label_classes=ENTITIES, preview_rows=10)
    people = [{"start": 0, "end": 3, "label": "PER"}]
    place = [{"start": 7, "end": 12, "label": "LOC"}]
    first = ItemFactory.create(dataset=dataset, data={"text": "Ada in Paris"}, **_decided(people))
    second = ItemFactory.create(dataset=dataset, data={"text": "Bob in Rome."}, **_decided(place))
    ItemFactory.create(dataset=dataset, data={"text": "Nobody here"}, **_decided([]))
    # Three labels of the first row: F1 1.0 and 0.67 agree with the consensus, 0.0 does not.
    for labeler, score in zip(UserFactory.create_batch(3), [1.0, 2 / 3, 0.0], strict=True):
        Label.objects.create(
            item=first, labeler=labeler, dataset=dataset, value=people, score=score
        )

    page = row_page(dataset=dataset, user=dataset.owner, filters=RowFilters(label="LOC"))
    assert [row.pk for row in page.rows] == [second.pk]
    page = row_page(dataset=dataset, user=dataset.owner)
    assert page.agreement[first.pk] == (2, 3)
