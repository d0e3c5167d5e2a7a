"""Releases: frozen, immutable versions of a dataset and their files."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from datasets_app.enums import LabelTask
from datasets_app.exceptions import ReleaseError
from datasets_app.models.datasets import Dataset


class ReleaseStatus(models.TextChoices):
    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class DatasetRelease(models.Model):
    """A frozen version of a dataset: its accepted items with their consensus labels, written
    once into Parquet shards plus a dataset card. Immutable once ready (a database trigger
    refuses changes), and what licenses cover and buyers download."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="releases")
    number = models.PositiveIntegerField()  # v1, v2, ... per dataset
    notes = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=ReleaseStatus.choices, default=ReleaseStatus.BUILDING
    )
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    rows = models.BigIntegerField(default=0)
    labelled_rows = models.BigIntegerField(default=0)
    size_bytes = models.BigIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True)  # sha256 over the shards' hashes
    features = models.JSONField(default=dict, blank=True)  # HF datasets Features, as a dict
    quality = models.JSONField(default=dict, blank=True)  # the figures on the card
    # Per-column statistics computed while the release is built (type, nulls, histograms…).
    statistics = models.JSONField(default=dict, blank=True)
    card = models.TextField(blank=True)  # README.md with YAML metadata
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("dataset", "-number")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["dataset", "number"], name="release_number_once"),
            models.CheckConstraint(
                condition=~Q(status="ready") | ~Q(content_hash=""),
                name="release_ready_has_hash",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.number}"

    @property
    def version(self) -> str:
        return f"v{self.number}"


def release_file_upload_to(instance: ReleaseFile, filename: str) -> str:
    release = instance.release
    return f"releases/{release.dataset_id}/v{release.number}/{uuid.uuid4().hex[:8]}/{filename}"


class ReleaseFile(models.Model):
    """One file of a release: a Parquet shard (``rows`` set) or the dataset card."""

    release = models.ForeignKey(DatasetRelease, on_delete=models.PROTECT, related_name="files")
    name = models.CharField(max_length=200)  # "data/train-00000-of-00002.parquet", "README.md"
    file = models.FileField(upload_to=release_file_upload_to, max_length=300)
    sha256 = models.CharField(max_length=64)
    rows = models.BigIntegerField(null=True, blank=True)
    size_bytes = models.BigIntegerField()

    class Meta:
        ordering = ("release", "name")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["release", "name"], name="release_file_once"),
        ]

    def __str__(self) -> str:
        return f"{self.release} {self.name}"


BOXES_COLUMN = "objects"  # the Hub's object-detection datasets call it so
LABEL_COLUMNS = ("label", "consensus_label", "release_label")  # the first one free


def release_label_column(dataset: Dataset) -> str:
    """The release's label column: ``objects`` for a boxes dataset (unless a column has that
    name), else ``label_column_name``. Pages and the release builder both ask here."""
    boxes = [BOXES_COLUMN] if dataset.label_task == LabelTask.BOXES else []
    return _first_free_column(dataset, [*boxes, *LABEL_COLUMNS])


def label_column_name(dataset: Dataset) -> str:
    """``label``, unless the dataset has a column of that name already."""
    return _first_free_column(dataset, LABEL_COLUMNS)


def _first_free_column(dataset: Dataset, names: Sequence[str]) -> str:
    taken = {str(column["name"]).lower() for column in dataset.columns or []}
    for name in names:
        if name not in taken:
            return name
    raise ReleaseError("The dataset's columns leave no name for the label column.")
