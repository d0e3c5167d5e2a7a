"""Datasets, contributions (uploaded files), items (accepted rows), labels and releases.

One module per domain; every model is re-exported here, where Django and migrations look for them
(migrations name ``datasets_app.models.contribution_upload_to`` and ``release_file_upload_to``).
"""

from datasets_app.models.datasets import MAX_LABELS_PER_ITEM, Dataset
from datasets_app.models.labeling import (
    Item,
    ItemBand,
    Label,
    LabelerCredibility,
    LabelReservation,
    LabelSkip,
)
from datasets_app.models.releases import (
    DatasetRelease,
    ReleaseFile,
    ReleaseStatus,
    release_file_upload_to,
)
from datasets_app.models.uploads import Contribution, UploadSession, contribution_upload_to

__all__ = [
    "MAX_LABELS_PER_ITEM",
    "Contribution",
    "Dataset",
    "DatasetRelease",
    "Item",
    "ItemBand",
    "Label",
    "LabelReservation",
    "LabelSkip",
    "LabelerCredibility",
    "ReleaseFile",
    "ReleaseStatus",
    "UploadSession",
    "contribution_upload_to",
    "release_file_upload_to",
]
