"""A ZIP of images with ``metadata.csv`` (the Hugging Face imagefolder convention): the archive
checked whole (members, sizes, names), then each metadata row's image read, checked by Pillow
and stored under its sha256."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from datasets_app.integrations import images
from datasets_app.integrations.readers.base import (
    _SNIFF_BYTES,
    METADATA_FILE_NAME,
    ColumnSpec,
    ReaderError,
    RowResult,
    _estimate_from_head,
    _schema_error,
    _too_many_rows,
)
from datasets_app.integrations.readers.cast import _validate_column, content_hash
from datasets_app.integrations.readers.delimited import _csv_chunks, _csv_header

MAX_ZIP_MEMBERS = 100_000
MAX_ZIP_TOTAL_BYTES = 4 * 1024**3  # declared uncompressed size of all members together
MAX_METADATA_BYTES = 256 * 1024**2
MAX_IMAGE_BYTES = 20 * 1024**2
FILE_NAME_COLUMN = "file_name"
# macOS and Windows add these to archives on their own; they are skipped, never extracted.
_ZIP_JUNK_DIRS = ("__MACOSX/",)
_ZIP_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


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
