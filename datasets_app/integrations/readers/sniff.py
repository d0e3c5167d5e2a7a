"""Format detection: the format an upload's name promises, confirmed from its first bytes."""

from __future__ import annotations

import codecs
import json
from pathlib import PurePosixPath
from typing import Final

from datasets_app.integrations.readers.base import METADATA_FILE_NAME, ReaderError, _strip_bom

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
