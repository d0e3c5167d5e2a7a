"""Per-column statistics of a release, gathered in the build's one pass over its rows.

A build can stream millions of rows, so every accumulator here holds a bounded amount whatever
the row count: counters, running min/max/sum, and

* text lengths counted per length (at most ``readers.cast.MAX_STRING_LENGTH + 1`` distinct
  lengths, usually a few hundred), folded into at most ``HISTOGRAM_BINS`` equal-width bins at the
  end, so the length histogram is exact;
* numbers counted per distinct value while there are at most ``EXACT_VALUES`` of them (stars,
  years, flags: one bar per value, exact), then a reservoir sample of ``SAMPLE_SIZE`` values
  (Algorithm R, seeded, so a rebuild of the same rows gives the same figures) binned into equal
  widths between the exact min and max and scaled to the count; ``approximate`` says so;
* label classes counted per class (the class list is the dataset's, so bounded).

``ReleaseStatistics.result()`` is what ``DatasetRelease.statistics`` stores (JSON)::

    {"rows": 3, "label_column": "label", "columns": [
        {"name": "text", "dtype": "string", "kind": "text", "count": 3, "nulls": 0,
         "null_share": 0.0, "empty": 0, "length": {"min": 5, "max": 9, "mean": 7.0,
         "histogram": [{"low": 5, "high": 5, "count": 1}, ...]}},
        {"name": "stars", "dtype": "int64", "kind": "number", ..., "min": 1, "max": 5,
         "mean": 3.0, "histogram": {"kind": "values", "approximate": false,
         "bins": [{"low": 1, "high": 1, "count": 1}, ...]}},
        {"name": "verified", "dtype": "bool", "kind": "boolean", ..., "true": 2, "false": 1},
        {"name": "image", "dtype": "image", "kind": "image", ..., "width": {...},
         "height": {...}, "bytes": {...}, "formats": {"PNG": 3}},
        {"name": "label", "dtype": "ClassLabel", "kind": "label", "task": "single_label", ...,
         "classes": [{"name": "negative", "count": 1, "share": 0.5}, ...]}]}

``count`` is the non-null values, ``null_share`` the share of rows without one (for the label
column: rows without a consensus label).
"""

from __future__ import annotations

import math
import posixpath
import random
from collections import Counter
from typing import Any

from datasets_app.enums import LabelTask

HISTOGRAM_BINS = 20
EXACT_VALUES = 20  # distinct numbers counted exactly, one bar each
SAMPLE_SIZE = 4_096  # reservoir for the histogram of numbers with more distinct values
MAX_FORMATS = 12  # image formats named; the rest count as "other"
NICE_STEPS = (1, 2, 5)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float) -> float | int:
    """Six significant digits: enough for a page, stable in JSON."""
    if isinstance(value, int):
        return value
    if value == 0 or not math.isfinite(value):
        return 0.0
    return round(value, max(0, 5 - math.floor(math.log10(abs(value)))))


def nice_width(span: int, bins: int = HISTOGRAM_BINS) -> int:
    """The smallest width of 1, 2, 5, 10, 20, 50, ... that covers ``span`` integers in at most
    ``bins`` bins."""
    scale = 1
    while True:
        for step in NICE_STEPS:
            if step * scale * bins >= span:
                return step * scale
        scale *= 10


