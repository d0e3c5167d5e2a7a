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

This module orchestrates (publish, build, requeue); ``release_parquet`` writes the shards and
``release_card`` works out the figures and writes the card.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import posixpath
import re
import tempfile
from collections.abc import Iterator
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

from datasets_app.enums import DatasetStatus
from datasets_app.exceptions import ReleaseError
from datasets_app.models import (
    Dataset,
    DatasetRelease,
    ReleaseFile,
    ReleaseStatus,
    release_file_upload_to,
)
from datasets_app.selectors.releases import (
    label_feature_description,
    labelled_share,
    release_items,
)
from datasets_app.services.release_card import release_card, release_quality
from datasets_app.services.release_parquet import (
    ShardWriter,
    content_hash_of,
    image_value,
    label_value,
    release_features,
    shard_rows_setting,
)
from datasets_app.services.release_statistics import ReleaseStatistics
from marketplace.core.exceptions import ConflictError, PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.policy import can_manage_dataset
from marketplace.core.services import audit_log_record

if TYPE_CHECKING:
    import datasets

logger = logging.getLogger(__name__)

RELEASE_LOCK = 0x5245  # pg_try_advisory_lock(RELEASE_LOCK, release id): one build per release
FETCH_ROWS = 2_000  # rows per round trip of the server-side cursor
LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,63}$")  # HF license identifiers: cc-by-4.0
MAX_NOTES = 5_000
README = "README.md"
DEFAULT_STUCK_SECONDS = 900


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
    if not can_manage_dataset(actor, dataset):
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
                .filter(pk=release_id, status=ReleaseStatus.BUILDING)
                .first()
            )
            if release is None:
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
        writer = ShardWriter(Path(folder), schema, shard_rows_setting())
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
                row[name], image_sizes[name] = image_value(data.get(name))
                size += image_sizes[name]
            try:
                row[label_name] = label_value(dataset, label, classes)
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
        quality = release_quality(release, rows_total, labelled, flagged, contribution_ids)
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
