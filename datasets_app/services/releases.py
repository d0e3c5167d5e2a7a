"""Releases (DESIGN.md flow 9): a dataset version frozen into Parquet shards plus a dataset card.

How it works
------------
* ``release_publish`` (owner or staff) takes the next number under a lock on the dataset row,
  refuses a second version while one is building, and enqueues ``datasets.build_release`` once
  the row is committed.
* ``release_build`` is the task's body and safe to run twice or at once: a session advisory lock
  per release lets one run build while a duplicate returns at once (Redis re-delivers a long task
  past its visibility timeout); under the row lock it returns unless the release is building,
  and it clears what a run that died may have left (file rows, stored files) before starting.
* The rows are streamed from one server-side cursor (Django ``iterator``; outside a transaction
  PostgreSQL materialises the result WITH HOLD, so the release is one consistent snapshot while
  progress commits as it goes), in id order, into Parquet shards of at most
  ``RELEASE_SHARD_ROWS`` rows written by pyarrow with the Hugging Face ``datasets`` Features in
  the schema metadata (so ``load_dataset("parquet", ...)`` gets ClassLabel and Image back). Row
  groups hold ~100k rows or ~128 MB, whichever comes first. Only one row group of Python values
  is held at a time.
* Images go in as the HF ``Image`` struct ``{bytes, path}``: the stored file's bytes (one storage
  read per image) and the name the image had in the upload.
* The label column holds the consensus label: ``ClassLabel`` (single-label), a list of
  ``ClassLabel`` (multi-label) or ``string`` (free text); null where no consensus was reached.
* Shards are written to a temporary folder, hashed (sha256), then stored through
  ``default_storage``; the content hash is sha256 over the sorted ``"name:sha256"`` lines of the
  shards. The card (``README.md``, HF dataset-card YAML plus the quality figures) is stored too.
  The file rows and the release's figures are written, and the status set to ready, in one
  transaction, the status last: a database trigger then refuses any change to either.
* On any failure the release is marked failed with a clear error, and its file rows and stored
  files are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import posixpath
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from datasets_app.enums import DatasetStatus, LabelTask, Modality
from datasets_app.exceptions import ReleaseError
from datasets_app.integrations.readers import features_for
from datasets_app.models import (
    Contribution,
    Dataset,
    DatasetRelease,
    ReleaseFile,
    ReleaseStatus,
    release_file_upload_to,
)
from datasets_app.selectors.releases import (
    can_manage_releases,
    dataset_agreement,
    label_feature_description,
    labelled_share,
    rejection_figures,
    release_items,
    release_licenses,
    share,
)
from datasets_app.services.release_statistics import ReleaseStatistics
from marketplace.core.exceptions import ConflictError, PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.services import audit_log_record

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

RELEASE_LOCK = 0x5245  # pg_try_advisory_lock(RELEASE_LOCK, release id): one build per release
DEFAULT_SHARD_ROWS = 500_000
ROW_GROUP_ROWS = 100_000
ROW_GROUP_BYTES = 128 * 1024 * 1024  # estimated from the values' sizes
FETCH_ROWS = 2_000  # rows per round trip of the server-side cursor
LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,63}$")  # HF license identifiers: cc-by-4.0
MAX_NOTES = 5_000
README = "README.md"
DEFAULT_STUCK_SECONDS = 900


def shard_rows_setting() -> int:
    # settings/base.py declares RELEASE_SHARD_ROWS (env); the default keeps this module usable.
    return max(1, int(getattr(settings, "RELEASE_SHARD_ROWS", DEFAULT_SHARD_ROWS)))


def label_column_name(dataset: Dataset) -> str:
    """``label``, unless the dataset has a column of that name already."""
    taken = {str(column["name"]).lower() for column in dataset.columns or []}
    for name in ("label", "consensus_label", "release_label"):
        if name not in taken:
            return name
    raise ReleaseError("The dataset's columns leave no name for the label column.")


def release_features(dataset: Dataset) -> tuple[datasets.Features, str]:
    """The HF ``Features`` of a release of ``dataset``, and the name of its label column."""
    import datasets

    features = features_for(dataset.columns)
    name = label_column_name(dataset)
    if dataset.label_task == LabelTask.SINGLE_LABEL:
        features[name] = datasets.ClassLabel(names=list(dataset.label_classes))
    elif dataset.label_task == LabelTask.MULTI_LABEL:
        features[name] = datasets.List(datasets.ClassLabel(names=list(dataset.label_classes)))
    else:
        features[name] = datasets.Value("string")
    return features, name


# --- Publish -----------------------------------------------------------------------------------


@transaction.atomic
def release_publish(
    *,
    dataset: Dataset,
    actor: User,
    notes: str = "",
    license_id: str = "other",
    confirm_low_labelled_share: bool = False,
) -> DatasetRelease:
    """Start version N+1 of ``dataset``; the build runs in a worker.

    ``license_id`` (a Hub license id) goes on the card only when the dataset has no active
    license tier at build time: tiers are what buyers get, so their licenses win. A release
    in which fewer than ``dataset.min_labelled_share`` of the rows carry a consensus label is
    refused (409 ``labelled_share_below_minimum``) unless ``confirm_low_labelled_share``."""
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if not can_manage_releases(dataset=dataset, user=actor):
        raise PermissionDeniedError("Only the dataset's owner can publish a version.")
    if dataset.status == DatasetStatus.HIDDEN:
        raise ReleaseError("A dataset hidden by moderators cannot be released.", code="hidden")
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise ReleaseError(
            f"Release notes are at most {MAX_NOTES} characters.", extra={"field": "notes"}
        )
    license_id = (license_id or "other").strip().lower()
    if not LICENSE_ID.match(license_id):
        raise ReleaseError(
            "The license is a Hugging Face license identifier such as cc-by-4.0 or other.",
            code="invalid_license",
            extra={"field": "license"},
        )
    building = DatasetRelease.objects.filter(dataset=dataset, status=ReleaseStatus.BUILDING)
    current = building.values_list("number", flat=True).first()
    if current is not None:
        raise ConflictError(
            f"Version v{current} is still being built; publish again once it is done.",
            code="release_in_progress",
        )
    labelled = labelled_share(dataset=dataset)
    if not labelled["rows"]:
        raise ReleaseError("There are no accepted rows to release yet.", code="nothing_to_release")
    if labelled["below_minimum"] and not confirm_low_labelled_share:
        raise ConflictError(
            f"Only {labelled['labelled_rows']:,} of {labelled['rows']:,} rows "
            f"({labelled['labelled_share']:.0%}) have a consensus label, below this dataset's "
            f"minimum of {labelled['minimum']:.0%}. Confirm to publish it anyway, or label "
            "more rows first.",
            code="labelled_share_below_minimum",
            extra={
                "labelled_rows": labelled["labelled_rows"],
                "rows": labelled["rows"],
                "labelled_share": labelled["labelled_share"],
                "min_labelled_share": labelled["minimum"],
            },
        )
    latest = DatasetRelease.objects.filter(dataset=dataset).aggregate(n=Max("number"))["n"]
    release = DatasetRelease.objects.create(
        dataset=dataset,
        number=(latest or 0) + 1,
        notes=notes,
        created_by=actor,
        # Kept here until the build: the card's license when no license tier exists by then.
        quality={"license": license_id},
    )
    audit_log_record(
        action="release.published",
        actor=actor,
        target=release,
        data={
            "dataset": dataset.slug,
            "number": release.number,
            "license": license_id,
            "labelled_share": labelled["labelled_share"],
            "confirmed_low_labelled_share": bool(labelled["below_minimum"]),
        },
    )

    def enqueue() -> None:
        from datasets_app.tasks import build_release

        build_release.delay(release.pk)

    transaction.on_commit(enqueue)
    return release


# --- Build -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _build_lock(release_id: int) -> Iterator[bool]:
    """Whether this process may build the release (session advisory lock, not waited for; freed
    when the process's connection closes, so a crashed run's redelivery can take over)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [RELEASE_LOCK, release_id])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RELEASE_LOCK, release_id])


