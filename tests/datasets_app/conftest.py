"""Fixtures that make real upload files (CSV, TSV, JSON Lines, Parquet, ZIPs of real images)."""

from __future__ import annotations

import csv
import io
import json
import os
import struct
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

# These tests never reach the Hugging Face Hub; huggingface_hub and datasets read these variables
# once, at import, and a test module may import `datasets` before the app package sets them.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


class UploadFiles:
    """Writes upload files into one test's temp dir; every method returns the file's path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def raw(self, name: str, content: bytes | str) -> Path:
        path = self.path(name)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def csv(
        self,
        name: str,
        header: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        delimiter: str = ",",
    ) -> Path:
        path = self.path(name)
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, delimiter=delimiter)
            writer.writerow(header)
            writer.writerows(rows)
        return path

    def jsonl(self, name: str, objects: Iterable[Mapping[str, Any]]) -> Path:
        path = self.path(name)
        with path.open("w", encoding="utf-8") as file:
            for obj in objects:
                file.write(json.dumps(obj) + "\n")
        return path

    def parquet(self, name: str, table: pa.Table | Mapping[str, Sequence[Any]]) -> Path:
        path = self.path(name)
        pq.write_table(table if isinstance(table, pa.Table) else pa.table(dict(table)), path)
        return path

    def zip(self, name: str, members: Mapping[str, bytes | str]) -> Path:
        path = self.path(name)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, content in members.items():
                archive.writestr(
                    zipfile.ZipInfo(member),
                    content.encode() if isinstance(content, str) else content,
                )
        return path

    @staticmethod
    def image(
        image_format: str = "PNG", size: tuple[int, int] = (8, 6), color: str = "red"
    ) -> bytes:
        """A real image made by Pillow (PNG, JPEG, WEBP, GIF, BMP, ...)."""
        mode = "RGB" if image_format in ("JPEG", "BMP") else "RGBA"
        out = io.BytesIO()
        Image.new(mode, size, color).save(out, format=image_format)
        return out.getvalue()

    @staticmethod
    def forge_declared_sizes(path: Path, size: int) -> None:
        """Make every central-directory entry of the ZIP at ``path`` claim ``size`` bytes
        uncompressed, as a zip bomb's entries do."""
        data = bytearray(path.read_bytes())
        offset = data.find(b"PK\x01\x02")
        while offset != -1:
            struct.pack_into("<I", data, offset + 24, size)  # uncompressed size field
            offset = data.find(b"PK\x01\x02", offset + 4)
        path.write_bytes(bytes(data))

    def image_zip(
        self, name: str, metadata: str, images: Mapping[str, bytes], *, folder: str = ""
    ) -> Path:
        """A ZIP in the Hugging Face imagefolder layout: images plus metadata.csv."""
        members: dict[str, bytes | str] = {f"{folder}metadata.csv": metadata}
        members.update({f"{folder}{member}": data for member, data in images.items()})
        return self.zip(name, members)


@pytest.fixture
def upload_files(tmp_path: Path) -> UploadFiles:
    return UploadFiles(tmp_path / "uploads")
