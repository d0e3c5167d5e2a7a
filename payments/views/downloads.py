"""Download pages and file responses: the library, a release's download box, signed links, and
the one function that streams a release file with HTTP range support (the API uses it too).

Files stream from storage in chunks and are never read whole into memory: a whole file goes out
as a ``FileResponse`` (the WSGI server's ``wsgi.file_wrapper``, i.e. sendfile under gunicorn),
a byte range as a generator over a seek and bounded reads (one of at most ``CHUNK_BYTES``,
as fsspec's footer and page reads are, as one plain response). ``datasets``/fsspec fetch Parquet
with a HEAD, then ``Range: bytes=a-b`` GETs (RFC 9110 section 14)."""

from __future__ import annotations

import mimetypes
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_safe

from datasets_app.models import Dataset, DatasetRelease, ReleaseFile
from marketplace.core.exceptions import ApplicationError
from marketplace.core.models import User
from marketplace.core.policy import can_view_release
from payments.services.downloads import (
    LibraryEntry,
    LibraryVersion,
    LinkedFile,
    download_link_open,
    download_link_ttl,
    library_entries,
    release_downloads,
    release_get,
)

CHUNK_BYTES = 1 << 20  # read size for streaming; large enough to keep syscalls cheap
CONTENT_TYPES = {".parquet": "application/vnd.apache.parquet", ".md": "text/markdown"}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Exception):
    """The Range header asks for bytes the file does not have: answer 416."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def byte_range_parse(header: str, size: int) -> ByteRange | None:
    """The one range in ``Range: bytes=a-b`` / ``a-`` / ``-n``, clipped to ``size``; None to
    send the whole file (no header, a malformed one, or several ranges, which a server may
    ignore). Raises ``RangeNotSatisfiable`` when no byte of the range exists."""
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(start=max(size - suffix, 0), end=size - 1)
    start = int(first)
    if last and int(last) < start:
        return None  # an invalid range-spec: ignore the header
    if start >= size:
        raise RangeNotSatisfiable
    return ByteRange(start=start, end=min(int(last) if last else size - 1, size - 1))


def _content_type(name: str) -> str:
    extension = posixpath.splitext(name)[1].lower()
    if extension in CONTENT_TYPES:
        kind = CONTENT_TYPES[extension]
    else:
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") else kind


def _read_range(release_file: ReleaseFile, byte_range: ByteRange) -> Iterator[bytes]:
    with release_file.file.storage.open(release_file.file.name, "rb") as handle:
        handle.seek(byte_range.start)
        left = byte_range.length
        while left > 0:
            chunk = handle.read(min(CHUNK_BYTES, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [value.strip().removeprefix("W/") for value in header.split(",")]
    return "*" in candidates or etag in candidates


def file_response(
    request: HttpRequest, release_file: ReleaseFile, *, filename: str
) -> HttpResponseBase:
    """``release_file`` for GET or HEAD: 200 with the whole file, 206 with the one range asked
    for, 304 for a matching ``If-None-Match``, 416 for a range past the end. The ETag is the
    file's sha256, so ``If-Range`` resumes only the same bytes."""
    size = int(release_file.size_bytes)
    etag = f'"{release_file.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        # Licensed content: browsers may keep it, shared caches must not.
        "Cache-Control": "private, no-transform",
        "Content-Disposition": content_disposition_header(as_attachment=True, filename=filename)
        or "attachment",
    }
    if_none_match = request.headers.get("If-None-Match", "")
    if if_none_match and _etag_matches(if_none_match, etag):
        not_modified = HttpResponse(status=304)
        for key in ("ETag", "Cache-Control"):
            not_modified[key] = headers[key]
        return not_modified

    byte_range = None
    range_header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range", "")
    if range_header and (not if_range or if_range.strip() == etag):
        try:
            byte_range = byte_range_parse(range_header, size)
        except RangeNotSatisfiable:
            unsatisfiable = HttpResponse(status=416)
            unsatisfiable["Content-Range"] = f"bytes */{size}"
            unsatisfiable["Accept-Ranges"] = "bytes"
            unsatisfiable["ETag"] = etag
            return unsatisfiable

    content_type = _content_type(release_file.name)
    length = size if byte_range is None else byte_range.length
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(
            content_type=content_type, status=200 if byte_range is None else 206
        )
    elif byte_range is None:
        handle = release_file.file.storage.open(release_file.file.name, "rb")
        whole = FileResponse(handle, content_type=content_type)
        whole.block_size = CHUNK_BYTES  # what wsgi.file_wrapper reads when it cannot sendfile
        response = whole
    elif byte_range.length <= CHUNK_BYTES:  # one read: a plain response, one write
        response = HttpResponse(
            b"".join(_read_range(release_file, byte_range)), content_type=content_type, status=206
        )
    else:
        response = StreamingHttpResponse(
            _read_range(release_file, byte_range), content_type=content_type, status=206
        )
    for key, value in headers.items():
        response[key] = value
    response["Content-Length"] = str(length)
    if byte_range is not None:
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    return response


