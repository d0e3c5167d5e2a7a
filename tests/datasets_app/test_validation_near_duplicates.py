"""Near-duplicates through the real validation path, at the dataset's own threshold: planted
copies whose exact shingle Jaccard with a row already in the dataset reaches the threshold are
rejected, copies below it are accepted, and a threshold change rebuilds the stored band keys."""

from __future__ import annotations

import csv
import io
import random
import re

import pytest

from datasets_app.models import Contribution, Dataset, Item, ItemBand
from datasets_app.quality import near_duplicates
from datasets_app.services import (
    contribution_validate,
    dataset_update,
    near_duplicate_bands_rebuild,
)
from tests.factories import DatasetFactory, UserFactory, submitted

pytestmark = pytest.mark.django_db

NEAR = "near-duplicate of a row already in the dataset"


def shingles(text: str) -> set[tuple[str, ...]]:
    """The ground truth, independent of the module: word bigrams, case-folded."""
    words = re.findall(r"\w+", text.casefold())
    return {tuple(words[i : i + 2]) for i in range(len(words) - 1)}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


class Writer:
    """Rows of 24-36 words from a pseudo-word vocabulary, and edited copies of them with an
    exact Jaccard in a chosen range."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - test data
        letters = "abcdefghijklmnopqrstuvwxyz"
        self.vocabulary = sorted(
            {"".join(self.rng.choices(letters, k=self.rng.randint(3, 9))) for _ in range(4_000)}
        )

    def row(self) -> str:
        return " ".join(self.rng.choices(self.vocabulary, k=self.rng.randint(24, 36)))

    def copy(self, text: str, low: float, high: float) -> str:
        """``text`` with words substituted, inserted or deleted until low <= Jaccard < high."""
        while True:
            words = text.split()
            for _ in range(self.rng.randint(1, 8)):
                at = self.rng.randrange(len(words))
                operation = self.rng.choice(["substitute", "insert", "delete"])
                if operation == "substitute":
                    words[at] = self.rng.choice(self.vocabulary)
                elif operation == "insert":
                    words.insert(at, self.rng.choice(self.vocabulary))
                elif len(words) > 3:
                    del words[at]
            copy = " ".join(words)
            if low <= jaccard(text, copy) < high:
                return copy


def validate(dataset: Dataset, texts: list[str]) -> Contribution:
    """``texts`` as the rows of a one-column CSV, submitted and validated."""
    content = io.StringIO()
    csv.writer(content).writerows([["text"], *([text] for text in texts)])
    contribution = submitted(dataset, content.getvalue().encode(), "rows.csv")
    contribution_validate(contribution_id=contribution.pk)
    contribution.refresh_from_db()
    return contribution


def accepted(contribution: Contribution) -> set[str]:
    return {
        data["text"]
        for data in Item.objects.filter(contribution=contribution).values_list("data", flat=True)
    }


def test_copies_at_the_threshold_are_caught_and_copies_below_it_are_not():
    """At 0.7, 60 copies with exact Jaccard 0.70-0.75 with their source: 16 bands of 8 rows made
    only about 60 % of such pairs candidates, and the MinHash estimate then dropped half of
    those. 30 copies at 0.55-0.68 must all get in."""
    writer = Writer(seed=70)
    dataset = DatasetFactory.create(near_duplicate_threshold=0.7)
    sources = [writer.row() for _ in range(90)]
    assert validate(dataset, sources).status == "accepted"
    above = [writer.copy(text, 0.70, 0.75) for text in sources[:60]]
    below = [writer.copy(text, 0.55, 0.68) for text in sources[60:]]

    contribution = validate(dataset, above + below)

    kept = accepted(contribution)
    recall = sum(text not in kept for text in above) / len(above)
    assert recall >= 0.95, recall
    assert [text for text in below if text not in kept] == []
    assert contribution.report["reasons"] == {NEAR: len(above) - len(kept & set(above))}
    example = contribution.report["examples"][0]["errors"][0]
    similarity = int(re.search(r"\((\d+)% similar\)", example).group(1))  # type: ignore[union-attr]
    assert 70 <= similarity <= 75  # the exact similarity, not an estimate


def copies_only_the_new_layout_finds(
    writer: Writer, sources: list[str], old: float, new: float
) -> list[str]:
    """Copies at ``new`` <= Jaccard < ``old`` that share no band key with their source in the
    layout of threshold ``old`` and one in the layout of ``new``."""
    copies = []
    for source in sources:
        while True:
            copy = writer.copy(source, new, min(old, new + 0.08))
            signatures = near_duplicates.minhash_signatures([source, copy])
            before = near_duplicates.band_hashes(signatures, *near_duplicates.lsh_layout(old))
            after = near_duplicates.band_hashes(signatures, *near_duplicates.lsh_layout(new))
            if not (before[0] == before[1]).any() and (after[0] == after[1]).any():
                copies.append(copy)
                break
    return copies


def stored_widths(dataset: Dataset) -> set[int]:
    return {len(keys) for keys in ItemBand.objects.filter(dataset=dataset).values_list(
        "band_keys", flat=True
    )}  # fmt: skip


@pytest.fixture
def eager_tasks(settings):  # type: ignore[no-untyped-def]
    """Tasks run inline: a unit test of the task body and of what enqueues it."""
    from marketplace.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_a_threshold_change_rebuilds_the_stored_keys_in_the_task_it_enqueues(
    django_capture_on_commit_callbacks, eager_tasks
):
    writer = Writer(seed=90)
    dataset = DatasetFactory.create(near_duplicate_threshold=0.9)
    sources = [writer.row() for _ in range(40)]
    validate(dataset, sources)
    dataset.refresh_from_db()
    assert (dataset.near_duplicate_bands, dataset.near_duplicate_rows) == (11, 10)
    assert stored_widths(dataset) == {11}
    copies = copies_only_the_new_layout_finds(writer, sources[:6], old=0.9, new=0.6)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dataset_update(dataset=dataset, actor=dataset.owner, near_duplicate_threshold=0.6)
    assert len(callbacks) == 1

    dataset.refresh_from_db()
    assert (dataset.near_duplicate_bands, dataset.near_duplicate_rows) == (19, 3)
    assert stored_widths(dataset) == {19}
    assert ItemBand.objects.filter(dataset=dataset).count() == 40
    assert near_duplicate_bands_rebuild(dataset_id=dataset.pk) is False  # already done
    contribution = validate(dataset, copies)
    assert contribution.status == "rejected"
    assert contribution.report["reasons"] == {NEAR: len(copies)}


def test_validation_rebuilds_keys_a_threshold_change_left_stale(
    django_capture_on_commit_callbacks,
):
    """The update's task has not run (a worker is down, or it is still queued): validation
    finds the stored layout stale under the band lock and rebuilds it before looking."""
    writer = Writer(seed=91)
    dataset = DatasetFactory.create(near_duplicate_threshold=0.9)
    sources = [writer.row() for _ in range(40)]
    validate(dataset, sources)
    copies = copies_only_the_new_layout_finds(writer, sources[:6], old=0.9, new=0.6)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dataset_update(dataset=dataset, actor=dataset.owner, near_duplicate_threshold=0.6)
    assert len(callbacks) == 1  # enqueued, never run
    assert stored_widths(dataset) == {11}

    contribution = validate(dataset, [*copies, writer.row()])

    assert contribution.status == "partially_accepted"
    assert contribution.report["reasons"] == {NEAR: len(copies)}
    dataset.refresh_from_db()
    assert (dataset.near_duplicate_bands, dataset.near_duplicate_rows) == (19, 3)
    assert stored_widths(dataset) == {19}
    assert ItemBand.objects.filter(dataset=dataset).count() == 41
    assert near_duplicate_bands_rebuild(dataset_id=dataset.pk) is False


def test_an_edit_that_keeps_the_threshold_enqueues_no_rebuild(django_capture_on_commit_callbacks):
    dataset = DatasetFactory.create(near_duplicate_threshold=0.7)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dataset_update(dataset=dataset, actor=dataset.owner, description="Reviews, shorter.")
    assert callbacks == []


def test_the_new_dataset_form_offers_the_model_s_default_threshold(client):
    """The form used to preselect 0.8: datasets made on the site missed copies at 0.7-0.8."""
    client.force_login(UserFactory.create())
    form = client.get("/datasets/new/").context["form"]
    assert form["near_duplicate_threshold"].value() == 0.7
    assert "estimated" not in form.fields["near_duplicate_threshold"].help_text


def test_copies_just_under_the_threshold_are_kept_but_scored_down(client):
    """At 0.7, copies at 0.60-0.69 are accepted, scored (0.7 - J) / 0.15 of a full row's score
    (stored on the item, counted in the report and in the contribution's quality score); fresh
    rows in the same file keep a full score."""
    writer = Writer(seed=71)
    dataset = DatasetFactory.create(near_duplicate_threshold=0.7)
    sources = [writer.row() for _ in range(40)]
    validate(dataset, sources)
    close = [writer.copy(text, 0.60, 0.69) for text in sources]
    fresh = [writer.row() for _ in range(40)]

    contribution = validate(dataset, close + fresh)

    scores = dict(
        Item.objects.filter(contribution=contribution).values_list("data__text", "quality_score")
    )
    assert set(scores) == set(close + fresh)  # nothing under the threshold is rejected
    assert {scores[text] for text in fresh} == {1.0}
    expected = {
        copy: round((0.7 - jaccard(src, copy)) / 0.15, 3)
        for src, copy in zip(sources, close, strict=True)
    }
    caught = [copy for copy in close if scores[copy] == pytest.approx(expected[copy], abs=0.002)]
    # A pair under the threshold is a candidate a little less often than one at it.
    assert len(caught) >= 0.9 * len(close), (len(caught), [scores[c] for c in close])
    assert all(scores[copy] in (1.0, pytest.approx(expected[copy], abs=0.002)) for copy in close)
    assert contribution.report["scored_down"] == len(caught)
    assert contribution.quality_score == pytest.approx(sum(scores.values()) / 80, abs=1e-4)
    assert contribution.report["score_distribution"]["min"] < 0.7
    client.force_login(contribution.contributor)
    page = client.get(f"/contributions/{contribution.pk}/").content.decode()
    assert f"{len(caught)} rows scored down as near copies." in page
