"""JSON Lines: the streaming ``text`` builder hands over lines, each parsed here with ``json``,
numbers kept as their literal text."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from datasets_app.integrations.readers.base import (
    _ABSENT,
    Cell,
    ColumnSpec,
    _Chunk,
    _schema_error,
)
from datasets_app.integrations.readers.hf import _hf_tables


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
