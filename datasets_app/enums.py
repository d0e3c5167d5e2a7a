from django.db import models


class Modality(models.TextChoices):
    TEXT = "text", "Text"
    TABULAR = "tabular", "Tabular"
    IMAGE = "image", "Image"


class LabelTask(models.TextChoices):
    """What a label is. Spans and boxes will join as new values with their own value schema."""

    SINGLE_LABEL = "single_label", "Single-label classification"
    MULTI_LABEL = "multi_label", "Multi-label classification"
    FREE_TEXT = "free_text", "Free text"


class DatasetStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    HIDDEN = "hidden", "Hidden (by moderators)"


class ContributionStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    VALIDATING = "validating", "Validating"
    ACCEPTED = "accepted", "Accepted"
    PARTIALLY_ACCEPTED = "partially_accepted", "Partially accepted"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


FINISHED_CONTRIBUTION_STATUSES = (
    ContributionStatus.ACCEPTED,
    ContributionStatus.PARTIALLY_ACCEPTED,
    ContributionStatus.REJECTED,
    ContributionStatus.FAILED,
)


class UploadStatus(models.TextChoices):
    RECEIVING = "receiving", "Receiving chunks"
    COMPLETE = "complete", "Complete"
    ABORTED = "aborted", "Aborted"
