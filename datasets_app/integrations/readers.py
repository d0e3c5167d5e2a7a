"""Uploaded file -> validated, typed rows, streamed in batches (DESIGN.md flow 5, "Validate").

How it works
------------
* ``detect_format`` names the format from the file name and confirms it from the first bytes
  (ZIP and Parquet magic numbers, a JSON object on the first line, plain text for CSV/TSV), so a
  ``.csv`` that is really a ZIP is refused before any parsing.
* ``read_rows`` checks the whole-file things first and eagerly (header vs. the dataset's columns,
  Parquet schema, ZIP members and sizes), raising ``ReaderError``; then it returns a generator
  of ``Batch`` es. Nothing but the current batch is ever held as Python objects:
  - CSV/TSV: Hugging Face ``datasets`` streaming CSV builder (pandas reads 10k-row chunks into
    Arrow), every column read as a string, so one bad cell never fails the file.
  - JSON Lines: the streaming ``text`` builder hands over lines (Arrow), each parsed here with
    ``json``; numbers are kept as their literal text. A malformed line is that row's error (the
    ``json`` builder infers Arrow types per block, so one odd cell would fail or re-encode the
    whole block).
  - Parquet: the streaming ``parquet`` builder yields record batches; each column is turned into
    text by Arrow (``pyarrow.compute.cast``), binary columns are decoded per cell.
  - ZIP of images: ``metadata.csv`` (Hugging Face imagefolder convention: ``file_name`` plus the
    other columns) goes through the CSV path; each row's image is read from the archive (size
    caps), opened by Pillow (``images.inspect_image``) and, if the row is accepted, stored in
    ``image_dir`` under its sha256.
  Then every cell goes through the same checks and casts (``string``, ``int64``, ``float64``,
  ``bool``), so equal data gives equal typed rows, and equal ``content_hash`` es, from any format.
* Whole-file problems raise ``ReaderError`` (codes: unsupported_format, format_mismatch,
  schema_mismatch, empty_file, corrupt_file, too_large). Some can only be seen mid-file (a
  malformed CSV line, a damaged Parquet page, more than ``max_rows`` rows), so a caller must treat
  a ``ReaderError`` raised after some batches as failing the whole upload.
* Row problems are plain messages on the row (``RowResult.errors``); the rest of the file goes on.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import csv
import hashlib
import io
import json
import math
import os
import posixpath
import re
import shutil
import stat
import struct
import tempfile
import weakref
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final, TypedDict, cast

from datasets_app.integrations import images
from marketplace.core.exceptions import ApplicationError

if TYPE_CHECKING:
    import datasets

# `datasets` and pyarrow (~1.5 s and ~130 MB to import) are imported where rows are read, so the
# web process can use detect_format() and the constants without them.

__all__ = [
    "FILE_FORMATS",
    "SUPPORTED_DTYPES",
    "Batch",
    "ColumnSpec",
    "ReaderError",
    "RowResult",
    "content_hash",
    "detect_format",
    "estimated_rows",
    "features_for",
    "read_rows",
]

SUPPORTED_DTYPES = ("string", "int64", "float64", "bool", "image")
FILE_FORMATS = ("csv", "tsv", "jsonl", "parquet", "zip")

MAX_STRING_LENGTH = 100_000  # characters, per cell
MAX_ZIP_MEMBERS = 100_000
MAX_ZIP_TOTAL_BYTES = 4 * 1024**3  # declared uncompressed size of all members together
MAX_METADATA_BYTES = 256 * 1024**2
MAX_IMAGE_BYTES = 20 * 1024**2
METADATA_FILE_NAME = "metadata.csv"
FILE_NAME_COLUMN = "file_name"

_EXTENSIONS: Final = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",  # accepted when it is JSON Lines; a JSON array is refused with a hint
    ".parquet": "parquet",
    ".pq": "parquet",
    ".zip": "zip",
}
_LABELS: Final = {
    "csv": "CSV",
    "tsv": "TSV",
    "jsonl": "JSON Lines",
    "parquet": "Parquet",
    "zip": "ZIP",
}
_HF_BATCH_ROWS = 10_000  # rows per Arrow table pulled from `datasets`; our batches are re-cut
_SNIFF_BYTES = 1024**2  # enough for any sane CSV header and first row
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = frozenset({"nan", "inf", "infinity"})
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_BOOL_WORDS = _TRUE | _FALSE
# Whole columns joined by "," (never valid inside a number, so a cell holding one fails later).
_INT_COLUMN_RE = re.compile(r"\s*[+-]?[0-9]+\s*(?:,\s*[+-]?[0-9]+\s*)*")
_FLOAT_PATTERN = r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*"
_FLOAT_COLUMN_RE = re.compile(f"{_FLOAT_PATTERN}(?:,{_FLOAT_PATTERN})*")
# macOS and Windows add these to archives on their own; they are skipped, never extracted.
_ZIP_JUNK_DIRS = ("__MACOSX/",)
_ZIP_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


class ColumnSpec(TypedDict):
    name: str
    dtype: str  # one of SUPPORTED_DTYPES


class ReaderError(ApplicationError):
    """The whole file is unusable; ``detail`` tells the contributor what to fix."""

    default_code = "corrupt_file"


@dataclass(slots=True)
class RowResult:
    row_number: int  # 1-based, counting data rows (not the header, not blank JSON lines)
    data: dict[str, Any] | None  # typed, JSON-serialisable; None when the row has errors
    errors: list[str]  # human-readable; empty means accepted
    content_hash: str | None  # see content_hash(); None when the row has errors
    # A rejected row's cells as read (text, before any cast), for the report's examples.
    raw: dict[str, str | None] | None = None

    @property
    def accepted(self) -> bool:
        return not self.errors


@dataclass
class Batch:
    rows: list[RowResult]
    rows_read: int  # data rows read so far, this batch included
    progress: float | None  # 0..1; exact for Parquet, estimated from the first MiB otherwise

    @property
    def accepted(self) -> list[RowResult]:
        return [row for row in self.rows if not row.errors]

    @property
    def rejected(self) -> list[RowResult]:
        return [row for row in self.rows if row.errors]


# ---------------------------------------------------------------------------------------------
# Format detection


def detect_format(filename: str, head: bytes) -> str:
    """The format of an upload named ``filename`` whose first bytes are ``head`` (pass at least
    the first 8 KiB; 64 KiB is better). Raises ``ReaderError`` when the extension is not one we
    read, or the content is not what the extension says."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    expected = _EXTENSIONS.get(suffix)
    if expected is None:
        shown = f"'{suffix}' files are" if suffix else "Files without an extension are"
        raise ReaderError(
            f"{shown} not supported. Upload CSV (.csv), TSV (.tsv), JSON Lines (.jsonl), "
            f"Parquet (.parquet), or a ZIP of images with {METADATA_FILE_NAME}.",
            code="unsupported_format",
        )
    if not head:
        raise ReaderError("The file is empty.", code="empty_file")
    kind = _sniff_kind(head)
    if expected in ("zip", "parquet"):
        if kind != expected:
            raise _mismatch(suffix, _describe(kind))
        return expected
    if kind != "text":
        raise _mismatch(suffix, _describe(kind))

    text = _strip_bom(head).decode("utf-8", errors="replace")
    first_line, complete = _first_nonblank_line(text)
    if first_line is None:
        raise ReaderError("The file has no data: it is blank.", code="empty_file")
    stripped = first_line.strip()
    parsed_object = _parses_as_json_object(stripped)
    if expected == "jsonl":
        if stripped.startswith("["):
            raise _mismatch(
                suffix, "is a JSON array; upload JSON Lines instead (one JSON object per line)"
            )
        if not stripped.startswith("{") or (complete and not parsed_object):
            raise _mismatch(suffix, "does not start with a JSON object on its first line")
        return expected
    if parsed_object:
        raise _mismatch(suffix, "holds JSON objects; name it .jsonl if it is JSON Lines")
    if expected == "csv" and "\t" in first_line and "," not in first_line:
        raise _mismatch(suffix, "has a tab-separated header; name it .tsv if it is TSV")
    if expected == "tsv" and "," in first_line and "\t" not in first_line:
        raise _mismatch(suffix, "has a comma-separated header; name it .csv if it is CSV")
    return expected


