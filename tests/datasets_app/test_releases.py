"""Releases: publishing a version, the Parquet build (read back with Hugging Face `datasets`), the
card, immutability, failure clean-up, the API, the pages and the quality card."""

from __future__ import annotations

import io
import time
from functools import partial
from pathlib import Path
from typing import Any

import datasets
import psycopg
import pytest
import yaml
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from huggingface_hub import DatasetCard
from PIL import Image

from datasets_app.models import DatasetRelease, Item, ReleaseFile
from datasets_app.selectors.releases import dataset_quality_card, release_card_parts
from datasets_app.services import release_parquet, releases
from datasets_app.services.releases import release_build, release_publish
from marketplace.core.exceptions import ConflictError, PermissionDeniedError
from marketplace.core.models import AuditLog
from tests.factories import (
    ContributionFactory,
    DatasetFactory,
    ItemFactory,
    UserFactory,
    at_once,
)

pytestmark = pytest.mark.django_db

COLUMNS = [
    {"name": "text", "dtype": "string"},
    {"name": "stars", "dtype": "int64"},
    {"name": "score", "dtype": "float64"},
    {"name": "verified", "dtype": "bool"},
]


def _row(n: int) -> dict[str, Any]:
    return {"text": f"review {n}", "stars": n % 5 + 1, "score": n / 4, "verified": n % 2 == 0}


@pytest.fixture
def dataset() -> Any:
    return DatasetFactory.create(
        columns=COLUMNS, label_classes=["negative", "neutral", "positive"], agreement_alpha=0.71
    )


def add_items(dataset: Any, labels: list[Any], **extra: Any) -> list[Item]:
    start = Item.objects.count() + 1000
    return [
        ItemFactory.create(
            dataset=dataset,
            data=_row(start + i),
            consensus_label=label,
            consensus_at=None if label is None else timezone.now(),
            **extra,
        )
        for i, label in enumerate(labels)
    ]


def publish_and_build(dataset: Any, actor: Any = None, **kwargs: Any) -> DatasetRelease:
    """Publish (past the labelled-share check: these tests are about the build) and build."""
    kwargs.setdefault("confirm_low_labelled_share", True)
    release = release_publish(dataset=dataset, actor=actor or dataset.owner, **kwargs)
    assert release_build(release_id=release.pk) == "ready"
    release.refresh_from_db()
    return release


def local_paths(release: DatasetRelease) -> list[str]:
    shards = release.files.exclude(name="README.md").order_by("name")
    return [default_storage.path(f.file.name) for f in shards]


def load(release: DatasetRelease, tmp_path: Path) -> datasets.Dataset:
    loaded = datasets.load_dataset(
        "parquet", data_files=local_paths(release), cache_dir=str(tmp_path / "hf-cache")
    )
    return loaded["train"]


def stored_files(release: DatasetRelease) -> list[str]:
    prefix = releases._storage_prefix(release)
    root = Path(default_storage.path(prefix))
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- The build ---------------------------------------------------------------------------------


def test_build_writes_shards_that_load_dataset_reads_back(dataset, settings, tmp_path):
    settings.RELEASE_SHARD_ROWS = 2
    kept = add_items(dataset, ["positive", None, "negative", "neutral", "positive"])
    add_items(dataset, ["negative"], is_hidden=True)
    add_items(dataset, ["negative"], is_gold=True)
    rejected = ContributionFactory.create(dataset=dataset, status="rejected")
    add_items(dataset, ["negative"], contribution=rejected)
    accepted = ContributionFactory.create(dataset=dataset, status="partially_accepted")
    kept += add_items(dataset, ["neutral"], contribution=accepted)

    release = publish_and_build(dataset, notes="First cut.")

    assert (release.status, release.number, release.progress) == ("ready", 1, 100)
    assert (release.rows, release.labelled_rows) == (6, 5)
    names = list(release.files.order_by("name").values_list("name", flat=True))
    assert names == [
        "README.md",
        "data/train-00000-of-00003.parquet",
        "data/train-00001-of-00003.parquet",
        "data/train-00002-of-00003.parquet",
    ]
    assert list(release.files.exclude(rows=None).values_list("rows", flat=True)) == [2, 2, 2]
    assert release.size_bytes == sum(release.files.values_list("size_bytes", flat=True))

    train = load(release, tmp_path)
    assert train.num_rows == 6
    assert train.features["label"] == datasets.ClassLabel(names=["negative", "neutral", "positive"])
    assert train.features["stars"] == datasets.Value("int64")
    assert train.features["score"] == datasets.Value("float64")
    assert train.features["verified"] == datasets.Value("bool")
    assert train["text"] == [item.data["text"] for item in kept]
    assert train["stars"] == [item.data["stars"] for item in kept]
    assert train["verified"] == [item.data["verified"] for item in kept]
    names_of = train.features["label"].int2str
    assert [None if v is None else names_of(v) for v in train["label"]] == [
        "positive",
        None,
        "negative",
        "neutral",
        "positive",
        "neutral",
    ]
    assert release.features == release_parquet.release_features(dataset)[0].to_dict()
    assert AuditLog.objects.filter(action="release.ready").exists()


