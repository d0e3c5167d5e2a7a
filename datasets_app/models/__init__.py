"""Datasets, contributions (uploaded files), items (accepted rows) and labels.

Items are the big table (designed for 10 million per dataset): no timestamps beyond creation,
the row itself as JSONB, and only the indexes the labeling queue and duplicate checks need.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from datasets_app.enums import (
    ContributionStatus,
    DatasetStatus,
    LabelTask,
    Modality,
    UploadStatus,
)
from marketplace.core.models import BaseModel

MAX_LABELS_PER_ITEM = 15


class Dataset(BaseModel):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="datasets_owned"
    )
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=500, help_text="One or two sentences.")
    card_markdown = models.TextField(
        blank=True, help_text="The dataset card, in Markdown (raw HTML is not rendered)."
    )
    modality = models.CharField(max_length=16, choices=Modality.choices)
    # [{"name": ..., "dtype": ...}] in the HF datasets vocabulary (Value dtypes, "image").
    columns = models.JSONField()
    label_task = models.CharField(max_length=16, choices=LabelTask.choices)
    label_classes = models.JSONField(default=list, blank=True)
    guidelines = models.TextField(blank=True)
    labels_per_item = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(MAX_LABELS_PER_ITEM)]
    )
    accepting_contributions = models.BooleanField(default=True)
    # What the row viewer shows a visitor without a license: the first N rows, 0 for none.
    preview_rows = models.PositiveIntegerField(
        default=10,
        validators=[MaxValueValidator(1000)],
        help_text="Rows a visitor without a license sees in the viewer (0: none, at most 1000).",
    )
    # Publishing a release with a smaller share of rows carrying a consensus label asks first.
    min_labelled_share = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Publishing a release with fewer rows labelled than this share asks to confirm.",
    )
    # Quality policy for validation.
    language = models.CharField(
        max_length=8, blank=True, help_text="ISO 639-1 code text rows must be in; blank: any."
    )
    pii_policy = models.CharField(
        max_length=8,
        choices=[("reject", "Reject rows with personal data"), ("flag", "Accept and flag them")],
        default="reject",
    )
    near_duplicate_threshold = models.FloatField(
        default=0.7,
        validators=[MinValueValidator(0.5), MaxValueValidator(1.0)],
        help_text="Jaccard similarity of word pairs at which a text row is a near-duplicate.",
    )
    # The LSH layout (bands x rows) the dataset's stored band keys (ItemBand) are cut with:
    # near_duplicates.lsh_layout(near_duplicate_threshold) once near_duplicate_bands_rebuild has
    # caught up with a threshold change. The defaults are the layout of the default threshold.
    near_duplicate_bands = models.PositiveSmallIntegerField(default=17, editable=False)
    near_duplicate_rows = models.PositiveSmallIntegerField(default=4, editable=False)
    status = models.CharField(
        max_length=16, choices=DatasetStatus.choices, default=DatasetStatus.DRAFT, db_index=True
    )
    # Counters kept by the services (F() updates), so catalogue pages never COUNT(*) items.
    items_count = models.BigIntegerField(default=0)
    labels_count = models.BigIntegerField(default=0)
    contributions_count = models.IntegerField(default=0)
    # Krippendorff's alpha (nominal) over all labels, refreshed with each consensus round.
    agreement_alpha = models.FloatField(null=True, blank=True)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ("-created_at",)
        indexes: ClassVar = [GinIndex(fields=["search_vector"])]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(labels_per_item__gte=1) & Q(labels_per_item__lte=MAX_LABELS_PER_ITEM),
                name="dataset_labels_per_item_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.status in (DatasetStatus.OPEN, DatasetStatus.CLOSED)

    @property
    def is_accepting(self) -> bool:
        return self.status == DatasetStatus.OPEN and self.accepting_contributions


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


class Item(models.Model):
    """An accepted row. ``slots_open`` counts label slots not yet handed out (k minus labels
    and live reservations), so the queue finds work with one indexed condition."""

    # No index of its own: the unique (dataset, content_hash) index serves dataset lookups.
    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    contribution = models.ForeignKey(
        Contribution, on_delete=models.CASCADE, related_name="items", null=True, blank=True
    )
    row_number = models.IntegerField(default=0)
    data = models.JSONField()
    content_hash = models.CharField(max_length=64)
    is_gold = models.BooleanField(default=False)
    gold_label = models.JSONField(null=True, blank=True)
    is_hidden = models.BooleanField(default=False)
    quality_score = models.FloatField(default=1.0, db_default=1.0)  # 0..1 from the row checks
    # e.g. ["pii:email"] when the dataset's policy flags rather than rejects
    flags = models.JSONField(default=list, db_default=[], blank=True)
    labels_count = models.PositiveSmallIntegerField(default=0)
    slots_open = models.SmallIntegerField(default=0)
    consensus_label = models.JSONField(null=True, blank=True)
    consensus_confidence = models.FloatField(null=True, blank=True)
    # When the label was decided: a reward epoch pays the agreeing labels of items decided in it.
    consensus_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["dataset", "content_hash"], name="item_unique_content"),
            models.CheckConstraint(condition=Q(slots_open__gte=0), name="item_slots_not_negative"),
        ]
        indexes: ClassVar = [
            # The labeling queue: the oldest items of a dataset that still have a free slot.
            models.Index(
                fields=["dataset", "id"],
                name="item_queue_idx",
                condition=Q(slots_open__gt=0, is_gold=False, is_hidden=False),
            ),
            models.Index(fields=["dataset", "id"], name="item_gold_idx", condition=Q(is_gold=True)),
            models.Index(
                fields=["dataset", "consensus_at"],
                name="item_decided_idx",
                condition=Q(consensus_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        # The row's own words, so admin messages and links say which item (no query).
        text = " · ".join(
            str(value.get("file_name", "image")) if isinstance(value, dict) else str(value)
            for value in (self.data or {}).values()
            if value not in (None, "")
        )
        excerpt = text if len(text) <= 60 else text[:59] + "…"
        return f"item {self.pk}: {excerpt}" if excerpt else f"item {self.pk}"


class LabelReservation(models.Model):
    """A labeler holds one slot of an item while labelling it; expires if abandoned."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reservations")
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["item", "labeler"], name="reservation_once"),
            # One open item per labeler per dataset: reloading the page gives the same item.
            models.UniqueConstraint(fields=["dataset", "labeler"], name="reservation_one_open"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} reserved by {self.labeler_id}"