def download_filename(release_file: ReleaseFile) -> str:
    """``<dataset slug>-v<n>-<file name>``: a downloaded shard still says where it came from."""
    release = release_file.release
    return f"{release.dataset.slug}-{release.version}-{posixpath.basename(release_file.name)}"


@require_safe
def download(request: HttpRequest, token: str) -> HttpResponseBase:
    """A signed link: the signature names the person, so no session is needed, but their
    license is checked again now. A browser with a bad or stale link lands on the library (fresh
    links there); anything else gets the reason as plain text."""
    try:
        release_file = download_link_open(token=token)
    except ApplicationError as exc:
        if "text/html" in request.headers.get("Accept", ""):
            messages.error(request, exc.detail)
            return redirect("library")
        return HttpResponse(
            f"{exc.detail}\n", status=exc.status_code, content_type="text/plain; charset=utf-8"
        )
    return file_response(request, release_file, filename=download_filename(release_file))


_SHARD = re.compile(r"(?:^|/)([A-Za-z0-9_.]+?)-\d+-of-\d+\.parquet$")


def load_dataset_snippet(
    request: HttpRequest, release: DatasetRelease, files: list[LinkedFile]
) -> str:
    """Python that loads ``release`` with ``datasets``, one split per shard prefix
    (``data/train-00000-of-00002.parquet`` is in ``train``), through the files API."""
    splits: dict[str, list[str]] = {}
    for linked in files:
        if not linked.file.name.endswith(".parquet"):
            continue
        match = _SHARD.search(linked.file.name)
        url = request.build_absolute_uri(reverse("api-file", args=[linked.file.pk]))
        splits.setdefault(match.group(1) if match else "train", []).append(url)
    data_files = "".join(
        f'        "{split}": [\n'
        + "".join(f'            "{url}",\n' for url in urls)
        + "        ],\n"
        for split, urls in splits.items()
    )
    return (
        "from datasets import load_dataset\n\n"
        "# An API token with the download scope, from "
        f"{request.build_absolute_uri(reverse('api-tokens'))}\n"
        'TOKEN = "dbt_..."\n\n'
        f"{release.dataset.slug.replace('-', '_')} = load_dataset(\n"
        '    "parquet",\n'
        f"    data_files={{\n{data_files}    }},\n"
        '    storage_options={"headers": {"Authorization": f"Bearer {TOKEN}"}},\n'
        ")\n"
    )


@dataclass(frozen=True)
class Shelf:
    """One license on the library page, each downloadable version with its snippet."""

    entry: LibraryEntry
    versions: list[tuple[LibraryVersion, str]]


@dataclass(frozen=True)
class DatasetShelf:
    """One dataset on the library page: the person's licenses of it, active ones first. A
    version two active licenses cover is listed once, under the first."""

    dataset: Dataset
    shelves: list[Shelf]


def library_by_dataset(shelves: list[Shelf]) -> list[DatasetShelf]:
    """Groups the licenses per dataset, in the order the first license of each comes (active
    datasets first, as ``library_entries`` sorts them)."""
    groups: dict[int, list[Shelf]] = {}
    for shelf in shelves:
        groups.setdefault(shelf.entry.grant.dataset_id, []).append(shelf)
    grouped = []
    for members in groups.values():
        shown: set[int] = set()
        kept = []
        for shelf in members:
            versions = [(v, code) for v, code in shelf.versions if v.release.pk not in shown]
            shown.update(v.release.pk for v, _ in versions)
            kept.append(Shelf(entry=shelf.entry, versions=versions))
        grouped.append(DatasetShelf(dataset=members[0].entry.grant.dataset, shelves=kept))
    return grouped


@login_required
@require_GET
def library(request: HttpRequest) -> HttpResponse:
    """The person's licenses, and each covered version's files with signed links."""
    user: User = request.user  # type: ignore[assignment]
    entries = library_entries(user=user)
    shelves = [
        Shelf(
            entry=entry,
            versions=[
                (v, load_dataset_snippet(request, v.release, v.files)) for v in entry.versions
            ],
        )
        for entry in entries
    ]
    response = render(
        request,
        "payments/library.html",
        {
            "datasets": library_by_dataset(shelves),
            "active_count": sum(1 for e in entries if e.state == "active"),
            "link_ttl_minutes": max(download_link_ttl() // 60, 1),
        },
    )
    response["Cache-Control"] = "private, no-store"  # the links are credentials
    return response


@require_GET
def release_downloads_fragment(request: HttpRequest, release_id: int) -> HttpResponse:
    """The release page's download box, for htmx (``_release_downloads.html`` loads it when the
    release page did not render it itself)."""
    try:
        release = release_get(release_id=release_id, user=request.user)
    except ApplicationError as exc:
        return HttpResponse(status=exc.status_code)
    downloads = release_downloads(user=request.user, release=release)
    if not downloads.allowed and not can_view_release(request.user, release):
        return HttpResponse(status=404)  # a release of a dataset this person cannot see
    response = render(
        request,
        "datasets_app/_release_downloads.html",
        {"release": release, "downloads": downloads},
    )
    response["Cache-Control"] = "private, no-store"
    return response
