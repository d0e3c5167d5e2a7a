"""``read_rows``: the whole-file checks of the format, then its chunks typed, hashed and cut into
``Batch`` es; and ``estimated_rows``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from datasets_app.integrations.readers.base import (
    _LABELS,
    FILE_FORMATS,
    METADATA_FILE_NAME,
    Batch,
    Cell,
    ColumnSpec,
    ReaderError,
    RowResult,
    _Absent,
    _check_columns,
    _Chunk,
    _estimate_rows,
    _too_many_rows,
)
from datasets_app.integrations.readers.cast import _ChunkHasher, _validate_column
from datasets_app.integrations.readers.delimited import _check_csv_file, _csv_chunks
from datasets_app.integrations.readers.jsonl import _jsonl_chunks
from datasets_app.integrations.readers.parquet import _check_parquet_file, _parquet_chunks
from datasets_app.integrations.readers.zip_images import _check_zip_file, _zip_rows


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
