"""Validation turns a contribution's good rows into items, with a report of the rest."""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from datasets_app.models import Contribution, Item
from datasets_app.services import contribution_validate
from datasets_app.services.moderation import contribution_revalidate
from tests.factories import DatasetFactory, UserFactory, submitted

pytestmark = pytest.mark.django_db

TABULAR = [{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}]


def submit(dataset, name: str, content: bytes, user=None) -> Contribution:  # type: ignore[no-untyped-def]
    return submitted(dataset, content, name, contributor=user)


@pytest.fixture
def dataset():  # type: ignore[no-untyped-def]
    return DatasetFactory.create(columns=TABULAR, modality="tabular")


def test_good_rows_become_items_and_bad_rows_are_reported(dataset):
    csv = b"text,stars\ngreat,5\n,3\nmeh,lots\ngreat,5\nawful,1\n"
    contribution = submit(dataset, "r.csv", csv)
    assert contribution_validate(contribution_id=contribution.pk) == "partially_accepted"
    contribution.refresh_from_db()
    assert (contribution.rows_total, contribution.rows_accepted, contribution.rows_rejected) == (
        5,
        2,
        3,
    )
    assert contribution.progress == 100
    items = list(Item.objects.filter(contribution=contribution).order_by("row_number"))
    assert [i.data for i in items] == [{"text": "great", "stars": 5}, {"text": "awful", "stars": 1}]
    assert all(i.slots_open == dataset.labels_per_item for i in items)
    report = contribution.report
    assert report["reasons"]["column 'text' is empty"] == 1
    assert report["reasons"]["column 'stars' expected int64"] == 1
    assert report["reasons"]["duplicate of an earlier row in this file"] == 1
    assert {e["row"] for e in report["examples"]} == {2, 3, 4}
    dataset.refresh_from_db()
    assert dataset.items_count == 2


def test_rows_already_in_the_dataset_are_rejected(dataset):
    first = submit(dataset, "a.csv", b"text,stars\ngreat,5\n")
    contribution_validate(contribution_id=first.pk)
    second = submit(
        dataset, "b.jsonl", b'{"text": "great", "stars": 5}\n{"text": "new", "stars": 2}\n'
    )
    assert contribution_validate(contribution_id=second.pk) == "partially_accepted"
    second.refresh_from_db()
    assert second.report["reasons"] == {"already in the dataset": 1}
    assert Item.objects.filter(dataset=dataset).count() == 2


def test_a_file_with_the_wrong_columns_is_rejected_whole(dataset):
    contribution = submit(dataset, "a.csv", b"title,stars\nx,1\n")
    assert contribution_validate(contribution_id=contribution.pk) == "rejected"
    contribution.refresh_from_db()
    assert contribution.report["error"]["code"] == "schema_mismatch"
    assert "text" in contribution.report["error"]["detail"]
    assert not Item.objects.exists()


def test_running_twice_does_not_double_anything(dataset):
    contribution = submit(dataset, "a.csv", b"text,stars\nx,1\ny,2\n")
    assert contribution_validate(contribution_id=contribution.pk) == "accepted"
    assert contribution_validate(contribution_id=contribution.pk) is None
    assert Item.objects.count() == 2
    dataset.refresh_from_db()
    assert dataset.items_count == 2


def test_a_stale_run_is_taken_over_and_its_items_redone(dataset):
    contribution = submit(dataset, "a.csv", b"text,stars\nx,1\ny,2\n")
    contribution_validate(contribution_id=contribution.pk)
    # Simulate a worker that died mid-run: status validating, no heartbeat for long.
    Contribution.objects.filter(pk=contribution.pk).update(
        status="validating",
        validation_claim=uuid.uuid4(),
        heartbeat_at=timezone.now() - timedelta(hours=2),
    )
    assert contribution_validate(contribution_id=contribution.pk) == "accepted"
    assert Item.objects.count() == 2
    dataset.refresh_from_db()
    assert dataset.items_count == 2


def test_a_live_run_is_left_alone(dataset):
    contribution = submit(dataset, "a.csv", b"text,stars\nx,1\n")
    Contribution.objects.filter(pk=contribution.pk).update(
        status="validating", validation_claim=uuid.uuid4(), heartbeat_at=timezone.now()
    )
    assert contribution_validate(contribution_id=contribution.pk) is None
    assert not Item.objects.exists()


def test_revalidation_redoes_items(dataset):
    contribution = submit(dataset, "a.csv", b"text,stars\nx,1\n")
    contribution_validate(contribution_id=contribution.pk)
    contribution_revalidate(
        contribution=contribution, actor=UserFactory.create(is_staff=True), reason="reader fixed"
    )
    assert not Item.objects.exists()
    contribution.refresh_from_db()
    assert contribution.quality_score is None  # the last run's score is gone with its items
    assert contribution_validate(contribution_id=contribution.pk) == "accepted"
    assert Item.objects.count() == 1