def release_build(*, release_id: int) -> str | None:
    """Build a release; returns the status it left it in, or None when there was nothing to do
    (no such release, already finished, or another run is building it)."""
    with _build_lock(release_id) as held:
        if not held:
            logger.info("release %s is being built by another run", release_id)
            return None
        with transaction.atomic():
            release = (
                DatasetRelease.objects.select_for_update()
                .select_related("dataset")
                .filter(pk=release_id)
                .first()
            )
            if release is None or release.status != ReleaseStatus.BUILDING:
                return None
            _discard_files(release)  # what a run that died half-way left
        try:
            _build(release)
        except Exception as exc:
            logger.exception("building release %s failed", release_id)
            _fail(release, _error_message(exc))
            return ReleaseStatus.FAILED
        return ReleaseStatus.READY


def releases_requeue_stuck() -> int:
    """Re-enqueue releases still building after ``RELEASE_STUCK_SECONDS`` with no run holding
    their lock: the enqueue was lost (a crash between commit and send) or the worker died.
    A duplicate of a task still waiting in the queue is harmless."""
    from datasets_app.tasks import build_release

    stuck_after = int(getattr(settings, "RELEASE_STUCK_SECONDS", DEFAULT_STUCK_SECONDS))
    cutoff = timezone.now() - timedelta(seconds=stuck_after)
    requeued = 0
    building = DatasetRelease.objects.filter(status=ReleaseStatus.BUILDING, created_at__lt=cutoff)
    for release_id in building.values_list("pk", flat=True):
        with _build_lock(release_id) as nobody_builds_it:
            if nobody_builds_it:
                build_release.delay(release_id)
                requeued += 1
    return requeued


