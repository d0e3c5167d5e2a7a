"""Datasets: what a dataset is, who owns it, its quality policy and its counters."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from datasets_app.enums import DatasetStatus, LabelTask, Modality, SpanMatch
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
    # The classes a label chooses from; for spans/boxes the entity/object classes, in order (a
    # class's index is its position: keyboard key, HF ClassLabel id).
    label_classes = models.JSONField(default=list, blank=True)
    # Span tasks: whether two spans may share a character, and how spans match in consensus.
    spans_allow_overlap = models.BooleanField(
        default=False, help_text="Span tasks: spans may overlap (nested or crossing entities)."
    )
    span_match = models.CharField(
        max_length=8,
        choices=SpanMatch.choices,
        default=SpanMatch.TOKEN,
        help_text="Span tasks: labelers' spans agree at the same offsets (exact) or when they "
        "share enough word tokens (token).",
    )
    span_token_overlap = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.01), MaxValueValidator(1.0)],
        help_text="Span tasks with token matching: the share of word tokens two spans must "
        "share (Jaccard) to agree.",
    )
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
    def text_column(self) -> str | None:
        """The column span labels point into: the first string column."""
        return next((str(c["name"]) for c in self.columns if c["dtype"] == "string"), None)

    @property
    def image_column(self) -> str | None:
        """The column box labels are drawn on: the image column."""
        return next((str(c["name"]) for c in self.columns if c["dtype"] == "image"), None)

    @property
    def is_accepting(self) -> bool:
        return self.status == DatasetStatus.OPEN and self.accepting_contributions
