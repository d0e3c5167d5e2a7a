"""CSV and TSV: the header checked against the dataset's columns, then the rows as text through
the streaming ``csv`` builder. The ZIP reader reads ``metadata.csv`` through here too."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from datasets_app.integrations.readers.base import (
    _SNIFF_BYTES,
    ColumnSpec,
    ReaderError,
    _Chunk,
    _estimate_from_head,
    _schema_error,
    _skipped,
    _strip_bom,
)
from datasets_app.integrations.readers.hf import _hf_tables


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