def _error_message(exc: Exception) -> str:
    if isinstance(exc, ReleaseError):
        return exc.detail
    if isinstance(exc, SoftTimeLimitExceeded):
        return "The build took longer than its time limit; publish again, or ask moderators."
    return (
        f"The build failed on our side ({type(exc).__name__}); moderators were told. "
        "Publish again to retry."
    )


def _fail(release: DatasetRelease, message: str) -> None:
    with transaction.atomic():
        locked = DatasetRelease.objects.select_for_update().filter(pk=release.pk).first()
        if locked is None or locked.status != ReleaseStatus.BUILDING:
            return
        _discard_files(locked)
        DatasetRelease.objects.filter(pk=release.pk, status=ReleaseStatus.BUILDING).update(
            status=ReleaseStatus.FAILED, error=message[:500], progress=0
        )
        audit_log_record(action="release.failed", target=locked, data={"error": message[:500]})


def _storage_prefix(release: DatasetRelease) -> str:
    """The storage folder every file of this release goes under (``upload_to`` puts one random
    folder between it and the file name)."""
    probe = release_file_upload_to(ReleaseFile(release=release), "probe")
    return posixpath.dirname(posixpath.dirname(probe))


def _discard_files(release: DatasetRelease) -> None:
    """Remove a building release's file rows and everything stored under its folder (including
    files a dead run stored before it wrote their rows)."""
    ReleaseFile.objects.filter(release=release).delete()
    _delete_tree(_storage_prefix(release))


def _delete_tree(prefix: str) -> None:
    try:
        folders, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        default_storage.delete(posixpath.join(prefix, name))
    for folder in folders:
        _delete_tree(posixpath.join(prefix, folder))


def _set_progress(release: DatasetRelease, percent: int) -> None:
    DatasetRelease.objects.filter(pk=release.pk, status=ReleaseStatus.BUILDING).update(
        progress=max(0, min(percent, 99))
    )


@dataclass
class _Shard:
    path: Path
    rows: int = 0
    labelled: int = 0
    arrow_bytes: int = 0  # in-memory Arrow size, the HF card's num_bytes
    sha256: str = ""
    size_bytes: int = 0


