"""Which column a release's labels go in: the first name the dataset's own columns leave free."""

from __future__ import annotations

import pytest

from datasets_app.enums import LabelTask
from datasets_app.exceptions import ReleaseError
from datasets_app.models import Dataset
from datasets_app.models.releases import label_column_name, release_label_column


def dataset(task: str, *names: str) -> Dataset:
    return Dataset(label_task=task, columns=[{"name": n, "dtype": "string"} for n in names])


@pytest.mark.parametrize(
    ("task", "columns", "expected"),
    [
        (LabelTask.SINGLE_LABEL, ["text"], "label"),
        (LabelTask.SINGLE_LABEL, ["text", "Label"], "consensus_label"),
        (LabelTask.SINGLE_LABEL, ["label", "consensus_label"], "release_label"),
        (LabelTask.SPANS, ["objects"], "label"),
        (LabelTask.BOXES, ["city"], "objects"),
        (LabelTask.BOXES, ["objects"], "label"),
        (LabelTask.BOXES, ["objects", "label"], "consensus_label"),
    ],
)
def test_the_label_column_is_the_first_free_name(
    task: str, columns: list[str], expected: str
) -> None:
    assert release_label_column(dataset(task, *columns)) == expected


def test_no_free_name_is_a_release_error() -> None:
    taken = dataset(LabelTask.SINGLE_LABEL, "label", "consensus_label", "release_label")
    assert label_column_name(dataset(LabelTask.BOXES, "objects")) == "label"
    with pytest.raises(ReleaseError, match="no name for the label column"):
        release_label_column(taken)
