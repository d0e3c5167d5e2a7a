"""What every reader shares: the dataset's columns, the results (``RowResult``, ``Batch``), the
whole-file error (``ReaderError``), the chunk of cells a format hands over, and the checks of a
file's column names and row count."""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypedDict

from marketplace.core.exceptions import ApplicationError

SUPPORTED_DTYPES = ("string", "int64", "float64", "bool", "image")
FILE_FORMATS = ("csv", "tsv", "jsonl", "parquet", "zip")
METADATA_FILE_NAME = "metadata.csv"

_LABELS: Final = {
    "csv": "CSV",
    "tsv": "TSV",
    "jsonl": "JSON Lines",
    "parquet": "Parquet",
    "zip": "ZIP",
}
_HF_BATCH_ROWS = 10_000  # rows per Arrow table pulled from `datasets`; our batches are re-cut
_SNIFF_BYTES = 1024**2  # enough for any sane CSV header and first row


class ColumnSpec(TypedDict):
    name: str
    dtype: str  # one of SUPPORTED_DTYPES


class ReaderError(ApplicationError, code="corrupt_file"):
    """The whole file is unusable; ``detail`` tells the contributor what to fix."""


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


class _Absent:
    """A cell that is not there at all (a JSON key left out), already reported as such."""


_ABSENT: Final = _Absent()
Cell = str | None | _Absent
# A chunk of rows as read: the cells column by column (in the dataset's column order), and the
# problems already found in each row (a JSON line that does not parse, say).
_Chunk = tuple[list[list[Cell]], list[list[str]]]


def _skipped(num_rows: int, names: Sequence[str]) -> _Chunk:
    """A chunk wholly before a shard's first row: counted, never turned into Python values
    (``_tabular_rows`` drops it unread; converting it cost a shard as much as its own rows)."""
    return [[] for _ in names], [[]] * num_rows


def _strip_bom(data: bytes) -> bytes:
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


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