def test_row_groups_are_capped_at_a_hundred_thousand_rows(dataset, monkeypatch, settings):
    import pyarrow.parquet as pq

    monkeypatch.setattr(release_parquet, "ROW_GROUP_ROWS", 2)  # the same rule, scaled down
    settings.RELEASE_SHARD_ROWS = 5
    add_items(dataset, [None] * 7)
    release = publish_and_build(dataset)
    groups = [
        [pq.ParquetFile(path).metadata.row_group(i).num_rows for i in range(
            pq.ParquetFile(path).metadata.num_row_groups
        )]
        for path in local_paths(release)
    ]  # fmt: skip
    assert groups == [[2, 2, 1], [2]]


def test_multi_label_and_free_text_labels_get_their_features(tmp_path):
    multi = DatasetFactory.create(label_task="multi_label", label_classes=["a", "b", "c"])
    ItemFactory.create(dataset=multi, data={"text": "x"}, consensus_label=["a", "c"])
    ItemFactory.create(dataset=multi, data={"text": "y"}, consensus_label=None)
    train = load(publish_and_build(multi), tmp_path)
    assert train.features["label"] == datasets.List(datasets.ClassLabel(names=["a", "b", "c"]))
    assert train["label"] == [[0, 2], None]

    free = DatasetFactory.create(
        label_task="free_text",
        label_classes=[],
        columns=[{"name": "label", "dtype": "string"}],  # the label column steps aside
    )
    ItemFactory.create(dataset=free, data={"label": "a cat"}, consensus_label="a small cat")
    train = load(publish_and_build(free), tmp_path / "free")
    assert train.features["consensus_label"] == datasets.Value("string")
    assert train[0] == {"label": "a cat", "consensus_label": "a small cat"}


def test_images_are_stored_as_image_bytes_with_their_upload_name(tmp_path):
    dataset = DatasetFactory.create(
        modality="image",
        columns=[{"name": "image", "dtype": "image"}, {"name": "city", "dtype": "string"}],
        label_classes=["stop", "yield"],
    )
    png = io.BytesIO()
    Image.new("RGB", (7, 5), "red").save(png, format="PNG")
    stored = default_storage.save(f"items/{dataset.pk}/abc.png", ContentFile(png.getvalue()))
    value = {"sha256": "abc", "path": stored, "thumbnail": stored, "file_name": "signs/1.png"}
    ItemFactory.create(
        dataset=dataset, data={"image": value, "city": "Oslo"}, consensus_label="stop"
    )

    train = load(publish_and_build(dataset), tmp_path)
    assert train.features["image"] == datasets.Image()
    row = train[0]
    assert row["image"].size == (7, 5)
    assert row["city"] == "Oslo"
    assert train.features["label"].int2str(row["label"]) == "stop"
    raw = train.cast_column("image", datasets.Image(decode=False))[0]["image"]
    assert raw == {"bytes": png.getvalue(), "path": "signs/1.png"}