@dataclass
class _ShardWriter:
    """Writes rows into Parquet shards of at most ``shard_rows`` rows, a row group per
    ``ROW_GROUP_ROWS`` rows or ``ROW_GROUP_BYTES`` bytes."""

    folder: Path
    schema: pa.Schema
    shard_rows: int
    shards: list[_Shard] = field(default_factory=list)
    _writer: pq.ParquetWriter | None = None
    _buffer: dict[str, list[Any]] = field(default_factory=dict)
    _buffered_rows: int = 0
    _buffered_bytes: int = 0
    _buffered_labelled: int = 0

    def __post_init__(self) -> None:
        self._reset_buffer()

    def _reset_buffer(self) -> None:
        self._buffer = {name: [] for name in self.schema.names}
        self._buffered_rows = self._buffered_bytes = self._buffered_labelled = 0

    def add(self, row: dict[str, Any], *, size: int, labelled: bool) -> None:
        for name, values in self._buffer.items():
            values.append(row.get(name))
        self._buffered_rows += 1
        self._buffered_bytes += size
        self._buffered_labelled += int(labelled)
        shard_filled = (self.shards[-1].rows if self._writer else 0) + self._buffered_rows
        if (
            self._buffered_rows >= ROW_GROUP_ROWS
            or self._buffered_bytes >= ROW_GROUP_BYTES
            or shard_filled >= self.shard_rows
        ):
            self._flush()
        if self._writer is not None and self.shards[-1].rows >= self.shard_rows:
            self._close_shard()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._buffered_rows:
            return
        if self._writer is None:
            shard = _Shard(path=self.folder / f"shard-{len(self.shards):05d}.parquet")
            self.shards.append(shard)
            self._writer = pq.ParquetWriter(shard.path, self.schema, compression="zstd")
        table = pa.Table.from_pydict(self._buffer, schema=self.schema)
        self._writer.write_table(table, row_group_size=table.num_rows)  # one row group
        shard = self.shards[-1]
        shard.rows += table.num_rows
        shard.labelled += self._buffered_labelled
        shard.arrow_bytes += table.nbytes
        self._reset_buffer()

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> list[_Shard]:
        self._flush()
        self._close_shard()
        for shard in self.shards:
            shard.sha256, shard.size_bytes = _sha256_of(shard.path)
        return self.shards


def _sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as file:
        while block := file.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _image_value(value: Any) -> tuple[dict[str, Any] | None, int]:
    """The HF ``Image`` struct for a stored image: its bytes and its name in the upload."""
    if not isinstance(value, dict) or not value.get("path"):
        return None, 0
    with default_storage.open(value["path"], "rb") as stored:
        data = stored.read()
    name = value.get("file_name") or posixpath.basename(value["path"])
    return {"bytes": data, "path": name}, len(data)


def _label_value(dataset: Dataset, label: Any, classes: dict[str, int]) -> Any:
    if label is None:
        return None
    if dataset.label_task == LabelTask.SINGLE_LABEL:
        return classes[str(label)]
    if dataset.label_task == LabelTask.MULTI_LABEL:
        return sorted(classes[str(name)] for name in label)
    return str(label)


