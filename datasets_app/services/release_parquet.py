"""A release's Parquet shards: the Hugging Face ``Features`` of a dataset's release (ClassLabel and
Image in the schema metadata), the shard writer (at most ``RELEASE_SHARD_ROWS`` rows a shard, a
row group per ~100k rows or ~128 MB), and the values that go in the label and image columns.

Spans and boxes use the layouts of the Hub's token-classification and object-detection datasets,
``Sequence`` of a dict (stored as a struct of lists, one entry per span or box):

* spans, column ``label``: ``Sequence({"start": int32, "end": int32, "label": ClassLabel})``,
  character offsets into the text column (end exclusive);
* boxes, column ``objects``: ``Sequence({"bbox": Sequence(float32, length=4), "category":
  ClassLabel})``, ``bbox`` = ``[x, y, w, h]`` in pixels of the original image, x, y the top-left
  corner (COCO).

A row without a consensus label is null; a consensus of "nothing to mark" is empty lists."""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.storage import default_storage

from datasets_app.enums import LabelTask
from datasets_app.integrations.images import upright_bytes
from datasets_app.integrations.readers.cast import features_for
from datasets_app.models import Dataset
from datasets_app.models.releases import release_label_column

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

DEFAULT_SHARD_ROWS = 500_000
ROW_GROUP_ROWS = 100_000
ROW_GROUP_BYTES = 128 * 1024 * 1024  # estimated from the values' sizes


def shard_rows_setting() -> int:
    # settings/base.py declares RELEASE_SHARD_ROWS (env); the default keeps this module usable.
    return max(1, int(getattr(settings, "RELEASE_SHARD_ROWS", DEFAULT_SHARD_ROWS)))


def spans_feature(classes: list[str]) -> datasets.Sequence:
    import datasets

    return datasets.Sequence(
        {
            "start": datasets.Value("int32"),
            "end": datasets.Value("int32"),
            "label": datasets.ClassLabel(names=classes),
        }
    )


def boxes_feature(classes: list[str]) -> datasets.Sequence:
    import datasets

    return datasets.Sequence(
        {
            "bbox": datasets.Sequence(datasets.Value("float32"), length=4),
            "category": datasets.ClassLabel(names=classes),
        }
    )


def release_features(dataset: Dataset) -> tuple[datasets.Features, str]:
    """The HF ``Features`` of a release of ``dataset``, and the name of its label column."""
    import datasets

    features = features_for(dataset.columns)
    name = release_label_column(dataset)
    if dataset.label_task == LabelTask.SPANS:
        features[name] = spans_feature(list(dataset.label_classes))
    elif dataset.label_task == LabelTask.BOXES:
        features[name] = boxes_feature(list(dataset.label_classes))
    elif dataset.label_task == LabelTask.SINGLE_LABEL:
        features[name] = datasets.ClassLabel(names=list(dataset.label_classes))
    elif dataset.label_task == LabelTask.MULTI_LABEL:
        features[name] = datasets.List(datasets.ClassLabel(names=list(dataset.label_classes)))
    else:
        features[name] = datasets.Value("string")
    return features, name


@dataclass
class Shard:
    path: Path
    rows: int = 0
    labelled: int = 0
    arrow_bytes: int = 0  # in-memory Arrow size, the HF card's num_bytes
    sha256: str = ""
    size_bytes: int = 0


@dataclass
class ShardWriter:
    """Writes rows into Parquet shards of at most ``shard_rows`` rows, a row group per
    ``ROW_GROUP_ROWS`` rows or ``ROW_GROUP_BYTES`` bytes."""

    folder: Path
    schema: pa.Schema
    shard_rows: int
    shards: list[Shard] = field(default_factory=list)
    _writer: pq.ParquetWriter | None = None
    _buffer: dict[str, list[Any]] = field(default_factory=dict)
    _buffered_rows: int = 0
    _buffered_bytes: int = 0
    _buffered_labelled: int = 0

    def __post_init__(self) -> None:
        self._reset_buffer()

    def _reset_buffer(self) -> None:
        self._buffer = {name: [] for name in self.schema.names}
        self._buffered_rows = self._buffered_bytes = self._buffered_labelled = 0

    def add(self, row: dict[str, Any], *, size: int, labelled: bool) -> None:
        for name, values in self._buffer.items():
            values.append(row.get(name))
        self._buffered_rows += 1
        self._buffered_bytes += size
        self._buffered_labelled += int(labelled)
        shard_filled = (self.shards[-1].rows if self._writer else 0) + self._buffered_rows
        if (
            self._buffered_rows >= ROW_GROUP_ROWS
            or self._buffered_bytes >= ROW_GROUP_BYTES
            or shard_filled >= self.shard_rows
        ):
            self._flush()
        if self._writer is not None and self.shards[-1].rows >= self.shard_rows:
            self._close_shard()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._buffered_rows:
            return
        if self._writer is None:
            shard = Shard(path=self.folder / f"shard-{len(self.shards):05d}.parquet")
            self.shards.append(shard)
            self._writer = pq.ParquetWriter(shard.path, self.schema, compression="zstd")
        table = pa.Table.from_pydict(self._buffer, schema=self.schema)
        self._writer.write_table(table, row_group_size=table.num_rows)  # one row group
        shard = self.shards[-1]
        shard.rows += table.num_rows
        shard.labelled += self._buffered_labelled
        shard.arrow_bytes += table.nbytes
        self._reset_buffer()

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> list[Shard]:
        self._flush()
        self._close_shard()
        for shard in self.shards:
            shard.sha256, shard.size_bytes = _sha256_of(shard.path)
        return self.shards


def _sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as file:
        while block := file.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def image_value(value: Any) -> tuple[dict[str, Any] | None, int]:
    """The HF ``Image`` struct for a stored image: its bytes (turned upright when its EXIF tag
    says so) and its name in the upload."""
    if not isinstance(value, dict) or not value.get("path"):
        return None, 0
    with default_storage.open(value["path"], "rb") as stored:
        data = upright_bytes(stored.read())  # as shown, and as box coordinates mean it
    name = value.get("file_name") or posixpath.basename(value["path"])
    return {"bytes": data, "path": name}, len(data)


def label_value(dataset: Dataset, label: Any, classes: dict[str, int]) -> Any:
    """A consensus label as the release stores it (class names as ClassLabel indexes); a label
    that does not fit raises KeyError, TypeError or ValueError."""
    if label is None:
        return None
    if dataset.label_task == LabelTask.SPANS:
        spans = [(int(s["start"]), int(s["end"]), classes[str(s["label"])]) for s in label]
        spans.sort()
        return {
            "start": [start for start, _, _ in spans],
            "end": [end for _, end, _ in spans],
            "label": [index for _, _, index in spans],
        }
    if dataset.label_task == LabelTask.BOXES:
        boxes = [
            ([float(b["x"]), float(b["y"]), float(b["w"]), float(b["h"])], classes[str(b["label"])])
            for b in label
        ]
        return {"bbox": [bbox for bbox, _ in boxes], "category": [index for _, index in boxes]}
    if dataset.label_task == LabelTask.SINGLE_LABEL:
        return classes[str(label)]
    if dataset.label_task == LabelTask.MULTI_LABEL:
        return sorted(classes[str(name)] for name in label)
    return str(label)


def content_hash_of(files: list[tuple[str, str]]) -> str:
    """sha256 over the sorted ``"name:sha256"`` lines of a release's shards."""
    lines = sorted(f"{name}:{digest}" for name, digest in files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