def test_content_hash_is_stable_for_the_same_content_and_changes_with_it(dataset):
    add_items(dataset, ["positive", None, "negative"])
    first = publish_and_build(dataset)
    second = publish_and_build(dataset)
    assert second.number == 2
    assert len(first.content_hash) == 64
    assert first.content_hash == second.content_hash
    shard_hashes = sorted(f"{f.name}:{f.sha256}" for f in first.files.exclude(name="README.md"))
    import hashlib

    assert first.content_hash == hashlib.sha256("\n".join(shard_hashes).encode()).hexdigest()

    Item.objects.filter(dataset=dataset, consensus_label__isnull=True).update(
        consensus_label="neutral"
    )
    third = publish_and_build(dataset)
    assert third.content_hash != first.content_hash


def test_a_second_build_run_changes_nothing(dataset):
    add_items(dataset, ["positive", "negative"])
    release = publish_and_build(dataset)
    files_before = list(release.files.values_list("id", "name", "sha256", "file"))
    stored_before = stored_files(release)

    assert release_build(release_id=release.pk) is None
    release.refresh_from_db()
    assert release.status == "ready"
    assert list(release.files.values_list("id", "name", "sha256", "file")) == files_before
    assert stored_files(release) == stored_before
    assert len(stored_before) == 2  # one shard and the card


def test_a_build_backs_off_while_another_run_holds_the_release(dataset):
    add_items(dataset, ["positive"])
    release = release_publish(dataset=dataset, actor=dataset.owner)
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [releases.RELEASE_LOCK, release.pk])
        assert release_build(release_id=release.pk) is None
        # Released here, not by closing: a closed connection's backend lets go of its locks
        # only when it exits, which a loaded machine may not have done by the next line.
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [releases.RELEASE_LOCK, release.pk])
    release.refresh_from_db()
    assert (release.status, release.files.count()) == ("building", 0)
    assert release_build(release_id=release.pk) == "ready"


@pytest.mark.django_db(transaction=True)
def test_two_builds_at_once_make_one_release(monkeypatch: pytest.MonkeyPatch):
    from datasets_app import tasks as release_tasks

    # The publish's own enqueue would reach the session's real worker (if a test started one)
    # and make it a third builder: this test races exactly two.
    monkeypatch.setattr(release_tasks.build_release, "delay", lambda *args, **kwargs: None)
    dataset = DatasetFactory.create(columns=COLUMNS)
    add_items(dataset, ["positive", "neutral", None])
    release = release_publish(dataset=dataset, actor=dataset.owner, confirm_low_labelled_share=True)
    results = at_once(*[partial(release_build, release_id=release.pk)] * 2)
    assert sorted(results, key=str) == [None, "ready"]
    release.refresh_from_db()
    assert release.status == "ready"
    assert release.files.count() == 2
    assert len(stored_files(release)) == 2


def test_a_failed_build_leaves_no_files(dataset, monkeypatch):
    add_items(dataset, ["positive", "negative"])
    release = release_publish(dataset=dataset, actor=dataset.owner)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(releases, "_finish", broken)  # after every file was stored
    assert release_build(release_id=release.pk) == "failed"
    release.refresh_from_db()
    assert release.status == "failed"
    assert "OSError" in release.error
    assert "Publish again" in release.error
    assert release.files.count() == 0
    assert stored_files(release) == []
    assert release_build(release_id=release.pk) is None  # a failed release stays failed


def test_a_build_with_nothing_left_to_release_fails_clearly(dataset):
    [item] = add_items(dataset, ["positive"])
    release = release_publish(dataset=dataset, actor=dataset.owner)
    Item.objects.filter(pk=item.pk).update(is_hidden=True)
    assert release_build(release_id=release.pk) == "failed"
    release.refresh_from_db()
    assert release.error == "No accepted rows are left to release."


def test_a_ready_release_and_its_files_refuse_changes(dataset):
    add_items(dataset, ["positive"])
    release = publish_and_build(dataset)
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        DatasetRelease.objects.filter(pk=release.pk).update(notes="rewritten")
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        ReleaseFile.objects.filter(release=release).update(sha256="0" * 64)
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        ReleaseFile.objects.filter(release=release).delete()
    release.refresh_from_db()
    assert release.notes == ""


