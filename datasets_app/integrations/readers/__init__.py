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

Layout: ``base`` (columns, results, errors, shared checks), ``sniff`` (``detect_format``), ``cast``
(cells to typed values, hashes, features), ``hf`` (the streaming ``datasets`` builders), one
module per format (``delimited`` for CSV/TSV, ``jsonl``, ``parquet``, ``zip_images``), and
``rows`` (``read_rows``). Import from the submodule in new code; the names below are re-exported.
"""

# `datasets` and pyarrow (~1.5 s and ~130 MB to import) are imported where rows are read, so the
# web process can use detect_format() and the constants without them.

from datasets_app.integrations.readers.base import (
    FILE_FORMATS,
    SUPPORTED_DTYPES,
    Batch,
    ColumnSpec,
    ReaderError,
    RowResult,
)
from datasets_app.integrations.readers.cast import content_hash, features_for
from datasets_app.integrations.readers.rows import estimated_rows, read_rows
from datasets_app.integrations.readers.sniff import detect_format

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
