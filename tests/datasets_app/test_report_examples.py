"""The report's example rows: the first rejected rows by row number, each with its reasons and a
short excerpt of its content, with any personal data in it replaced by its kind."""

from __future__ import annotations

from typing import Any

import pytest

from datasets_app.models import Contribution
from datasets_app.services import contribution_validate
from datasets_app.services.validation_report import EXAMPLE_CHARS, REPORT_EXAMPLES
from tests.factories import DatasetFactory, submitted

pytestmark = pytest.mark.django_db

EMAIL, PHONE = "ada@example.org", "+44 20 7946 0958"


def validated(dataset: Any, content: bytes, name: str = "rows.csv") -> Contribution:
    contribution = submitted(dataset, content, name, queue_validation=False)
    contribution_validate(contribution_id=contribution.pk)
    contribution.refresh_from_db()
    return contribution


@pytest.fixture
def dataset() -> Any:
    return DatasetFactory.create(
        columns=[{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}],
        pii_policy="reject",
    )


def test_examples_show_the_rows_content_in_row_order(dataset: Any) -> None:
    # Row 4 is refused on reading (stars), row 5 as a copy of row 1 while the batch is read,
    # row 3 only later by the quality checks (personal data): the report still lists 3, 4, 5.
    content = (
        "text,stars\ngreat kettle,5\nfine lamp,4\n"
        f"mail me at {EMAIL} or call {PHONE},3\nbad stars,lots\ngreat kettle,5\n"
    ).encode()
    report = validated(dataset, content).report

    assert [(e["row"], e["excerpt"], e["redacted"]) for e in report["examples"]] == [
        (3, "text: mail me at [EMAIL] or call [PHONE] · stars: 3", True),
        (4, "text: bad stars · stars: lots", False),  # as read: the cell that failed to cast
        (5, "text: great kettle · stars: 5", False),
    ]
    assert report["examples"][0]["errors"] == [
        "column 'text' contains personal data (email)",
        "column 'text' contains personal data (phone number)",
    ]
    assert EMAIL not in str(report) and PHONE not in str(report)


def test_examples_are_the_first_rejected_rows_and_their_excerpts_are_bounded(
    dataset: Any,
) -> None:
    long_text = "word " * 400
    bad = [f'"{long_text}{n}",x' for n in range(REPORT_EXAMPLES + 10)]
    content = ("text,stars\n" + "\n".join(["ok,1", *bad, "tail\x01 text,oops"]) + "\n").encode()
    examples = validated(dataset, content).report["examples"]

    assert [e["row"] for e in examples] == list(range(2, REPORT_EXAMPLES + 2))
    assert all(len(e["excerpt"]) == EXAMPLE_CHARS for e in examples)
    assert examples[0]["excerpt"].startswith("text: word word")
    assert examples[0]["excerpt"].endswith("…")


def test_an_unreadable_cell_is_shown_without_control_characters(dataset: Any) -> None:
    content = b"text,stars\nbell\x07 ring,nope\n"
    (example,) = validated(dataset, content).report["examples"]
    assert example["excerpt"] == "text: bell  ring · stars: nope"


def test_the_report_page_shows_the_excerpts_and_says_personal_data_is_hidden(
    client: Any, dataset: Any
) -> None:
    content = f"text,stars\nwrite to {EMAIL},2\nbad,lots\n".encode()
    contribution = validated(dataset, content)
    client.force_login(contribution.contributor)

    body = client.get(f"/contributions/{contribution.pk}/").content.decode()

    assert "write to [EMAIL]" in body
    assert EMAIL not in body
    assert "text: bad · stars: lots" in body
    assert "Personal data in these rows is replaced by its kind" in body