def test_the_card_is_a_hugging_face_dataset_card_with_the_quality_figures(dataset):
    reasons = {
        "duplicate of an earlier row in this file": 6,
        "already in the dataset": 2,
        "near-duplicate of a row already in the dataset": 2,
        "column 'text' contains personal data": 5,
        "column 'text' is empty": 5,
    }
    contribution = ContributionFactory.create(
        dataset=dataset,
        status="partially_accepted",
        rows_total=100,
        rows_accepted=80,
        rows_rejected=sum(reasons.values()),
        report={"reasons": reasons, "flagged": 3},
    )
    add_items(dataset, ["positive", None], contribution=contribution)
    add_items(dataset, ["neutral"], flags=["pii:email"])
    release = publish_and_build(dataset, license_id="cc-by-4.0", notes="Initial release.")

    front, body = release_card_parts(release)
    metadata = yaml.safe_load(front)
    assert metadata["license"] == "cc-by-4.0"
    assert metadata["pretty_name"] == dataset.title
    assert metadata["task_categories"] == ["text-classification"]
    assert metadata["task_ids"] == ["multi-class-classification"]
    assert metadata["size_categories"] == ["n<1K"]
    assert metadata["configs"] == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}
    ]
    info = metadata["dataset_info"]
    assert [f["name"] for f in info["features"]] == ["text", "stars", "score", "verified", "label"]
    assert info["features"][-1]["dtype"]["class_label"]["names"] == {
        "0": "negative",
        "1": "neutral",
        "2": "positive",
    }
    assert info["splits"][0]["name"] == "train"
    assert info["splits"][0]["num_examples"] == 3
    # huggingface_hub reads it as a dataset card too.
    card = DatasetCard(release.card)
    assert card.data.to_dict()["license"] == "cc-by-4.0"

    assert release.quality == {
        "license": "cc-by-4.0",
        "licenses": ["cc-by-4.0"],
        "license_source": "publisher",  # no license tier: the license given at publish
        "license_tiers": [],
        "rows": 3,
        "labelled_rows": 2,
        "labelled_share": 0.6667,
        "flagged_rows": 1,
        "flagged_share": 0.3333,
        "rows_submitted": 100,
        "duplicate_rejected_rows": 10,
        "duplicate_rate": 0.1,
        "pii_rejected_rows": 5,
        "pii_rate": 0.05,
        "agreement_alpha": 0.71,
        "contributors": 1,
    }
    assert "| rejected as duplicates or near-duplicates | 10.0% |" in body
    assert "| rejected for personal data | 5.0% |" in body
    assert "| label agreement (Krippendorff's alpha) | 0.71 |" in body
    assert "| contributors | 1 |" in body
    assert release.content_hash in body
    assert "Initial release." in body
    readme = release.files.get(name="README.md")
    with readme.file.open("rb") as stored:
        assert stored.read().decode() == release.card


# --- Publishing --------------------------------------------------------------------------------


