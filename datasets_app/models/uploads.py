"""Contributions (uploaded files and what validation made of them) and resumable uploads."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from datasets_app.enums import ContributionStatus, UploadStatus
from datasets_app.models.datasets import Dataset
from marketplace.core.models import BaseModel


def contribution_upload_to(instance: Contribution, filename: str) -> str:
    return f"contributions/{instance.dataset_id}/{uuid.uuid4().hex}/{filename}"


class Contribution(BaseModel):
    """One uploaded file and what validation made of it."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="contributions")
    contributor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contributions"
    )
    file = models.FileField(upload_to=contribution_upload_to, max_length=300)
    original_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=16)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(
        max_length=24,
        choices=ContributionStatus.choices,
        default=ContributionStatus.UPLOADED,
        db_index=True,
    )
    progress = models.PositiveSmallIntegerField(default=0)  # percent, for the status page
    rows_total = models.IntegerField(default=0)
    rows_accepted = models.IntegerField(default=0)
    rows_rejected = models.IntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    # 0..1: the mean row score over all rows read, a rejected row counting 0; null until validated
    quality_score = models.FloatField(null=True, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    # Which validation run owns the row, and when it last made progress: a run that stops
    # beating is taken over (its items deleted and redone), and a duplicate run backs off.
    validation_claim = models.UUIDField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints: ClassVar = [
            # The same file twice in one dataset is refused before it is stored again.
            models.UniqueConstraint(fields=["dataset", "sha256"], name="contribution_unique_file"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="contribution_progress"),
        ]
        indexes: ClassVar = [models.Index(fields=["contributor", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.original_name} → {self.dataset}"


class UploadSession(BaseModel):
    """A resumable, chunked upload: chunks append in order to a part file until complete."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=255)
    file_format = models.CharField(max_length=16)
    total_size = models.BigIntegerField()
    received_bytes = models.BigIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=UploadStatus.choices, default=UploadStatus.RECEIVING
    )
    contribution = models.OneToOneField(
        Contribution, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(received_bytes__gte=0) & Q(received_bytes__lte=models.F("total_size")),
                name="upload_received_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"upload {self.filename} ({self.received_bytes}/{self.total_size})"
