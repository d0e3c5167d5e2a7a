"""Cells to typed values, the same for every format: the checks and casts of one cell
(``_check_cell``), the fast path for a clean column (``_clean_column``), the rows' content hashes
and the Hugging Face features of a dataset's columns."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any, Final, cast

from datasets_app.integrations.readers.base import Cell, ColumnSpec, _Absent, _check_columns

if TYPE_CHECKING:
    import datasets

MAX_STRING_LENGTH = 100_000  # characters, per cell

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