def content_hash_of(files: list[tuple[str, str]]) -> str:
    """sha256 over the sorted ``"name:sha256"`` lines of a release's shards."""
    lines = sorted(f"{name}:{digest}" for name, digest in files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _build(release: DatasetRelease) -> None:
    dataset = release.dataset
    features, label_name = release_features(dataset)
    schema = features.arrow_schema
    image_columns = [c["name"] for c in dataset.columns if c["dtype"] == "image"]
    plain_columns = [c["name"] for c in dataset.columns if c["dtype"] != "image"]
    classes = {name: index for index, name in enumerate(dataset.label_classes or [])}
    statistics = ReleaseStatistics(
        columns=dataset.columns,
        label_name=label_name,
        label_task=dataset.label_task,
        label_classes=list(dataset.label_classes or []),
        label_dtype=label_feature_description(dataset),
        seed=release.pk,
    )
    items = release_items(dataset=dataset)
    expected = items.count() or 1  # for the progress bar only; the cursor below is the truth
    contribution_ids: set[int] = set()
    flagged = 0
    done = 0
    percent = 0
    with tempfile.TemporaryDirectory(prefix="release-") as folder:
        writer = _ShardWriter(Path(folder), schema, shard_rows_setting())
        rows = items.values_list("data", "consensus_label", "flags", "contribution_id")
        for data, label, flags, contribution_id in rows.iterator(chunk_size=FETCH_ROWS):
            row: dict[str, Any] = {}
            size = 0
            for name in plain_columns:
                value = data.get(name)
                row[name] = value
                size += len(value) if isinstance(value, str) else 8
            image_sizes: dict[str, int] = {}
            for name in image_columns:
                row[name], image_sizes[name] = _image_value(data.get(name))
                size += image_sizes[name]
            try:
                row[label_name] = _label_value(dataset, label, classes)
            except (KeyError, TypeError, ValueError) as exc:
                raise ReleaseError(
                    f"A row's consensus label {label!r} is not one of the dataset's classes."
                ) from exc
            writer.add(row, size=size, labelled=label is not None)
            statistics.add(data, row[label_name], image_sizes)
            if contribution_id is not None:
                contribution_ids.add(contribution_id)
            flagged += bool(flags)
            done += 1
            if done % FETCH_ROWS == 0 and (now := 90 * done // expected) > percent:
                percent = now
                _set_progress(release, percent)
        shards = writer.close()
        if not shards:
            raise ReleaseError("No accepted rows are left to release.", code="nothing_to_release")
        total = len(shards)
        named = [
            (f"data/train-{index:05d}-of-{total:05d}.parquet", shard)
            for index, shard in enumerate(shards)
        ]
        content_hash = content_hash_of([(name, shard.sha256) for name, shard in named])
        rows_total = sum(shard.rows for shard in shards)
        labelled = sum(shard.labelled for shard in shards)
        quality = _quality(release, rows_total, labelled, flagged, contribution_ids)
        card = release_card(
            release,
            features=features,
            label_name=label_name,
            files=[(name, shard.rows, shard.size_bytes, shard.sha256) for name, shard in named],
            content_hash=content_hash,
            quality=quality,
            arrow_bytes=sum(shard.arrow_bytes for shard in shards),
        )
        files: list[ReleaseFile] = []
        for number, (name, shard) in enumerate(named, start=1):
            entry = ReleaseFile(
                release=release,
                name=name,
                sha256=shard.sha256,
                rows=shard.rows,
                size_bytes=shard.size_bytes,
            )
            with shard.path.open("rb") as local:
                entry.file.save(posixpath.basename(name), File(local), save=False)
            files.append(entry)
            _set_progress(release, 90 + 9 * number // total)
    card_bytes = card.encode()
    readme = ReleaseFile(
        release=release,
        name=README,
        sha256=hashlib.sha256(card_bytes).hexdigest(),
        rows=None,
        size_bytes=len(card_bytes),
    )
    readme.file.save(README, ContentFile(card_bytes), save=False)
    files.append(readme)
    _finish(
        release,
        files,
        rows_total,
        labelled,
        content_hash,
        features,
        quality,
        statistics.result(),
        card,
    )


def _quality(
    release: DatasetRelease,
    rows: int,
    labelled: int,
    flagged: int,
    contribution_ids: set[int],
) -> dict[str, Any]:
    dataset = release.dataset
    figures = rejection_figures(dataset=dataset)
    contributors = (
        Contribution.objects.filter(dataset=dataset, pk__in=contribution_ids)
        .values("contributor")
        .distinct()
        .count()
        if contribution_ids
        else 0
    )
    return {
        **_license_figures(release),
        "rows": rows,
        "labelled_rows": labelled,
        "labelled_share": share(labelled, rows),
        "flagged_rows": flagged,
        "flagged_share": share(flagged, rows),
        "rows_submitted": figures["rows_submitted"],
        "duplicate_rejected_rows": figures["duplicate_rows"],
        "duplicate_rate": share(figures["duplicate_rows"], figures["rows_submitted"]),
        "pii_rejected_rows": figures["pii_rows"],
        "pii_rate": share(figures["pii_rows"], figures["rows_submitted"]),
        "agreement_alpha": dataset_agreement(dataset=dataset),
        "contributors": contributors,
    }


def _license_figures(release: DatasetRelease) -> dict[str, Any]:
    """The release's licenses, decided when it is built (a ready release never changes):

    * ``license_tiers``: the dataset's active license tiers at that moment, each with its name,
      SPDX id and Hub license id (``other`` for custom terms or an id the Hub lacks);
    * ``licenses``: their distinct Hub ids, in price order, or, with no tier, the license
      given at publish (``license_source`` ``"publisher"``), or ``unknown`` (``"none"``);
    * ``license``: the same ids joined by ", " (one string, for pages and older readers)."""
    tiers = release_licenses(dataset=release.dataset)
    given = str((release.quality or {}).get("license") or "other")
    if tiers:
        ids = list(dict.fromkeys(tier["license"] for tier in tiers))
        source = "tiers"
    elif given != "other":
        ids, source = [given], "publisher"
    else:
        ids, source = ["unknown"], "none"
    return {
        "license": ", ".join(ids),
        "licenses": ids,
        "license_source": source,
        "license_tiers": tiers,
    }


def _finish(
    release: DatasetRelease,
    files: list[ReleaseFile],
    rows: int,
    labelled: int,
    content_hash: str,
    features: datasets.Features,
    quality: dict[str, Any],
    statistics: dict[str, Any],
    card: str,
) -> None:
    with transaction.atomic():
        ReleaseFile.objects.bulk_create(files)
        # Status last, in the same UPDATE as everything else: from here the trigger refuses
        # changes to the release and its files.
        updated = DatasetRelease.objects.filter(
            pk=release.pk, status=ReleaseStatus.BUILDING
        ).update(
            rows=rows,
            labelled_rows=labelled,
            size_bytes=sum(entry.size_bytes for entry in files),
            content_hash=content_hash,
            features=features.to_dict(),
            quality=quality,
            statistics=statistics,
            card=card,
            progress=100,
            error="",
            ready_at=timezone.now(),
            status=ReleaseStatus.READY,
        )
        if updated != 1:
            raise ReleaseError("The release stopped building while its files were written.")
        audit_log_record(
            action="release.ready",
            actor=release.created_by,
            target=release,
            data={"rows": rows, "content_hash": content_hash},
        )


# --- The card ----------------------------------------------------------------------------------

TASK_CATEGORIES = {
    (Modality.TEXT, False): "text-classification",
    (Modality.IMAGE, False): "image-classification",
    (Modality.TABULAR, False): "tabular-classification",
    (Modality.TEXT, True): "text-generation",
    (Modality.IMAGE, True): "image-to-text",
    (Modality.TABULAR, True): "tabular-to-text",
}
TASK_IDS = {
    LabelTask.SINGLE_LABEL: "multi-class-classification",
    LabelTask.MULTI_LABEL: "multi-label-classification",
}
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)


def size_category(rows: int) -> str:
    for bound, name in SIZE_CATEGORIES:
        if rows < bound:
            return name
    return "n>1T" if rows > 10**12 else "1B<n<10B"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _tier_terms(spdx_id: str) -> str:
    return f"`{spdx_id}`" if spdx_id else "its own terms (see the dataset page)"


def _license_lines(quality: dict[str, Any]) -> list[str]:
    tiers = quality["license_tiers"]
    if tiers:
        return [
            "Sold under these license tiers (as they were when this version was built):",
            "",
            "| tier | license |",
            "|---|---|",
            *(f"| {tier['tier']} | {_tier_terms(tier['spdx_id'])} |" for tier in tiers),
        ]
    if quality["license_source"] == "publisher":
        return [
            f"No license tier existed when this version was built; the owner gave "
            f"`{quality['licenses'][0]}`."
        ]
    return [
        "No license tier existed when this version was built, so its license is `unknown`; "
        "the dataset's page lists the licenses on sale now."
    ]


def release_card(
    release: DatasetRelease,
    *,
    features: datasets.Features,
    label_name: str,
    files: list[tuple[str, int, int, str]],
    content_hash: str,
    quality: dict[str, Any],
    arrow_bytes: int,
) -> str:
    """``README.md`` in the Hugging Face dataset-card format: YAML metadata (license, features,
    splits, sizes, configs) and a Markdown body with the quality figures and the file hashes."""
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo
    from huggingface_hub import DatasetCardData

    dataset = release.dataset
    rows = int(quality["rows"])
    download_size = sum(size for _, _, size, _ in files)
    splits = SplitDict()
    splits.add(SplitInfo(name="train", num_bytes=arrow_bytes, num_examples=rows))
    info = DatasetInfo(
        features=features, splits=splits, download_size=download_size, dataset_size=arrow_bytes
    )
    free_text = dataset.label_task == LabelTask.FREE_TEXT
    licenses: list[str] = quality["licenses"]
    custom = [tier["tier"] for tier in quality["license_tiers"] if tier["license"] == "other"]
    # The Hub asks `other` to be named (license_name): the first tier with its own terms.
    extra: dict[str, Any] = {"license_name": slugify(custom[0]) or "custom"} if custom else {}
    metadata = DatasetCardData(
        # One license as a string; several tiers with different licenses as a YAML list.
        license=licenses[0] if len(licenses) == 1 else licenses,
        **extra,
        pretty_name=dataset.title,
        task_categories=[TASK_CATEGORIES[(Modality(dataset.modality), free_text)]],
        task_ids=[TASK_IDS[LabelTask(dataset.label_task)]] if not free_text else None,
        size_categories=[size_category(rows)],
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": "train", "path": "data/train-*"}],
            }
        ],
    )
    DatasetInfosDict({"default": info}).to_dataset_card_data(metadata)
    if dataset.label_task == LabelTask.SINGLE_LABEL:
        label_text = f"one of {len(dataset.label_classes)} classes (`ClassLabel`)"
    elif dataset.label_task == LabelTask.MULTI_LABEL:
        label_text = f"a list of classes out of {len(dataset.label_classes)} (`ClassLabel`)"
    else:
        label_text = "free text (`string`)"
    alpha = quality["agreement_alpha"]
    lines = [
        f"# {dataset.title} ({release.version})",
        "",
        dataset.description,
        "",
        f"Version {release.version} of this DataBounty dataset: {rows:,} rows frozen on "
        f"{timezone.localdate(timezone.now()).isoformat()}, "
        f"{'licenses' if len(licenses) > 1 else 'license'} "
        f"{', '.join(f'`{name}`' for name in licenses)}.",
        "",
    ]
    if release.notes:
        lines += ["## Release notes", "", release.notes, ""]
    lines += ["## Licenses", "", *_license_lines(quality), ""]
    lines += [
        "## Data",
        "",
        "| column | type |",
        "|---|---|",
        *(f"| `{c['name']}` | `{c['dtype']}` |" for c in dataset.columns),
        f"| `{label_name}` | consensus label: {label_text}; empty where undecided |",
        "",
        "Labels are the consensus of several labelers per row (Dawid-Skene, weighted by each "
        "labeler's accuracy on gold items). Gold rows and rows hidden by moderators are left out.",
        "",
        "## Quality",
        "",
        "| figure | value |",
        "|---|---|",
        f"| rows | {rows:,} |",
        f"| rows with a consensus label | {quality['labelled_rows']:,} "
        f"({_percent(quality['labelled_share'])}) |",
        f"| label agreement (Krippendorff's alpha) | {'—' if alpha is None else f'{alpha:.2f}'} |",
        f"| rows submitted | {quality['rows_submitted']:,} |",
        f"| rejected as duplicates or near-duplicates | {_percent(quality['duplicate_rate'])} |",
        f"| rejected for personal data | {_percent(quality['pii_rate'])} |",
        f"| rows flagged (kept, marked) | {quality['flagged_rows']:,} "
        f"({_percent(quality['flagged_share'])}) |",
        f"| contributors | {quality['contributors']:,} |",
        "",
        "## Files",
        "",
        "| file | rows | bytes | sha256 |",
        "|---|---|---|---|",
        *(f"| `{name}` | {n:,} | {size:,} | `{digest}` |" for name, n, size, digest in files),
        "",
        f"Content hash: `{content_hash}` (sha256 over the sorted `name:sha256` lines of the "
        "files above).",
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'data = load_dataset("parquet", data_files="data/train-*.parquet")',
        "```",
        "",
    ]
    if dataset.card_markdown.strip():
        lines += ["## About this dataset", "", dataset.card_markdown.strip(), ""]
    return f"---\n{metadata.to_yaml()}\n---\n\n" + "\n".join(lines)
