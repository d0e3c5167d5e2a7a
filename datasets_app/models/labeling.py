"""Items (accepted rows) and the labeling around them: reservations, labels, skips, LSH band
keys, and labeler credibility.

Items are the big table (designed for 10 million per dataset): no timestamps beyond creation,
the row itself as JSONB, and only the indexes the labeling queue and duplicate checks need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from datasets_app.models.datasets import Dataset
from datasets_app.models.uploads import Contribution

if TYPE_CHECKING:
    from marketplace.core.models import User


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


def labeler_key(
    *, on_delete: Callable[..., None], related_name: str
) -> models.ForeignKey[User, User]:
    """The person who reserved, labelled or skipped an item."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=on_delete, related_name=related_name
    )


class LabelReservation(models.Model):
    """A labeler holds one slot of an item while labelling it; expires if abandoned."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reservations")
    labeler = labeler_key(on_delete=models.CASCADE, related_name="+")
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
    labeler = labeler_key(on_delete=models.PROTECT, related_name="labels")
    dataset = models.ForeignKey(  # indexed by (dataset, labeler) below
        Dataset, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    value = models.JSONField()
    is_gold_check = models.BooleanField(default=False)
    gold_correct = models.BooleanField(null=True, blank=True)
    # Spans/boxes: F1 against the gold answer (gold_correct is F1 >= 0.5), and F1 against the
    # item's consensus once it is decided (pay and credibility weigh the label by it).
    gold_score = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
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
    labeler = labeler_key(on_delete=models.CASCADE, related_name="+")
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
    # Counts of gold answers and decided items; a span/box label adds its F1 (a fraction) to
    # gold_correct or agreed, a class label 1 or 0.
    gold_correct = models.FloatField(default=0)
    gold_total = models.IntegerField(default=0)
    agreed = models.FloatField(default=0)
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
