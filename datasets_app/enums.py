from django.db import models


class Modality(models.TextChoices):
    TEXT = "text"
    TABULAR = "tabular"
    IMAGE = "image"


class LabelTask(models.TextChoices):
    """What a label is. Spans: ``[{"start", "end", "label"}]`` character offsets into the item's
    text; boxes: ``[{"x", "y", "w", "h", "label"}]`` pixels of the original image."""

    SINGLE_LABEL = "single_label", "Single-label classification"
    MULTI_LABEL = "multi_label", "Multi-label classification"
    FREE_TEXT = "free_text", "Free text"
    SPANS = "spans", "Text spans (NER)"
    BOXES = "boxes", "Image bounding boxes"


# Tasks whose label is a list of annotations scored by F1 against consensus and gold.
ANNOTATION_TASKS = (LabelTask.SPANS, LabelTask.BOXES)


class SpanMatch(models.TextChoices):
    """How two spans of one class match: the same offsets, or enough shared word tokens."""

    EXACT = "exact", "Exact offsets"
    TOKEN = "token", "Token overlap"


class DatasetStatus(models.TextChoices):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    HIDDEN = "hidden", "Hidden (by moderators)"


class ContributionStatus(models.TextChoices):
    UPLOADED = "uploaded"
    VALIDATING = "validating"
    ACCEPTED = "accepted"
    PARTIALLY_ACCEPTED = "partially_accepted", "Partially accepted"
    REJECTED = "rejected"
    FAILED = "failed"


FINISHED_CONTRIBUTION_STATUSES = (
    ContributionStatus.ACCEPTED,
    ContributionStatus.PARTIALLY_ACCEPTED,
    ContributionStatus.REJECTED,
    ContributionStatus.FAILED,
)


class UploadStatus(models.TextChoices):
    RECEIVING = "receiving", "Receiving chunks"
    COMPLETE = "complete"
    ABORTED = "aborted"