def _png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(out, format="PNG")
    return out.getvalue()


def test_zip_of_images_becomes_image_items_with_thumbnails():
    from django.core.files.storage import default_storage

    dataset = DatasetFactory.create(
        modality="image",
        columns=[{"name": "image", "dtype": "image"}, {"name": "caption", "dtype": "string"}],
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(
            "metadata.csv",
            "file_name,caption\nred.png,a red square\nblue.png,blue\nmissing.png,gone\n",
        )
        z.writestr("red.png", _png("red"))
        z.writestr("blue.png", _png("blue"))
    contribution = submit(dataset, "images.zip", archive.getvalue())
    assert contribution_validate(contribution_id=contribution.pk) == "partially_accepted"
    items = list(Item.objects.order_by("row_number"))
    assert len(items) == 2
    image = items[0].data["image"]
    assert (image["width"], image["height"]) == (640, 480)
    assert default_storage.exists(image["path"])
    with default_storage.open(image["thumbnail"]) as thumb, Image.open(thumb) as t:
        assert max(t.size) == 256


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_upload_is_validated_by_a_real_worker(client, celery_worker, settings):
    """The whole pipeline: API upload → on_commit enqueue → Celery worker over Redis → items.
    The worker is another process: it shares the database and, here, the media folder."""
    settings.MEDIA_ROOT = celery_worker.media_root
    dataset = DatasetFactory.create(columns=TABULAR, modality="tabular")
    client.force_login(UserFactory.create())
    upload = io.BytesIO(b"text,stars\nfine,4\nbad,no\n")
    upload.name = "r.csv"
    response = client.post(f"/api/v1/datasets/{dataset.slug}/contributions/", {"file": upload})
    assert response.status_code == 201, response.content
    contribution_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while (body := client.get(f"/api/v1/contributions/{contribution_id}/").json())["status"] in (
        "uploaded",
        "validating",
    ):
        assert time.monotonic() < deadline, celery_worker.log()[-3000:]
        time.sleep(0.2)
    assert body["status"] == "partially_accepted", celery_worker.log()[-3000:]
    assert (body["rows_accepted"], body["rows_rejected"]) == (1, 1)
    assert Item.objects.get().data == {"text": "fine", "stars": 4}


def test_duplicates_across_batches_of_one_file_are_named_as_such(dataset, settings):
    settings.VALIDATION_BATCH_ROWS = 2
    contribution = submit(dataset, "a.csv", b"text,stars\na,1\nb,2\nc,3\na,1\n")
    assert contribution_validate(contribution_id=contribution.pk) == "partially_accepted"
    contribution.refresh_from_db()
    assert contribution.report["reasons"] == {"duplicate of an earlier row in this file": 1}
    assert contribution.report["examples"] == [
        {
            "row": 4,
            "errors": ["duplicate of an earlier row in this file"],
            "excerpt": "text: a · stars: 1",
            "redacted": False,
        }
    ]


def test_a_file_that_breaks_part_way_leaves_no_items_behind(dataset, settings):
    """25,000 good rows then an unclosed quote: the reader fails after 20,000 rows were already
    committed in earlier batches; all of them are taken back."""
    settings.VALIDATION_BATCH_ROWS = 2000
    rows = b"".join(f"row {i},{i}\n".encode() for i in range(25000))
    contribution = submit(dataset, "a.csv", b"text,stars\n" + rows + b'broken,"1\n')
    assert contribution_validate(contribution_id=contribution.pk) == "rejected"
    contribution.refresh_from_db()
    assert contribution.rows_total >= 20000  # batches did commit before the failure
    assert contribution.report["error"]["code"] == "corrupt_file"
    assert contribution.rows_accepted == 0
    assert not Item.objects.exists()
    dataset.refresh_from_db()
    assert dataset.items_count == 0


def _text_dataset(**extra):  # type: ignore[no-untyped-def]
    return DatasetFactory.create(columns=[{"name": "text", "dtype": "string"}], **extra)


SENTENCE = "the delivery was quick and the blender works well for smoothies every morning"


def test_personal_data_is_rejected_or_flagged_per_policy():
    csv = f"text\n{SENTENCE}\nwrite to ada@example.org for a refund\n".encode()
    strict = _text_dataset(pii_policy="reject")
    contribution = submit(strict, "a.csv", csv)
    contribution_validate(contribution_id=contribution.pk)
    contribution.refresh_from_db()
    assert contribution.report["reasons"] == {"column 'text' contains personal data (email)": 1}
    lenient = _text_dataset(pii_policy="flag")
    contribution = submit(lenient, "a.csv", csv)
    assert contribution_validate(contribution_id=contribution.pk) == "accepted"
    flagged = Item.objects.get(dataset=lenient, data__text__icontains="ada@")
    assert flagged.flags == ["pii:email"] and flagged.quality_score < 1
    contribution.refresh_from_db()
    assert contribution.report["flagged"] == 1
    assert contribution.quality_score is not None and 0.8 < contribution.quality_score < 1


def test_near_duplicates_are_caught_in_the_file_and_against_the_dataset():
    dataset = _text_dataset()
    first = submit(dataset, "a.csv", f"text\n{SENTENCE}\n{SENTENCE}!\n".encode())
    contribution_validate(contribution_id=first.pk)
    first.refresh_from_db()
    assert first.report["reasons"] == {"near-duplicate of an earlier row in this file": 1}
    second = submit(
        dataset,
        "b.csv",
        b'text\n"The delivery was quick, and the blender works well for smoothies every morning."\n'
        b"a completely different review about a tent that leaked in the first rain\n",
    )
    assert contribution_validate(contribution_id=second.pk) == "partially_accepted"
    second.refresh_from_db()
    assert list(second.report["reasons"]) == ["near-duplicate of a row already in the dataset"]
    assert Item.objects.filter(dataset=dataset).count() == 2


def test_rows_in_the_wrong_language_are_rejected_when_the_dataset_asks_for_one():
    dataset = _text_dataset(language="en")
    contribution = submit(
        dataset,
        "a.csv",
        f"text\n{SENTENCE}\n"
        "le colis est arrivé en retard et la boîte était complètement abîmée\n".encode(),
    )
    assert contribution_validate(contribution_id=contribution.pk) == "partially_accepted"
    contribution.refresh_from_db()
    (reason,) = contribution.report["reasons"]
    assert "language" in reason


def test_control_characters_are_rejected():
    dataset = _text_dataset()
    contribution = submit(dataset, "a.csv", f"text\n{SENTENCE}\nbad\x07bell here\n".encode())
    contribution_validate(contribution_id=contribution.pk)
    contribution.refresh_from_db()
    assert contribution.rows_rejected == 1
    assert "control" in next(iter(contribution.report["reasons"]))


def test_backslashes_tabs_and_quotes_reach_the_items_unchanged():
    dataset = _text_dataset()
    text = 'a \\"quoted\\" path C:\\temp\\new, a\ttab, \\\\N and \\u00e9 ünïcödé ✓'
    contribution = submit(
        dataset, "a.csv", b"text\n" + f'"{text.replace(chr(34), 2 * chr(34))}"\n'.encode()
    )
    assert contribution_validate(contribution_id=contribution.pk) == "accepted"
    assert Item.objects.get(dataset=dataset).data == {"text": text}


def _noise(seed: int, size: tuple[int, int] = (320, 240), fmt: str = "PNG") -> bytes:
    """A picture of random blocks: its pHash is its own (unlike a flat colour's)."""
    import random

    rng = random.Random(seed)  # noqa: S311 - test pictures, not secrets
    small = Image.new("L", (16, 12))
    small.putdata([rng.randrange(256) for _ in range(16 * 12)])
    out = io.BytesIO()
    small.resize(size, Image.Resampling.BICUBIC).convert("RGB").save(out, format=fmt)
    return out.getvalue()


def _image_zip(members: dict[str, bytes]) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("metadata.csv", "file_name\n" + "".join(f"{n}\n" for n in members))
        for name, data in members.items():
            z.writestr(name, data)
    return archive.getvalue()


def test_perceptual_near_duplicate_images_are_rejected_in_the_file_and_the_dataset():
    dataset = DatasetFactory.create(modality="image", columns=[{"name": "image", "dtype": "image"}])
    first = submit(
        dataset,
        "first.zip",
        _image_zip({
            "a.png": _noise(1),
            "b.png": _noise(2),
            "a-small.jpg": _noise(1, (160, 120), "JPEG"),  # a resized, re-encoded copy of a
        }),
    )  # fmt: skip
    assert contribution_validate(contribution_id=first.pk) == "partially_accepted"
    first.refresh_from_db()
    assert first.rows_accepted == 2
    assert any("near-duplicate of an earlier image" in r for r in first.report["reasons"])
    assert all(len(item.data["image"]["phash"]) == 16 for item in Item.objects.all())

    second = submit(
        dataset,
        "second.zip",
        _image_zip({"b-big.jpg": _noise(2, (640, 480), "JPEG"), "c.png": _noise(3)}),
    )
    assert contribution_validate(contribution_id=second.pk) == "partially_accepted"
    second.refresh_from_db()
    assert second.rows_accepted == 1
    assert any("near-duplicate of an image already in" in r for r in second.report["reasons"]), (
        second.report["reasons"]
    )
    assert Item.objects.count() == 3
