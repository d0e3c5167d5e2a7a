"""Files on the client's side: where a release file is written, and an unfinished upload's
saved state (so the same command resumes it)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from databounty.config import API, read_json, write_json
from databounty.errors import ApiError, ClientError

if TYPE_CHECKING:
    from databounty.api import Client


def safe_destination(out_dir: Path, name: str) -> Path:
    """``out_dir/name`` for a release path like ``data/train-00000-of-00001.parquet``; a name
    that would leave ``out_dir`` is refused."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ClientError(
            f"Refusing to write the file {name!r} outside {out_dir}.", code="bad_name"
        )
    return out_dir.joinpath(*relative.parts)


class UploadState:
    """An unfinished upload's id, in ``<config>/uploads/<sha256>.json``."""

    def __init__(self, directory: Path, sha256: str) -> None:
        self.path = directory / "uploads" / f"{sha256}.json"
        self.data = read_json(self.path)

    @property
    def chunk_size(self) -> int | None:
        size = self.data.get("chunk_size")
        return int(size) if size else None

    def resume(self, client: Client, *, slug: str, total: int) -> dict[str, Any] | None:
        """The server's view of the saved upload, when it is this upload and still open."""
        data = self.data
        if not data or (data.get("url"), data.get("slug"), data.get("total")) != (
            client.url,
            slug,
            total,
        ):
            return None
        try:
            upload: dict[str, Any] = client.get_json(API + f"uploads/{data['upload_id']}")
        except ApiError as exc:
            if exc.status == 404:
                self.clear()
                return None
            raise
        if upload["status"] != "receiving":
            self.clear()
            return None
        return upload

    def save(self, *, url: str, slug: str, upload_id: str, total: int) -> None:
        self.data = {"url": url, "slug": slug, "upload_id": upload_id, "total": total}
        write_json(self.path, self.data)

    def remember_chunk_size(self, size: int) -> None:
        if self.data and self.data.get("chunk_size") != size:
            self.data["chunk_size"] = size
            write_json(self.path, self.data)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.data = {}