class Label(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="labels")
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels"
    )
    dataset = models.ForeignKey(  # indexed by (dataset, labeler) below
        Dataset, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    value = models.JSONField()
    is_gold_check = models.BooleanField(default=False)
    gold_correct = models.BooleanField(null=True, blank=True)
    is_rejected = models.BooleanField(default=False)  # moderation
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["item", "labeler"], name="label_once_per_item"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["labeler", "-created_at"]),
            models.Index(fields=["dataset", "labeler"]),
        ]

    def __str__(self) -> str:
        return f"{self.value} by {self.labeler} on item {self.item_id}"


class LabelSkip(models.Model):
    """The labeler passed on this item; the queue does not offer it to them again."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["item", "labeler"], name="skip_once"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} skipped by {self.labeler_id}"


class ItemBand(models.Model):
    """MinHash LSH band keys of a text item, one row per item (``near_duplicates.band_hashes``,
    scheme ``BAND_SCHEME``): items sharing a key are near-duplicate candidates. Validation loads a
    dataset's rows into an in-memory index once per run, then the rows added since: rows are
    written under a per-dataset lock, so ``id`` grows in commit order within a dataset."""

    # The item's dataset, copied so a run can read a dataset's keys by index. No database
    # constraint: the item's foreign key already vouches for it, and each checked key cost as
    # much as writing the row (one check per row, a million per big file).
    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="bands")
    band_keys = ArrayField(models.BigIntegerField())

    class Meta:
        indexes: ClassVar = [models.Index(fields=["dataset", "id"], name="itemband_dataset_seq")]

    def __str__(self) -> str:
        return f"bands of item {self.item_id}"


class LabelerCredibility(models.Model):
    """How far a labeler's work can be trusted: accuracy on gold items and agreement with
    consensus, folded into an exponential moving average after each consensus round."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credibility"
    )
    credibility = models.FloatField(default=0.7)
    gold_correct = models.IntegerField(default=0)
    gold_total = models.IntegerField(default=0)
    agreed = models.IntegerField(default=0)
    compared = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "labeler credibility"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(credibility__gte=0) & Q(credibility__lte=1), name="credibility_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.credibility:.2f}"


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
