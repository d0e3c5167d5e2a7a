"""Parquet: the schema checked from the footer, then record batches from the streaming
``parquet`` builder, each column turned into text by Arrow."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from datasets_app.integrations.readers.base import (
    _HF_BATCH_ROWS,
    Cell,
    ColumnSpec,
    ReaderError,
    _Chunk,
    _schema_error,
    _skipped,
    _too_many_rows,
)
from datasets_app.integrations.readers.hf import _hf_tables


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