class Lengths:
    """Integer lengths (characters, labels per row): exact counts per length."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def add(self, length: int) -> None:
        counts = self.counts
        counts[length] = counts.get(length, 0) + 1

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def result(self) -> dict[str, Any] | None:
        if not self.counts:
            return None
        low, high = min(self.counts), max(self.counts)
        width = nice_width(high - low + 1)
        start = low - low % width
        bins = [
            {"low": edge, "high": edge + width - 1, "count": 0}
            for edge in range(start, high + 1, width)
        ]
        for length, count in self.counts.items():
            bins[(length - start) // width]["count"] += count
        total = sum(length * count for length, count in self.counts.items())
        return {
            "min": low,
            "max": high,
            "mean": _round(total / self.n),
            "histogram": bins,
        }


class Numbers:
    """int64 / float64 values: min, max, mean, and a histogram (exact per value while there are
    few distinct values, else from a reservoir sample)."""

    def __init__(self, *, seed: int = 0) -> None:
        self.n = 0
        self.total: float = 0
        self.low = math.inf
        self.high = -math.inf
        self.exact: dict[float, int] | None = {}
        self.sample: list[float] = []
        self.random = random.Random(seed)  # noqa: S311 - sampling for a chart, not secrets
        # Algorithm L (Li, 1994): the 1-based position of the next value to take into the full
        # sample, and its weight; a few random draws per replacement, none per skipped value.
        self._next = 0
        self._weight = 1.0

    def _draw(self) -> float:
        return self.random.random() or 1e-300  # (0, 1): the logarithms below need it

    def _skip(self) -> None:
        self._weight *= math.exp(math.log(self._draw()) / SAMPLE_SIZE)
        self._next += math.floor(math.log(self._draw()) / math.log(1 - self._weight)) + 1

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value
        exact = self.exact
        if exact is not None:
            exact[value] = exact.get(value, 0) + 1
            if len(exact) > EXACT_VALUES:
                self.exact = None
        # A uniform sample of every value seen so far (reservoir sampling).
        if self.n <= SAMPLE_SIZE:
            self.sample.append(value)
            if self.n == SAMPLE_SIZE:
                self._next = SAMPLE_SIZE
                self._skip()
        elif self.n == self._next:
            self.sample[self.random.randrange(SAMPLE_SIZE)] = value
            self._skip()

    def result(self) -> dict[str, Any]:
        if not self.n:
            return {"min": None, "max": None, "mean": None, "histogram": None}
        return {
            "min": _round(self.low),
            "max": _round(self.high),
            "mean": _round(self.total / self.n),
            "histogram": self._histogram(self.low, self.high),
        }

    def _histogram(self, low: float, high: float) -> dict[str, Any]:
        if self.exact is not None:
            return {
                "kind": "values",
                "approximate": False,
                "bins": [
                    {"low": _round(v), "high": _round(v), "count": c}
                    for v, c in sorted(self.exact.items())
                ],
            }
        width = (high - low) / HISTOGRAM_BINS
        counts = [0] * HISTOGRAM_BINS
        for value in self.sample:
            counts[min(int((value - low) / width), HISTOGRAM_BINS - 1)] += 1
        approximate = self.n > len(self.sample)
        scale = self.n / len(self.sample)
        return {
            "kind": "ranges",
            "approximate": approximate,
            "bins": [
                {
                    "low": _round(low + i * width),
                    "high": _round(low + (i + 1) * width),
                    "count": round(count * scale),
                }
                for i, count in enumerate(counts)
            ],
        }


KINDS = {
    "string": "text",
    "int64": "number",
    "float64": "number",
    "bool": "boolean",
    "image": "image",
}


class Column:
    """One source column: nulls plus what its type allows."""

    def __init__(self, name: str, dtype: str, *, seed: int = 0) -> None:
        self.name, self.dtype = name, dtype
        self.kind = KINDS.get(dtype, "other")
        self.nulls = 0
        self.count = 0
        self.empty = 0
        self.lengths = Lengths()
        self.numbers = Numbers(seed=seed)
        self.true = 0
        self.widths = Numbers(seed=seed)
        self.heights = Numbers(seed=seed)
        self.sizes = Numbers(seed=seed)
        self.formats: Counter[str] = Counter()
        self._add = {
            "text": self._add_text,
            "number": self._add_number,
            "boolean": self._add_boolean,
            "image": self._add_image,
        }.get(self.kind, self._add_other)

    def add(self, value: Any, *, image_bytes: int = 0) -> None:
        if value is None:
            self.nulls += 1
        else:
            self.count += 1
            self._add(value, image_bytes)

    def _add_text(self, value: Any, _: int) -> None:
        length = len(value) if isinstance(value, str) else len(str(value))
        if not length:
            self.empty += 1
        self.lengths.add(length)

    def _add_number(self, value: Any, _: int) -> None:
        if isinstance(value, int | float) and math.isfinite(value):
            self.numbers.add(value)

    def _add_boolean(self, value: Any, _: int) -> None:
        if value:
            self.true += 1

    def _add_other(self, value: Any, _: int) -> None:
        pass

    def _add_image(self, value: Any, size: int) -> None:
        if not isinstance(value, dict):
            return
        for key, numbers in (("width", self.widths), ("height", self.heights)):
            if isinstance(value.get(key), int):
                numbers.add(value[key])
        self.sizes.add(size)
        name = str(value.get("format") or "")
        if not name:
            extension = posixpath.splitext(str(value.get("file_name") or value.get("path")))[1]
            name = extension.lstrip(".").upper() or "unknown"
        if name not in self.formats and len(self.formats) >= MAX_FORMATS:
            name = "other"
        self.formats[name] += 1

    def result(self, rows: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "kind": self.kind,
            "count": self.count,
            "nulls": self.nulls,
            "null_share": _share(self.nulls, rows),
        }
        kind = self.kind
        if kind == "text":
            out |= {"empty": self.empty, "length": self.lengths.result()}
        elif kind == "number":
            out |= self.numbers.result()
        elif kind == "boolean":
            out |= {"true": self.true, "false": self.count - self.true}
        elif kind == "image":
            out |= {
                "width": _without_histogram(self.widths),
                "height": _without_histogram(self.heights),
                "bytes": _without_histogram(self.sizes),
                "formats": dict(self.formats.most_common()),
            }
        return out


def _without_histogram(numbers: Numbers) -> dict[str, Any] | None:
    if not numbers.n:
        return None  # not known (images added without their dimensions)
    figures = numbers.result()
    figures.pop("histogram")
    return {**figures, "count": numbers.n}


# Spans and boxes (issue 16): the release stores a struct of lists; this key holds the classes.
ANNOTATION_CLASS_KEYS: dict[str, str] = {LabelTask.SPANS: "label", LabelTask.BOXES: "category"}


class LabelColumn:
    """The consensus label: class balance (single- and multi-label; spans and boxes: entities
    per class, and entities per row) or text lengths."""

    def __init__(self, name: str, task: str, classes: list[str], dtype: str) -> None:
        self.name, self.task, self.classes, self.dtype = name, task, classes, dtype
        self.nulls = 0
        self.count = 0
        self.per_class = [0] * len(classes)
        self.per_row = Lengths()  # multi-label: labels per row; spans, boxes: entities per row
        self.lengths = Lengths()  # free text
        self._single = task == LabelTask.SINGLE_LABEL
        self._multi = task == LabelTask.MULTI_LABEL
        self._class_key = ANNOTATION_CLASS_KEYS.get(str(task))

    def add(self, label: Any) -> None:
        """``label`` as the release stores it: a class index, a list of them, text, or (spans,
        boxes) a dict of lists."""
        if label is None:
            self.nulls += 1
            return
        self.count += 1
        if self._single:
            self.per_class[label] += 1
        elif self._multi or self._class_key is not None:
            indexes = label[self._class_key] if self._class_key is not None else label
            for index in indexes:
                self.per_class[index] += 1
            self.per_row.add(len(indexes))
        else:
            self.lengths.add(len(label))

    def result(self, rows: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "kind": "label",
            "task": str(self.task),
            "count": self.count,
            "nulls": self.nulls,
            "null_share": _share(self.nulls, rows),
        }
        if self.task == LabelTask.FREE_TEXT:
            return out | {"length": self.lengths.result()}
        # Shares are of labelled rows (multi-label: rows carrying the class); spans and boxes:
        # of all the spans or boxes.
        whole = sum(self.per_class) if self._class_key is not None else self.count
        out["classes"] = [
            {"name": name, "count": count, "share": _share(count, whole)}
            for name, count in zip(self.classes, self.per_class, strict=True)
        ]
        if self.task == LabelTask.MULTI_LABEL or self._class_key is not None:
            out["labels_per_row"] = self.per_row.result()
        return out


class ReleaseStatistics:
    """Fed one row at a time by the build; ``result()`` once at the end."""

    def __init__(
        self,
        *,
        columns: list[dict[str, Any]],
        label_name: str,
        label_task: str,
        label_classes: list[str],
        label_dtype: str,
        seed: int = 0,
    ) -> None:
        self.rows = 0
        self.columns = [Column(c["name"], c["dtype"], seed=seed) for c in columns]
        self.label = LabelColumn(label_name, label_task, list(label_classes), label_dtype)

    def add(self, data: dict[str, Any], label: Any, image_bytes: dict[str, int]) -> None:
        """``data``: the item's stored values; ``label``: as written to the release."""
        self.rows += 1
        for column in self.columns:
            column.add(data.get(column.name), image_bytes=image_bytes.get(column.name, 0))
        self.label.add(label)

    def result(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "label_column": self.label.name,
            "columns": [
                *(column.result(self.rows) for column in self.columns),
                self.label.result(self.rows),
            ],
        }