def _sniff_kind(head: bytes) -> str:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf16"
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")) or (
        head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    ):
        return "image"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if b"\x00" in head[:8192]:
        return "binary"
    return "text"


def _describe(kind: str) -> str:
    return {
        "zip": "is a ZIP archive",
        "parquet": "is a Parquet file",
        "gzip": "is gzip-compressed; upload it uncompressed",
        "utf16": "is UTF-16 text; save it as UTF-8",
        "image": f"is a single image; upload images in a ZIP with {METADATA_FILE_NAME}",
        "pdf": "is a PDF document",
        "binary": "is a binary file, not text",
        "text": "is a text file",
    }[kind]


def _mismatch(suffix: str, what: str) -> ReaderError:
    return ReaderError(f"The file is named {suffix} but {what}.", code="format_mismatch")


def _strip_bom(data: bytes) -> bytes:
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def _first_nonblank_line(text: str) -> tuple[str | None, bool]:
    """The first non-blank line, and whether it is certainly complete (a newline follows)."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.strip():
            return line, index < len(lines) - 1
    return None, False


def _parses_as_json_object(text: str) -> bool:
    if not text.startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Columns, typing and hashing


def features_for(columns: list[ColumnSpec]) -> datasets.Features:
    """The Hugging Face ``Features`` for a dataset's columns (``Value(dtype)``, ``Image()``)."""
    import datasets

    _check_columns(columns)
    return datasets.Features(
        {
            column["name"]: (
                datasets.Image() if column["dtype"] == "image" else datasets.Value(column["dtype"])
            )
            for column in columns
        }
    )