def test_publish_enqueues_the_build_after_commit(
    dataset, django_capture_on_commit_callbacks, monkeypatch
):
    from datasets_app.tasks import build_release

    add_items(dataset, ["positive"])
    sent: list[int] = []
    monkeypatch.setattr(build_release, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        release = release_publish(dataset=dataset, actor=dataset.owner)
    assert len(callbacks) == 1
    assert sent == []  # nothing is sent before the commit
    callbacks[0]()
    assert sent == [release.pk]
    assert AuditLog.objects.filter(action="release.published", actor=dataset.owner).exists()


def test_a_second_publish_is_refused_while_one_builds(dataset):
    add_items(dataset, ["positive"])
    first = release_publish(dataset=dataset, actor=dataset.owner)
    with pytest.raises(ConflictError, match="v1 is still being built") as refused:
        release_publish(dataset=dataset, actor=dataset.owner)
    assert refused.value.code == "release_in_progress"
    release_build(release_id=first.pk)
    assert release_publish(dataset=dataset, actor=dataset.owner).number == 2


def test_only_the_owner_or_staff_publish(dataset, admin_user):
    add_items(dataset, ["positive"])
    with pytest.raises(PermissionDeniedError):
        release_publish(dataset=dataset, actor=UserFactory.create())
    assert release_publish(dataset=dataset, actor=admin_user).number == 1


def test_publishing_needs_accepted_rows_and_a_visible_dataset(dataset):
    from datasets_app.exceptions import ReleaseError

    add_items(dataset, ["positive"], is_gold=True)
    with pytest.raises(ReleaseError, match="no accepted rows"):
        release_publish(dataset=dataset, actor=dataset.owner)
    add_items(dataset, ["positive"])
    dataset.status = "hidden"
    dataset.save()
    with pytest.raises(ReleaseError, match="hidden"):
        release_publish(dataset=dataset, actor=dataset.owner)
    dataset.status = "open"
    dataset.save()
    with pytest.raises(ReleaseError, match="license"):
        release_publish(dataset=dataset, actor=dataset.owner, license_id="Not A License!")


def test_the_build_task_is_registered():
    from marketplace.celery import app

    task = app.tasks["datasets.build_release"]
    assert task.acks_late is True
    assert task.soft_time_limit and task.time_limit


def test_stuck_releases_are_requeued_unless_a_run_holds_them(dataset, monkeypatch, settings):
    from datasets_app.tasks import build_release

    add_items(dataset, ["positive"])
    release = release_publish(dataset=dataset, actor=dataset.owner)
    sent: list[int] = []
    monkeypatch.setattr(build_release, "delay", sent.append)
    settings.RELEASE_STUCK_SECONDS = 3600
    assert releases.releases_requeue_stuck() == 0  # too young
    settings.RELEASE_STUCK_SECONDS = -1
    assert releases.releases_requeue_stuck() == 1
    assert sent == [release.pk]


# --- API ---------------------------------------------------------------------------------------


def test_api_publishes_lists_and_shows_a_version(
    client, dataset, django_capture_on_commit_callbacks
):
    add_items(dataset, ["positive", "negative"])
    client.force_login(dataset.owner)
    url = f"/api/v1/datasets/{dataset.slug}/releases/"
    response = client.post(url, {"notes": "v1"}, content_type="application/json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body == {"id": body["id"], "number": 1, "status": "building"}
    again = client.post(url, {}, content_type="application/json")
    assert again.status_code == 409
    assert again.json()["code"] == "release_in_progress"

    release_build(release_id=body["id"])
    listed = client.get(url).json()
    assert [(r["number"], r["status"], r["rows"]) for r in listed["results"]] == [(1, "ready", 2)]
    detail = client.get(f"{url}1/").json()
    assert detail["content_hash"] and detail["quality"]["rows"] == 2
    assert [f["name"] for f in detail["files"]] == [
        "README.md",
        "data/train-00000-of-00001.parquet",
    ]
    assert set(detail["files"][1]) == {"name", "sha256", "rows", "size_bytes"}
    assert client.get(f"{url}2/").status_code == 404


def test_api_refuses_strangers_and_hides_unfinished_versions(client, dataset):
    add_items(dataset, ["positive"])
    url = f"/api/v1/datasets/{dataset.slug}/releases/"
    assert client.post(url, {}, content_type="application/json").status_code in (401, 403)
    client.force_login(UserFactory.create())
    refused = client.post(url, {}, content_type="application/json")
    assert refused.status_code == 403
    release_publish(dataset=dataset, actor=dataset.owner)
    assert client.get(url).json()["results"] == []
    assert client.get(f"{url}1/").status_code == 404
    client.force_login(dataset.owner)
    assert [r["status"] for r in client.get(url).json()["results"]] == ["building"]


# --- Pages -------------------------------------------------------------------------------------


def test_dataset_page_shows_versions_quality_card_and_the_owners_publish_form(client, dataset):
    add_items(dataset, ["positive"])
    dataset.items_count = 1
    dataset.save()
    page = client.get(f"/datasets/{dataset.slug}/").content.decode()
    assert "Before you buy" in page
    assert "Versions" in page
    assert "Publish a version" not in page

    client.force_login(dataset.owner)
    page = client.get(f"/datasets/{dataset.slug}/").content.decode()
    assert "Publish a version" in page
    response = client.post(f"/datasets/{dataset.slug}/versions/publish/", {"notes": "hello"})
    assert response.status_code == 302
    assert response["Location"] == f"/datasets/{dataset.slug}/#versions"
    release = DatasetRelease.objects.get(dataset=dataset)
    assert release.notes == "hello"
    page = client.get(f"/datasets/{dataset.slug}/").content.decode()
    assert "Building 0%" in page
    assert 'hx-trigger="every 2s"' in page
    partial = client.get(f"/datasets/{dataset.slug}/versions/", HTTP_HX_REQUEST="true")
    assert "Building" in partial.content.decode()

    release_build(release_id=release.pk)
    page = client.get(f"/datasets/{dataset.slug}/").content.decode()
    release.refresh_from_db()
    assert release.content_hash[:12] in page
    assert 'hx-trigger="every 2s"' not in page


def test_a_stranger_cannot_publish_from_the_page(client, dataset):
    add_items(dataset, ["positive"])
    client.force_login(UserFactory.create())
    response = client.post(f"/datasets/{dataset.slug}/versions/publish/", follow=True)
    assert "Only the dataset" in response.content.decode()
    assert not DatasetRelease.objects.exists()


def test_release_page_shows_the_card_files_and_hashes(client, dataset):
    add_items(dataset, ["positive"])
    release = publish_and_build(dataset, notes="Notes **here**.")
    response = client.get(f"/datasets/{dataset.slug}/versions/1/")
    assert response.status_code == 200
    page = response.content.decode()
    assert release.content_hash in page
    for entry in release.files.all():
        assert entry.sha256 in page
        assert entry.name in page
    assert "dataset_info:" in page  # the YAML, in a <pre>
    assert "<h3>Quality</h3>" in page  # the Markdown body, rendered (headings demoted)
    assert 'href="/media/' not in page  # no download links here
    partial = client.get(f"/datasets/{dataset.slug}/versions/1/", HTTP_HX_REQUEST="true")
    assert partial["HX-Refresh"] == "true"
    assert client.get(f"/datasets/{dataset.slug}/versions/9/").status_code == 404


def test_quality_card_figures_come_from_reports_items_and_contributors(dataset):
    ContributionFactory.create(
        dataset=dataset,
        rows_total=40,
        rows_accepted=30,
        rows_rejected=10,
        report={
            "reasons": {
                "near-duplicate of an earlier row in this file": 4,
                "column 'text' contains personal data": 2,
            },
            "flagged": 3,
        },
    )
    ContributionFactory.create(dataset=dataset, status="validating", rows_total=99)
    ContributionFactory.create(dataset=dataset, status="rejected", rows_total=10, report={})
    add_items(dataset, ["positive", None])
    dataset.items_count = 2
    card = dataset_quality_card(dataset=dataset)
    assert card["schema"][-1] == {"name": "label", "dtype": "ClassLabel(3 classes)"}
    assert [c["name"] for c in card["schema"]] == ["text", "stars", "score", "verified", "label"]
    assert card["rows"] == 2
    assert card["rows_submitted"] == 50
    assert card["duplicate_rate"] == 0.08
    assert card["pii_rate"] == 0.04
    assert card["flagged_share"] == 0.1
    assert card["agreement_alpha"] == 0.71
    assert card["contributors"] == 1
    assert card["labelled_rows"] == 1
    assert card["labelled_share"] == 0.5


# --- A real worker -----------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_published_version_is_built_by_a_real_worker(client, celery_worker, settings):
    settings.MEDIA_ROOT = celery_worker.media_root
    dataset = DatasetFactory.create(columns=COLUMNS)
    add_items(dataset, ["positive", "neutral"])
    client.force_login(dataset.owner)
    response = client.post(
        f"/api/v1/datasets/{dataset.slug}/releases/", {}, content_type="application/json"
    )
    assert response.status_code == 202
    url = f"/api/v1/datasets/{dataset.slug}/releases/1/"
    deadline = time.monotonic() + 60
    while (body := client.get(url).json())["status"] == "building":
        assert time.monotonic() < deadline, celery_worker.log()[-3000:]
        time.sleep(0.3)
    assert body["status"] == "ready", celery_worker.log()[-3000:]
    assert body["rows"] == 2
    # The worker counted the columns on the way: the label column's class balance.
    label = body["statistics"]["columns"][-1]
    assert [(c["name"], c["count"]) for c in label["classes"]] == [
        ("negative", 0),
        ("neutral", 1),
        ("positive", 1),
    ]
    release = DatasetRelease.objects.get(pk=body["id"])
    for entry in release.files.all():
        assert default_storage.exists(entry.file.name)