def content_hash(data: dict[str, Any], columns: Sequence[ColumnSpec]) -> str:
    """sha256 hex of the canonical JSON of a typed row (sorted keys, no spaces). An image counts
    by its bytes' sha256, not by its name, so a renamed copy is still a duplicate."""
    image_names = {column["name"] for column in columns if column["dtype"] == "image"}
    view = {
        name: (value["sha256"] if name in image_names else value) for name, value in data.items()
    }
    canonical = json.dumps(view, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_columns(columns: Sequence[ColumnSpec]) -> None:
    """A dataset's column spec is validated when the dataset is made; a bad one here is a bug."""
    if not columns:
        raise ValueError("a dataset needs at least one column")
    names = [column["name"] for column in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate column names in {names}")
    for column in columns:
        if not column["name"] or column["dtype"] not in SUPPORTED_DTYPES:
            raise ValueError(f"bad column spec {column!r}; dtypes are {SUPPORTED_DTYPES}")


class _CastError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _preview(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")


def _to_string(raw: str) -> str:
    return raw


def _to_int64(raw: str) -> int:
    text = raw.strip()
    if not _INT_RE.fullmatch(text):
        raise _CastError(f"expected int64, got {_preview(raw)}")
    try:
        value = int(text)
    except ValueError:  # more than Python's 4300 digits: far out of range anyway
        value = _INT64_MAX + 1
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise _CastError(f"expected int64, got {_preview(raw)} (out of range)")
    return value


def _to_float64(raw: str) -> float:
    text = raw.strip()
    if not _FLOAT_RE.fullmatch(text):
        if text.lower().lstrip("+-") in _NON_FINITE:
            raise _CastError(f"must be a finite float64, got {_preview(raw)}")
        raise _CastError(f"expected float64, got {_preview(raw)}")
    value = float(text)
    if not math.isfinite(value):  # e.g. 1e999
        raise _CastError(f"must be a finite float64, got {_preview(raw)}")
    return value


def _to_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _CastError(f"expected bool (true/false), got {_preview(raw)}")


_CASTS: Final[dict[str, Callable[[str], Any]]] = {
    "string": _to_string,
    "int64": _to_int64,
    "float64": _to_float64,
    "bool": _to_bool,
}


class _Absent:
    """A cell that is not there at all (a JSON key left out), already reported as such."""


_ABSENT: Final = _Absent()
Cell = str | None | _Absent
# A chunk of rows as read: the cells column by column (in the dataset's column order), and the
# problems already found in each row (a JSON line that does not parse, say).
_Chunk = tuple[list[list[Cell]], list[list[str]]]


def _check_cell(raw: str | None, convert: Callable[[str], Any]) -> Any:
    """The typed value of one cell; ``_CastError`` with the end of "column 'x' ..." if not."""
    if raw is None or raw == "" or raw.isspace():
        raise _CastError("is empty")
    if "\ufffd" in raw:  # what undecodable bytes were replaced with while reading
        raise _CastError("is not valid UTF-8 text")
    if "\x00" in raw:  # PostgreSQL text and jsonb cannot hold NUL
        raise _CastError("contains a NUL character")
    if len(raw) > MAX_STRING_LENGTH:
        raise _CastError(f"is longer than {MAX_STRING_LENGTH:,} characters ({len(raw):,})")
    return convert(raw)


def _validate_column(
    name: str, dtype: str, cells: list[Cell], errors: list[list[str]]
) -> list[Any]:
    """Typed values of one column of a chunk: ``None`` where a cell fails, with a message added
    to that row's errors. A clean column is checked and cast whole, at C speed
    (``_clean_column``); any doubt sends it cell by cell through ``_check_cell``, which applies
    the same rules and words the messages."""
    typed = _clean_column(dtype, cells)
    if typed is not None:
        return typed
    convert = _CASTS[dtype]
    values: list[Any] = [None] * len(cells)
    for index, raw in enumerate(cells):
        if isinstance(raw, _Absent):
            continue
        try:
            values[index] = _check_cell(raw, convert)
        except _CastError as exc:
            errors[index].append(f"column {name!r} {exc.reason}")
    return values


def _clean_column(dtype: str, cells: list[Cell]) -> list[Any] | None:
    """The typed column when every cell passes ``_check_cell``, else ``None``. Never more lenient
    than ``_check_cell``: each test here implies the per-cell one."""
    if not cells:
        return []
    try:
        blob = ",".join(cast(list[str], cells))  # TypeError on None / absent cells
    except TypeError:
        return None
    texts = cast(list[str], cells)
    if "\ufffd" in blob or "\x00" in blob:
        return None
    if max(map(len, texts)) > MAX_STRING_LENGTH or min(map(len, map(str.strip, texts))) == 0:
        return None
    if dtype == "string":
        return texts
    try:
        if dtype == "int64":
            if not _INT_COLUMN_RE.fullmatch(blob):
                return None
            ints = list(map(int, texts))
            return ints if min(ints) >= _INT64_MIN and max(ints) <= _INT64_MAX else None
        if dtype == "float64":
            if not _FLOAT_COLUMN_RE.fullmatch(blob):
                return None
            floats = list(map(float, texts))
            return floats if all(map(math.isfinite, floats)) else None
    except ValueError:  # a cell holding the "," separator, or 4300+ digits
        return None
    words = list(map(str.lower, map(str.strip, texts)))
    return list(map(_TRUE.__contains__, words)) if _BOOL_WORDS.issuperset(words) else None


class _ChunkHasher:
    """``content_hash`` of many rows at once: each column JSON-encoded by the functions
    ``json.dumps`` itself uses, then one template per row (keys sorted and escaped as
    ``sort_keys`` would). The tests hold it to byte equality with ``content_hash``."""

    _ENCODERS: Final[dict[str, Callable[[Any], str]]] = {
        "string": encode_basestring_ascii,
        "int64": int.__repr__,
        "float64": float.__repr__,
        "bool": {True: "true", False: "false"}.__getitem__,
    }

    def __init__(self, columns: Sequence[ColumnSpec]) -> None:
        self._order = sorted(range(len(columns)), key=lambda index: columns[index]["name"])
        self._encoders = [self._ENCODERS[columns[index]["dtype"]] for index in self._order]
        keys = (encode_basestring_ascii(columns[index]["name"]) for index in self._order)
        self._template = "{" + ",".join(key.replace("%", "%%") + ":%s" for key in keys) + "}"

    def hashes(self, typed: list[list[Any]], rows: list[int] | None) -> list[str]:
        """Hashes of the ``rows`` (indexes; ``None`` for all) of the typed columns."""
        encoded = []
        for index, encode in zip(self._order, self._encoders, strict=True):
            column = typed[index] if rows is None else [typed[index][row] for row in rows]
            encoded.append(list(map(encode, column)))
        template = self._template
        return [
            hashlib.sha256((template % values).encode()).hexdigest()
            for values in zip(*encoded, strict=True)
        ]


# ---------------------------------------------------------------------------------------------
# read_rows


def read_rows(
    path: Path,
    *,
    file_format: str,
    columns: list[ColumnSpec],
    batch_size: int = 5000,
    image_dir: Path | None = None,
    max_rows: int | None = None,
    start_row: int = 0,
    stop_row: int | None = None,
) -> Iterator[Batch]:
    """Validated rows of the file at ``path``, ``batch_size`` at a time.

    Whole-file checks run now and raise ``ReaderError``; the rows are read lazily. ``max_rows``
    makes a longer file fail with ``too_large`` (no silent truncation). For ``zip``, accepted
    images are stored in ``image_dir`` (when given) and their ``stored_path`` is relative to it.
    ``start_row``/``stop_row`` (not for ``zip``) read one shard: the rows numbered above
    ``start_row`` and up to ``stop_row``; the rows before it are parsed (a broken line there
    still fails the file) but neither typed nor hashed.
    """
    _check_columns(columns)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if (start_row or stop_row is not None) and file_format == "zip":
        raise ValueError("a ZIP of images is read whole")
    if file_format not in FILE_FORMATS:
        raise ReaderError(f"'{file_format}' is not a format we read.", code="unsupported_format")
    image_columns = [column["name"] for column in columns if column["dtype"] == "image"]
    if file_format == "zip":
        if len(image_columns) != 1:
            raise ReaderError(
                "A ZIP upload needs a dataset with exactly one image column.",
                code="schema_mismatch",
            )
    elif image_columns:
        raise ReaderError(
            f"This dataset has an image column ('{image_columns[0]}'): upload a ZIP of images "
            f"with a {METADATA_FILE_NAME}, not a {_LABELS[file_format]} file.",
            code="unsupported_format",
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReaderError("The uploaded file could not be opened.") from exc
    if size == 0:
        raise ReaderError("The file is empty.", code="empty_file")

    rows: Iterator[RowResult]
    total: int | None
    exact_total = False
    if file_format in ("csv", "tsv"):
        sep = "," if file_format == "csv" else "\t"
        header, estimate = _check_csv_file(path, sep=sep, columns=columns, label="the file")
        rows = _tabular_rows(
            _csv_chunks(path, header=header, sep=sep, columns=columns, skip_rows=start_row),
            columns,
            max_rows,
            start_row,
            stop_row,
        )
        total = estimate
    elif file_format == "jsonl":
        total = _estimate_rows(path, header_lines=0)
        rows = _tabular_rows(
            _jsonl_chunks(path, columns=columns), columns, max_rows, start_row, stop_row
        )
    elif file_format == "parquet":
        total = _check_parquet_file(path, columns=columns, max_rows=max_rows)
        exact_total = True
        rows = _tabular_rows(
            _parquet_chunks(path, columns=columns, skip_rows=start_row),
            columns,
            max_rows,
            start_row,
            stop_row,
        )
    else:
        plan = _check_zip_file(path, columns=columns)
        total = plan.estimated_rows
        rows = _zip_rows(path, plan=plan, columns=columns, image_dir=image_dir, max_rows=max_rows)
    return _batches(rows, batch_size=batch_size, total=total, exact_total=exact_total)


def estimated_rows(path: Path, *, file_format: str) -> int | None:
    """Data rows in the file: exact for Parquet, estimated from the first MiB for text formats,
    ``None`` for a ZIP or when unknown. Cheap: for deciding whether to read it in shards."""
    if file_format in ("csv", "tsv"):
        return _estimate_rows(path, header_lines=1)
    if file_format == "jsonl":
        return _estimate_rows(path, header_lines=0)
    if file_format == "parquet":
        import pyarrow.parquet as pq

        try:
            with pq.ParquetFile(path) as parquet:
                return int(parquet.metadata.num_rows)
        except Exception:  # a broken file fails properly when it is read
            return None
    return None


def _batches(
    rows: Iterator[RowResult], *, batch_size: int, total: int | None, exact_total: bool
) -> Iterator[Batch]:
    batch: list[RowResult] = []
    read = 0
    for row in rows:
        batch.append(row)
        read += 1
        if len(batch) == batch_size:
            yield Batch(rows=batch, rows_read=read, progress=_progress(read, total, exact_total))
            batch = []
    if batch:
        yield Batch(rows=batch, rows_read=read, progress=_progress(read, total, exact_total))


def _progress(read: int, total: int | None, exact: bool) -> float | None:
    if not total:
        return None
    # An estimate can run short; never claim to be done before the end of the file.
    return min(read / total, 1.0 if exact else 0.99)


def _tabular_rows(
    chunks: Iterator[_Chunk],
    columns: Sequence[ColumnSpec],
    max_rows: int | None,
    start_row: int = 0,
    stop_row: int | None = None,
) -> Iterator[RowResult]:
    names = [column["name"] for column in columns]
    hasher = _ChunkHasher(columns)
    number = 0
    for cells, errors in chunks:
        if max_rows is not None and number + len(errors) > max_rows:
            raise _too_many_rows(max_rows)
        if stop_row is not None and number >= stop_row:
            return
        skip = min(max(start_row - number, 0), len(errors))
        keep = len(errors) if stop_row is None else min(len(errors), stop_row - number)
        if skip or keep < len(errors):
            number += skip
            cells = [column[skip:keep] for column in cells]
            errors = errors[skip:keep]
            if not errors:
                continue
        typed = [
            _validate_column(column["name"], column["dtype"], column_cells, errors)
            for column, column_cells in zip(columns, cells, strict=True)
        ]
        accepted = [index for index, row_errors in enumerate(errors) if not row_errors]
        hashes = iter(hasher.hashes(typed, None if len(accepted) == len(errors) else accepted))
        for index, (values, row_errors) in enumerate(
            zip(zip(*typed, strict=True), errors, strict=True)
        ):
            number += 1
            if row_errors:
                yield RowResult(number, None, row_errors, None, _raw_cells(names, cells, index))
            else:
                yield RowResult(number, dict(zip(names, values, strict=True)), [], next(hashes))
    if number == 0:
        raise ReaderError("The file has no data rows.", code="empty_file")


def _raw_cells(names: list[str], cells: list[list[Cell]], index: int) -> dict[str, str | None]:
    """Row ``index`` of a chunk as read, leaving out the cells that are not there at all."""
    return {
        name: cell
        for name, column in zip(names, cells, strict=True)
        if not isinstance(cell := column[index], _Absent)
    }


def _too_many_rows(max_rows: int) -> ReaderError:
    return ReaderError(f"The file has more than {max_rows:,} rows.", code="too_large")


def _schema_error(
    names: Sequence[str], columns: Sequence[ColumnSpec], *, where: str
) -> ReaderError | None:
    """``None`` when ``names`` are exactly the dataset's columns (in any order)."""
    expected = [column["name"] for column in columns]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    missing = [name for name in expected if name not in names]
    unexpected = [name for name in names if name not in expected]
    if not (duplicates or missing or unexpected):
        return None
    problems = []
    if missing:
        problems.append("missing " + ", ".join(map(repr, missing)))
    if unexpected:
        problems.append("unexpected " + ", ".join(map(repr, unexpected)))
    if duplicates:
        problems.append("repeated " + ", ".join(map(repr, duplicates)))
    return ReaderError(
        f"The columns of {where} do not match the dataset: {'; '.join(problems)}. "
        f"Expected exactly: {', '.join(map(repr, expected))}.",
        code="schema_mismatch",
        extra={"missing": missing, "unexpected": unexpected, "duplicates": duplicates},
    )


# --- reading through Hugging Face `datasets` ------------------------------------------------


# The name the input is linked under, per builder: an extension `datasets` knows, so it never
# sniffs for a compression magic number and unpacks the file on the fly (a gzip bomb, say).
_HF_LINK_NAMES: Final = {"csv": "upload.csv", "text": "upload.txt", "parquet": "upload.parquet"}


@contextlib.contextmanager
def _hf_workspace(path: Path, builder: str) -> Iterator[tuple[Path, Path]]:
    """A private temp dir for the builder's cache and lock files (never ~/.cache), and a safe
    name for the input: `data_files` are glob patterns, so a path holding '[' or '*' would
    silently match nothing."""
    with tempfile.TemporaryDirectory(prefix="databounty-reader-") as tmp:
        link = Path(tmp) / _HF_LINK_NAMES[builder]
        try:
            link.symlink_to(path.resolve())
        except OSError:  # pragma: no cover - filesystems without symlinks
            shutil.copyfile(path, link)
        yield link, Path(tmp) / "hf-cache"


def _hf_tables(builder: str, path: Path, *, label: str, **config: Any) -> Iterator[Any]:
    """Arrow tables of ``_HF_BATCH_ROWS`` rows from a streaming ``datasets`` builder; failures of
    the reading itself become ``ReaderError``."""
    import datasets

    with _hf_workspace(path, builder) as (link, cache_dir):
        try:
            dataset = datasets.load_dataset(
                builder,
                data_files=str(link),
                split="train",
                streaming=True,
                cache_dir=str(cache_dir),
                **config,
            )
            tables = dataset.with_format("arrow").iter(batch_size=_HF_BATCH_ROWS)
        except Exception as exc:
            raise _read_failure(exc, label=label, link=link) from exc
        _OPEN_READERS.add(tables)
        try:
            while True:
                try:
                    table = next(tables)
                except StopIteration:
                    return
                except Exception as exc:  # pandas, Arrow and datasets each raise their own types
                    raise _read_failure(exc, label=label, link=link) from exc
                yield table
        finally:
            # A caller that stops early closes us; close the reader now too, while pyarrow is
            # still whole (left to interpreter shutdown, Arrow's scanner threads can hang it).
            tables.close()


# Readers a caller left open. Closing them before the interpreter tears modules down avoids a
# hang at exit (a suspended parquet scan finalised after pyarrow is half gone never returns).
_OPEN_READERS: weakref.WeakSet[Generator[Any, None, None]] = weakref.WeakSet()


@atexit.register
def _close_open_readers() -> None:
    for reader in list(_OPEN_READERS):
        with contextlib.suppress(Exception):
            reader.close()


def _read_failure(exc: Exception, *, label: str, link: Path) -> ReaderError:
    message = str(exc).replace(str(link), "the file").strip()
    message = message.removeprefix("Error tokenizing data. C error: ").split("\n")[0]
    if type(exc).__name__ == "EmptyDataError":
        return ReaderError("The file is empty.", code="empty_file")
    return ReaderError(f"The file could not be read as {label}: {message}", code="corrupt_file")


# --- CSV / TSV --------------------------------------------------------------------------------


def _check_csv_file(
    path: Path, *, sep: str, columns: Sequence[ColumnSpec], label: str
) -> tuple[list[str], int | None]:
    with path.open("rb") as file:
        head = file.read(_SNIFF_BYTES)
        whole = not file.read(1)
    header = _csv_header(head, whole=whole, sep=sep, where=label)
    error = _schema_error(header, columns, where=label)
    if error is not None:
        raise error
    return header, _estimate_from_head(head, whole=whole, size=path.stat().st_size, header_lines=1)


def _csv_header(head: bytes, *, whole: bool, sep: str, where: str) -> list[str]:
    """The header names (strict UTF-8), after checking the first data row is not longer than the
    header: pandas would silently turn the extra leading value into an index."""
    head = _strip_bom(head)
    if not whole:
        cut = head.rfind(b"\n")
        if cut < 0:
            raise ReaderError(f"The first line of {where} is longer than 1 MiB.")
        head = head[: cut + 1]
    if not head.strip():
        raise ReaderError(f"{where.capitalize()} is empty.", code="empty_file")
    text = head.decode("utf-8", errors="surrogateescape")
    buffer = io.StringIO(text, newline="")
    reader = csv.reader(buffer, delimiter=sep)
    records: list[list[str]] = []
    try:
        for record in reader:
            if record:
                records.append(record)
            if len(records) == 2:
                break
    except csv.Error as exc:
        if not records:
            raise ReaderError(f"The header of {where} could not be parsed: {exc}") from exc
    if not records:
        raise ReaderError(f"{where.capitalize()} is empty.", code="empty_file")
    header = records[0]
    for name in header:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise ReaderError(
                f"The header of {where} is not valid UTF-8 text; save the file as UTF-8."
            ) from None
    first_row_complete = whole or buffer.tell() < len(text)
    if len(records) == 2 and first_row_complete and len(records[1]) > len(header):
        raise ReaderError(
            f"Line {reader.line_num} of {where} has {len(records[1])} values but the header "
            f"has {len(header)} columns."
        )
    return header


def _skipped(num_rows: int, names: Sequence[str]) -> _Chunk:
    """A chunk wholly before a shard's first row: counted, never turned into Python values
    (``_tabular_rows`` drops it unread; converting it cost a shard as much as its own rows)."""
    return [[] for _ in names], [[]] * num_rows


def _csv_chunks(
    path: Path, *, header: list[str], sep: str, columns: Sequence[ColumnSpec], skip_rows: int = 0
) -> Iterator[_Chunk]:
    import datasets

    names = [column["name"] for column in columns]
    tables = _hf_tables(
        "csv",
        path,
        label="CSV" if sep == "," else "TSV",
        sep=sep,
        features=datasets.Features({name: datasets.Value("string") for name in header}),
        index_col=False,
        keep_default_na=False,  # "NA", "null", "" stay text; emptiness is checked per cell
        na_filter=False,
        encoding="utf-8",
        encoding_errors="replace",  # bad bytes become U+FFFD and fail that cell, not the file
    )
    seen = 0
    for table in tables:
        if table.num_rows:
            seen += table.num_rows
            if seen <= skip_rows:
                yield _skipped(table.num_rows, names)
                continue
            cells = [table.column(name).to_pylist() for name in names]
            yield cells, [[] for _ in range(table.num_rows)]


def _estimate_from_head(head: bytes, *, whole: bool, size: int, header_lines: int) -> int | None:
    lines = head.count(b"\n") + (0 if head.endswith(b"\n") else 1)
    if whole:
        return max(lines - header_lines, 0) or None
    rows = lines - header_lines
    return int(size / len(head) * lines) - header_lines if rows > 0 else None


def _estimate_rows(path: Path, *, header_lines: int) -> int | None:
    with path.open("rb") as file:
        head = file.read(_SNIFF_BYTES)
        whole = not file.read(1)
    return _estimate_from_head(
        head, whole=whole, size=path.stat().st_size, header_lines=header_lines
    )


# --- JSON Lines -------------------------------------------------------------------------------


def _jsonl_chunks(path: Path, *, columns: Sequence[ColumnSpec]) -> Iterator[_Chunk]:
    names = [column["name"] for column in columns]
    known = set(names)
    schema_checked = False
    tables = _hf_tables(
        "text",
        path,
        label="JSON Lines",
        encoding="utf-8-sig",  # and a BOM, if any, is dropped
        encoding_errors="replace",
    )
    for table in tables:
        rows: list[list[Cell]] = []
        row_errors: list[list[str]] = []
        for line in table.column("text").to_pylist():
            if not line or line.isspace():
                continue
            errors: list[str] = []
            row_errors.append(errors)
            try:
                # Numbers stay as their literal text and are cast like CSV cells, so 3.0 is not
                # an int64 anywhere and 0.1 is parsed once, by the same rule.
                obj = json.loads(line, parse_int=str, parse_float=str, parse_constant=str)
            except ValueError as exc:
                errors.append(f"row is not valid JSON ({getattr(exc, 'msg', exc)})")
                rows.append([_ABSENT] * len(names))
                continue
            except RecursionError:
                errors.append("row is not valid JSON (nested too deeply)")
                rows.append([_ABSENT] * len(names))
                continue
            if not isinstance(obj, dict):
                errors.append("row is not a JSON object")
                rows.append([_ABSENT] * len(names))
                continue
            if not schema_checked:
                # The first object plays the header's part: a file whose rows all miss a column
                # fails once, not once per row.
                error = _schema_error(list(obj), columns, where="the file")
                if error is not None:
                    raise error
                schema_checked = True
            cells: list[Cell] = []
            for name in names:
                if name in obj:
                    cells.append(_json_cell(name, obj[name], errors))
                else:
                    errors.append(f"column {name!r} is missing")
                    cells.append(_ABSENT)
            if not known.issuperset(obj):
                unexpected = [key for key in obj if key not in known]
                errors.append("unexpected column(s) " + ", ".join(map(repr, unexpected)))
            rows.append(cells)
        if rows:
            yield [list(column) for column in zip(*rows, strict=True)], row_errors


def _json_cell(name: str, value: Any, errors: list[str]) -> Cell:
    if value is None or isinstance(value, str):
        return value  # numbers arrive here as their literal text too
    if isinstance(value, bool):
        return "true" if value else "false"
    errors.append(
        f"column {name!r} must be a single value, not a JSON "
        f"{'object' if isinstance(value, dict) else 'array'}"
    )
    return _ABSENT


# --- Parquet ----------------------------------------------------------------------------------


def _check_parquet_file(path: Path, *, columns: Sequence[ColumnSpec], max_rows: int | None) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as parquet:
            schema = parquet.schema_arrow
            num_rows = int(parquet.metadata.num_rows)
    except (pa.ArrowException, OSError) as exc:
        raise ReaderError(f"The file is not a readable Parquet file: {exc}") from exc
    error = _schema_error(list(schema.names), columns, where="the file")
    if error is not None:
        raise error
    for field in schema:
        if not _is_scalar_type(field.type):
            raise ReaderError(
                f"Column '{field.name}' holds {field.type} values; only single values "
                "(text, numbers, booleans, dates) are supported.",
                code="schema_mismatch",
            )
    if num_rows == 0:
        raise ReaderError("The file has no data rows.", code="empty_file")
    if max_rows is not None and num_rows > max_rows:
        raise _too_many_rows(max_rows)
    return num_rows


def _is_scalar_type(arrow_type: Any) -> bool:
    import pyarrow as pa

    types = pa.types
    if types.is_dictionary(arrow_type):
        return _is_scalar_type(arrow_type.value_type)
    return bool(
        types.is_null(arrow_type)
        or types.is_boolean(arrow_type)
        or types.is_integer(arrow_type)
        or types.is_floating(arrow_type)
        or types.is_decimal(arrow_type)
        or types.is_string(arrow_type)
        or types.is_large_string(arrow_type)
        or types.is_binary(arrow_type)
        or types.is_large_binary(arrow_type)
        or types.is_fixed_size_binary(arrow_type)
        or types.is_date(arrow_type)
        or types.is_time(arrow_type)
        or types.is_timestamp(arrow_type)
    )


def _parquet_chunks(
    path: Path, *, columns: Sequence[ColumnSpec], skip_rows: int = 0
) -> Iterator[_Chunk]:
    import pyarrow as pa

    names = [column["name"] for column in columns]
    tables = _hf_tables("parquet", path, label="Parquet", columns=names, batch_size=_HF_BATCH_ROWS)
    seen = 0
    for table in tables:
        if not table.num_rows:
            continue
        seen += table.num_rows
        if seen <= skip_rows:
            yield _skipped(table.num_rows, names)
            continue
        cells: list[list[Cell]] = []
        for name in names:
            try:
                cells.append(_arrow_text(table.column(name)))
            except pa.ArrowException as exc:  # a scalar type Arrow cannot print as text
                raise ReaderError(
                    f"Column '{name}' ({table.column(name).type}) could not be read as text: {exc}",
                    code="schema_mismatch",
                ) from exc
        yield cells, [[] for _ in range(table.num_rows)]


def _arrow_text(column: Any) -> list[Cell]:
    """A column as text, as a CSV of the same data would have it (Arrow prints floats in their
    shortest round-trip form, so 0.1 stays "0.1")."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow_type = column.type
    if pa.types.is_dictionary(arrow_type):
        column = column.cast(arrow_type.value_type)
        arrow_type = column.type
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        values: list[Cell] = column.to_pylist()
        return values
    if (
        pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_fixed_size_binary(arrow_type)
    ):
        return [
            None if raw is None else raw.decode("utf-8", errors="replace")
            for raw in column.to_pylist()
        ]
    text: list[Cell] = pc.cast(column, pa.string()).to_pylist()
    return text


# --- ZIP of images ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _ZipPlan:
    metadata_name: str
    base_dir: str  # the folder metadata.csv is in; file_name values are relative to it
    header: list[str]
    estimated_rows: int | None


def _declared_zip_entries(path: Path) -> int | None:
    """The entry count in the ZIP's end-of-central-directory record (ZIP64 aware), read before
    ``zipfile`` builds an object for every entry: a small file can list millions of them.
    ``None`` when there is no such record (then ``zipfile`` reports the damage)."""
    with path.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        tail_start = max(0, size - (22 + 65535 + 20))  # record + longest comment + ZIP64 locator
        file.seek(tail_start)
        tail = file.read()
        end = tail.rfind(b"PK\x05\x06")
        if end < 0 or len(tail) < end + 22:
            return None
        (entries,) = struct.unpack_from("<H", tail, end + 10)
        locator = end - 20
        if entries != 0xFFFF or locator < 0 or tail[locator : locator + 4] != b"PK\x06\x07":
            return int(entries)
        (zip64_offset,) = struct.unpack_from("<Q", tail, locator + 8)
        file.seek(zip64_offset)
        record = file.read(56)
        if len(record) < 40 or not record.startswith(b"PK\x06\x06"):
            return None
        (entries,) = struct.unpack_from("<Q", record, 32)
        return int(entries)


def _check_zip_file(path: Path, *, columns: Sequence[ColumnSpec]) -> _ZipPlan:
    declared = _declared_zip_entries(path)
    if declared is not None and declared > MAX_ZIP_MEMBERS:
        raise _too_many_entries(declared)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReaderError(f"The file is not a readable ZIP archive: {exc}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise _too_many_entries(len(infos))
        if not infos:
            raise ReaderError("The ZIP archive is empty.", code="empty_file")
        total = sum(info.file_size for info in infos)
        if total > MAX_ZIP_TOTAL_BYTES:
            raise ReaderError(
                f"The ZIP would unpack to {total:,} bytes; the limit is {MAX_ZIP_TOTAL_BYTES:,}.",
                code="too_large",
            )
        seen: set[str] = set()
        metadata: list[zipfile.ZipInfo] = []
        others: list[str] = []
        for info in infos:
            reason = _unsafe_member(info)
            if reason is not None:
                raise ReaderError(f"The ZIP entry {info.filename!r} {reason}.")
            if info.filename in seen:
                raise ReaderError(f"The ZIP holds {info.filename!r} twice.")
            seen.add(info.filename)
            if info.is_dir() or _is_zip_junk(info.filename):
                continue
            if info.flag_bits & 0x1:
                raise ReaderError(
                    f"The ZIP entry {info.filename!r} is encrypted; upload an unencrypted ZIP.",
                    code="unsupported_format",
                )
            if posixpath.basename(info.filename) == METADATA_FILE_NAME:
                metadata.append(info)
            elif PurePosixPath(info.filename).suffix.lower() not in images.IMAGE_EXTENSIONS:
                others.append(info.filename)
        if others:
            shown = ", ".join(map(repr, others[:3])) + (" …" if len(others) > 3 else "")
            raise ReaderError(
                f"The ZIP may hold only images (.jpg, .jpeg, .png, .webp, .gif) and "
                f"{METADATA_FILE_NAME}; it also holds {shown}.",
                code="unsupported_format",
            )
        if not metadata:
            raise ReaderError(
                f"The ZIP has no {METADATA_FILE_NAME}: add one with a '{FILE_NAME_COLUMN}' "
                "column naming each image, and the dataset's other columns.",
                code="schema_mismatch",
            )
        if len(metadata) > 1:
            raise ReaderError(f"The ZIP holds more than one {METADATA_FILE_NAME}.")
        info = metadata[0]
        if info.file_size > MAX_METADATA_BYTES:
            raise ReaderError(
                f"{METADATA_FILE_NAME} is {info.file_size:,} bytes; the limit is "
                f"{MAX_METADATA_BYTES:,}.",
                code="too_large",
            )
        try:
            with archive.open(info) as member:
                head = member.read(_SNIFF_BYTES)
                whole = not member.read(1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
            raise ReaderError(f"{METADATA_FILE_NAME} could not be read from the ZIP.") from exc
    header = _csv_header(head, whole=whole, sep=",", where=METADATA_FILE_NAME)
    error = _schema_error(header, _metadata_columns(columns), where=METADATA_FILE_NAME)
    if error is not None:
        raise error
    return _ZipPlan(
        metadata_name=info.filename,
        base_dir=posixpath.dirname(info.filename),
        header=header,
        estimated_rows=_estimate_from_head(head, whole=whole, size=info.file_size, header_lines=1),
    )


def _too_many_entries(count: int) -> ReaderError:
    return ReaderError(
        f"The ZIP holds {count:,} entries; the limit is {MAX_ZIP_MEMBERS:,}.", code="too_large"
    )


def _unsafe_member(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if "\x00" in name or "\\" in name:
        return "has a backslash or NUL in its name"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "has an absolute path"
    if ".." in name.split("/"):
        return "points outside the archive ('..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    return None


def _is_zip_junk(name: str) -> bool:
    return name.startswith(_ZIP_JUNK_DIRS) or posixpath.basename(name) in _ZIP_JUNK_NAMES


def _metadata_columns(columns: Sequence[ColumnSpec]) -> list[ColumnSpec]:
    """metadata.csv's columns: file_name in place of the image column, then the others."""
    metadata: list[ColumnSpec] = [{"name": FILE_NAME_COLUMN, "dtype": "string"}]
    metadata += [column for column in columns if column["dtype"] != "image"]
    return metadata


def _zip_rows(
    path: Path,
    *,
    plan: _ZipPlan,
    columns: Sequence[ColumnSpec],
    image_dir: Path | None,
    max_rows: int | None,
) -> Iterator[RowResult]:
    image_column = next(column["name"] for column in columns if column["dtype"] == "image")
    metadata_columns = _metadata_columns(columns)
    with (
        tempfile.TemporaryDirectory(prefix="databounty-zip-") as tmp,
        zipfile.ZipFile(path) as archive,
    ):
        metadata_path = Path(tmp) / METADATA_FILE_NAME
        try:
            with archive.open(plan.metadata_name) as source, metadata_path.open("wb") as target:
                shutil.copyfileobj(source, target)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise ReaderError(f"{METADATA_FILE_NAME} could not be read from the ZIP.") from exc
        chunks = _csv_chunks(metadata_path, header=plan.header, sep=",", columns=metadata_columns)
        number = 0
        for cells, errors in chunks:
            if max_rows is not None and number + len(errors) > max_rows:
                raise _too_many_rows(max_rows)
            typed = [
                _validate_column(column["name"], column["dtype"], column_cells, errors)
                for column, column_cells in zip(metadata_columns, cells, strict=True)
            ]
            for values, row_errors in zip(zip(*typed, strict=True), errors, strict=True):
                number += 1
                data = dict(
                    zip((column["name"] for column in metadata_columns), values, strict=True)
                )
                file_name = data.pop(FILE_NAME_COLUMN)
                image = None
                if file_name is not None:
                    image = _read_image(archive, plan.base_dir, file_name, row_errors)
                if row_errors or image is None:
                    yield RowResult(number, None, row_errors, None)
                    continue
                payload, value, extension = image
                if image_dir is not None:
                    value["stored_path"] = images.store_image(
                        payload, sha256=value["sha256"], extension=extension, image_dir=image_dir
                    )
                data[image_column] = value
                ordered = {column["name"]: data[column["name"]] for column in columns}
                yield RowResult(number, ordered, [], content_hash(ordered, columns))
        if number == 0:
            raise ReaderError(f"{METADATA_FILE_NAME} has no data rows.", code="empty_file")


def _read_image(
    archive: zipfile.ZipFile, base_dir: str, file_name: str, errors: list[str]
) -> tuple[bytes, dict[str, Any], str] | None:
    """The image a metadata row names, checked; ``None`` with a message in ``errors`` if not."""
    shown = repr(file_name)
    relative = file_name.strip().replace("\\", "/")
    member_name = posixpath.normpath(posixpath.join(base_dir, relative))
    if relative.startswith("/") or member_name.startswith("../") or member_name == "..":
        errors.append(f"image {shown} points outside the ZIP")
        return None
    try:
        info = archive.getinfo(member_name)
    except KeyError:
        errors.append(f"image {shown} is not in the ZIP")
        return None
    if info.is_dir() or posixpath.basename(member_name) == METADATA_FILE_NAME:
        errors.append(f"image {shown} is not an image file")
        return None
    if info.file_size > MAX_IMAGE_BYTES:
        errors.append(
            f"image {shown} is {info.file_size:,} bytes; the limit is {MAX_IMAGE_BYTES:,}"
        )
        return None
    try:
        with archive.open(info) as member:
            payload = member.read(MAX_IMAGE_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError):
        errors.append(f"image {shown} could not be read from the ZIP (damaged entry)")
        return None
    if len(payload) > MAX_IMAGE_BYTES:  # pragma: no cover - zipfile stops at the declared size
        errors.append(f"image {shown} is larger than {MAX_IMAGE_BYTES:,} bytes")
        return None
    try:
        checked = images.inspect_image(payload)
    except images.ImageRejectedError as exc:
        errors.append(f"image {shown} {exc.reason}")
        return None
    value: dict[str, Any] = {
        "path": member_name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "width": checked.width,
        "height": checked.height,
        "format": checked.format,
        "stored_path": None,
    }
    return payload, value, checked.extension
