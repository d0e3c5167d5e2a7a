"""Honest releases: per-column statistics computed while a release is built, the licenses of the
tiers that cover it on its card, page and API, the confirmation before publishing a version with
too few labelled rows, and one agreement figure per page."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import yaml
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from datasets_app.models import DatasetRelease
from datasets_app.selectors.releases import dataset_agreement, hf_license_id, release_card_parts
from datasets_app.services.release_statistics import SAMPLE_SIZE, Lengths, Numbers, nice_width
from datasets_app.services.releases import release_build, release_publish
from marketplace.core.exceptions import ConflictError
from marketplace.core.models import AuditLog
from payments.services.licenses import license_tier_create
from tests.datasets_app.test_releases import COLUMNS  # text, stars, score, verified
from tests.factories import DatasetFactory, ItemFactory

pytestmark = pytest.mark.django_db

ROWS = [
    ({"text": "good", "stars": 5, "score": 0.5, "verified": True}, "positive"),
    ({"text": "bad product", "stars": 1, "score": 1.5, "verified": False}, "negative"),
    ({"text": "", "stars": 3, "score": None, "verified": True}, None),
    ({"text": None, "stars": 5, "score": 2.5, "verified": None}, "positive"),
    ({"text": "fine enough", "stars": 3, "score": 4.0, "verified": True}, "neutral"),
]


@pytest.fixture
def dataset() -> Any:
    dataset = DatasetFactory.create(columns=COLUMNS, agreement_alpha=0.71)
    for data, label in ROWS:
        ItemFactory.create(
            dataset=dataset,
            data=data,
            consensus_label=label,
            consensus_at=label and timezone.now(),
        )
    return dataset


def build(dataset: Any, **kwargs: Any) -> DatasetRelease:
    kwargs.setdefault("confirm_low_labelled_share", True)
    release = release_publish(dataset=dataset, actor=dataset.owner, **kwargs)
    assert release_build(release_id=release.pk) == "ready"
    release.refresh_from_db()
    return release


def column(release: DatasetRelease, name: str) -> dict[str, Any]:
    return next(c for c in release.statistics["columns"] if c["name"] == name)


def counts(bins: list[dict[str, Any]]) -> dict[Any, int]:
    return {(b["low"], b["high"]): b["count"] for b in bins}


# --- Statistics --------------------------------------------------------------------------------


def test_statistics_of_a_known_release_are_exact(dataset):
    release = build(dataset)
    stats = release.statistics
    assert stats["rows"] == 5
    assert stats["label_column"] == "label"
    assert [c["name"] for c in stats["columns"]] == ["text", "stars", "score", "verified", "label"]

    text = column(release, "text")
    assert (text["kind"], text["dtype"], text["count"], text["nulls"]) == ("text", "string", 4, 1)
    assert (text["null_share"], text["empty"]) == (0.2, 1)
    length = text["length"]
    assert (length["min"], length["max"], length["mean"]) == (0, 11, 6.5)
    # Twelve lengths (0..11) fit twenty bins of width 1: exact counts per length.
    assert counts(length["histogram"]) == {(n, n): {0: 1, 4: 1, 11: 2}.get(n, 0) for n in range(12)}

    stars = column(release, "stars")
    assert (stars["kind"], stars["min"], stars["max"], stars["mean"]) == ("number", 1, 5, 3.4)
    assert stars["histogram"]["kind"] == "values"
    assert stars["histogram"]["approximate"] is False
    assert counts(stars["histogram"]["bins"]) == {(1, 1): 1, (3, 3): 2, (5, 5): 2}

    score = column(release, "score")
    assert (score["count"], score["nulls"], score["null_share"]) == (4, 1, 0.2)
    assert (score["min"], score["max"], score["mean"]) == (0.5, 4.0, 2.125)

    verified = column(release, "verified")
    assert (verified["kind"], verified["true"], verified["false"], verified["nulls"]) == (
        "boolean",
        3,
        1,
        1,
    )

    label = column(release, "label")
    assert (label["kind"], label["task"], label["dtype"]) == (
        "label",
        "single_label",
        "ClassLabel(3 classes)",
    )
    assert (label["count"], label["nulls"], label["null_share"]) == (4, 1, 0.2)
    assert label["classes"] == [
        {"name": "negative", "count": 1, "share": 0.25},
        {"name": "neutral", "count": 1, "share": 0.25},
        {"name": "positive", "count": 2, "share": 0.5},
    ]


def test_long_text_lengths_fold_into_twenty_equal_bins():
    lengths = Lengths()
    for n in range(1000):
        lengths.add(n)
    result = lengths.result()
    assert result is not None
    assert nice_width(1000) == 50
    assert len(result["histogram"]) == 20
    assert result["histogram"][0] == {"low": 0, "high": 49, "count": 50}
    assert result["histogram"][-1] == {"low": 950, "high": 999, "count": 50}
    assert (result["min"], result["max"], result["mean"]) == (0, 999, 499.5)


def test_many_distinct_numbers_get_range_bins_and_memory_stays_bounded():
    small = Numbers()
    for n in range(100):
        small.add(n)
    histogram = small.result()["histogram"]
    assert (histogram["kind"], histogram["approximate"]) == ("ranges", False)
    assert [b["count"] for b in histogram["bins"]] == [5] * 20
    assert small.exact is None  # counted per value only while there are few

    big = Numbers(seed=7)
    for n in range(50_000):
        big.add(n % 1000)
    assert len(big.sample) == SAMPLE_SIZE  # a million rows keep the same few kilobytes
    result = big.result()
    assert (result["min"], result["max"], result["mean"]) == (0, 999, 499.5)
    assert result["histogram"]["approximate"] is True
    bins = [b["count"] for b in result["histogram"]["bins"]]
    assert abs(sum(bins) - 50_000) <= 20  # scaled to the count, rounding per bin
    assert all(1_800 < n < 3_200 for n in bins)  # uniform values: each bin near 2,500


def test_image_statistics_give_dimensions_sizes_and_formats(tmp_path):
    dataset = DatasetFactory.create(
        modality="image",
        columns=[{"name": "image", "dtype": "image"}],
        label_classes=["stop", "yield"],
    )
    for n, (size, label) in enumerate([((7, 5), "stop"), ((10, 4), "yield")]):
        png = io.BytesIO()
        Image.new("RGB", size, "red").save(png, format="PNG")
        stored = default_storage.save(f"items/{dataset.pk}/{n}.png", ContentFile(png.getvalue()))
        value = {
            "sha256": f"{n}",
            "path": stored,
            "file_name": f"signs/{n}.png",
            "width": size[0],
            "height": size[1],
            "format": "PNG",
        }
        ItemFactory.create(dataset=dataset, data={"image": value}, consensus_label=label)
    release = build(dataset)
    image = column(release, "image")
    assert (image["kind"], image["count"], image["nulls"]) == ("image", 2, 0)
    assert (image["width"]["min"], image["width"]["max"]) == (7, 10)
    assert (image["height"]["min"], image["height"]["max"]) == (4, 5)
    assert image["formats"] == {"PNG": 2}
    shard_bytes = image["bytes"]
    assert shard_bytes["count"] == 2 and shard_bytes["min"] > 0


def test_multi_label_and_free_text_label_statistics():
    multi = DatasetFactory.create(label_task="multi_label", label_classes=["a", "b", "c"])
    for value in (["a", "c"], ["a"], None):
        ItemFactory.create(dataset=multi, consensus_label=value)
    label = column(build(multi), "label")
    assert [(c["name"], c["count"]) for c in label["classes"]] == [("a", 2), ("b", 0), ("c", 1)]
    assert (label["count"], label["nulls"]) == (2, 1)
    assert label["labels_per_row"]["mean"] == 1.5

    free = DatasetFactory.create(label_task="free_text", label_classes=[])
    ItemFactory.create(dataset=free, consensus_label="a cat")
    ItemFactory.create(dataset=free, consensus_label="a small cat")
    label = column(build(free), "label")
    assert "classes" not in label
    assert (label["length"]["min"], label["length"]["max"]) == (5, 11)


def test_release_page_and_dataset_page_show_the_statistics(client, dataset):
    release = build(dataset)
    page = client.get(f"/datasets/{dataset.slug}/versions/1/").content.decode()
    assert 'id="column-statistics"' in page
    assert page.count('data-column-chart="column-chart-') == 4  # text, stars, score, label
    assert 'id="column-chart-4"' in page  # the label column's json_script
    assert "Class balance of the consensus labels of column label" in page  # the aria-label
    assert "js/column_stats.js" in page
    names = re.findall(r'class="column-stat__name mono" id="column-chart-\d-name">(\w+)<', page)
    assert names == [c["name"] for c in release.statistics["columns"]]

    detail = client.get(f"/datasets/{dataset.slug}/").content.decode()
    assert "Columns of the latest version" in detail
    assert "5 rows in v1" in detail


def test_release_api_exposes_statistics_and_what_the_version_contains(client, dataset):
    license_tier_create(dataset=dataset, actor=dataset.owner, name="Open", spdx_id="CC-BY-4.0")
    release = build(dataset)
    body = client.get(f"/api/v1/datasets/{dataset.slug}/releases/1/").json()
    assert body["statistics"] == release.statistics
    assert (body["rows"], body["labelled_rows"], body["labelled_share"]) == (5, 4, 0.8)
    assert body["agreement_alpha"] == 0.71
    assert body["licenses"] == ["cc-by-4.0"]
    listed = client.get(f"/api/v1/datasets/{dataset.slug}/releases/").json()["results"]
    assert listed[0]["licenses"] == ["cc-by-4.0"] and listed[0]["labelled_share"] == 0.8

    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]
    assert "statistics" in components["ReleaseDetailOutput"]["properties"]
    assert {"classes", "length", "histogram", "null_share"} <= set(
        components["ColumnStatisticsOutput"]["properties"]
    )
    assert "confirm_low_labelled_share" in components["ReleaseInput"]["properties"]


# --- Licenses ----------------------------------------------------------------------------------


def test_the_card_carries_the_tiers_spdx_license_not_other(client, dataset):
    license_tier_create(dataset=dataset, actor=dataset.owner, name="Open", spdx_id="CC-BY-4.0")
    release = build(dataset)
    metadata = yaml.safe_load(release_card_parts(release)[0])
    assert metadata["license"] == "cc-by-4.0"
    assert release.quality["license_source"] == "tiers"
    assert release.quality["license_tiers"] == [
        {"tier": "Open", "spdx_id": "CC-BY-4.0", "license": "cc-by-4.0"}
    ]
    page = client.get(f"/datasets/{dataset.slug}/versions/1/").content.decode()
    assert '<dd data-fact="licenses"><code>cc-by-4.0</code></dd>' in page
    assert "<code>other</code>" not in page
    assert "| Open | `CC-BY-4.0` |" in release.card


def test_several_tiers_with_different_licenses_are_a_yaml_list(dataset):
    license_tier_create(
        dataset=dataset, actor=dataset.owner, name="Research", spdx_id="CC-BY-NC-4.0"
    )
    license_tier_create(dataset=dataset, actor=dataset.owner, name="Same", spdx_id="cc-by-nc-4.0")
    license_tier_create(dataset=dataset, actor=dataset.owner, name="Data", spdx_id="ODbL-1.0")
    license_tier_create(
        dataset=dataset, actor=dataset.owner, name="In house", custom_terms="Ours, read it."
    )
    release = build(dataset, license_id="mit")  # tiers win over the license given at publish
    metadata = yaml.safe_load(release_card_parts(release)[0])
    # Price order (all free here), then name; one entry per distinct license.
    assert metadata["license"] == ["odbl", "other", "cc-by-nc-4.0"]
    assert metadata["license_name"] == "in-house"
    assert release.quality["license"] == "odbl, other, cc-by-nc-4.0"


def test_without_a_tier_the_card_says_unknown_and_a_later_tier_changes_nothing(client, dataset):
    release = build(dataset)
    assert yaml.safe_load(release_card_parts(release)[0])["license"] == "unknown"
    assert release.quality["license_source"] == "none"
    assert "No license tier existed when this version was built" in release.card
    page = client.get(f"/datasets/{dataset.slug}/versions/1/").content.decode()
    assert "No license tier existed when v1 was built" in page

    license_tier_create(dataset=dataset, actor=dataset.owner, name="Open", spdx_id="CC-BY-4.0")
    release.refresh_from_db()  # ready releases are immutable: the card stays what it was
    assert release.quality["licenses"] == ["unknown"]
    assert build(dataset).quality["licenses"] == ["cc-by-4.0"]  # the next version has it


def test_hub_license_ids_from_spdx_ids():
    assert hf_license_id("CC-BY-4.0") == "cc-by-4.0"
    assert hf_license_id("Apache-2.0") == "apache-2.0"
    assert hf_license_id("ODC-By-1.0") == "odc-by"
    assert hf_license_id("GPL-3.0-only") == "gpl-3.0"
    assert hf_license_id("LicenseRef-Ours") == "other"


# --- Publishing with too few labels ------------------------------------------------------------


def test_publishing_below_the_minimum_labelled_share_asks_to_confirm(dataset):
    dataset.min_labelled_share = 0.9  # 4 of 5 rows (80%) are labelled
    dataset.save()
    with pytest.raises(ConflictError) as refused:
        release_publish(dataset=dataset, actor=dataset.owner)
    assert refused.value.code == "labelled_share_below_minimum"
    assert refused.value.extra == {
        "labelled_rows": 4,
        "rows": 5,
        "labelled_share": 0.8,
        "min_labelled_share": 0.9,
    }
    assert not DatasetRelease.objects.exists()
    release = release_publish(dataset=dataset, actor=dataset.owner, confirm_low_labelled_share=True)
    entry = AuditLog.objects.get(action="release.published")
    assert entry.data["confirmed_low_labelled_share"] is True
    assert release.number == 1

    dataset.min_labelled_share = 0.8  # exactly at the minimum: no question
    dataset.save()
    release_build(release_id=release.pk)
    assert release_publish(dataset=dataset, actor=dataset.owner).number == 2


def test_api_refuses_a_low_labelled_share_with_409_until_confirmed(client, dataset):
    dataset.min_labelled_share = 0.95
    dataset.save()
    client.force_login(dataset.owner)
    url = f"/api/v1/datasets/{dataset.slug}/releases/"
    refused = client.post(url, {"notes": "x"}, content_type="application/json")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "labelled_share_below_minimum"
    assert "4 of 5 rows (80%)" in body["detail"]
    assert (body["labelled_share"], body["min_labelled_share"]) == (0.8, 0.95)
    assert not DatasetRelease.objects.exists()
    accepted = client.post(
        url, {"confirm_low_labelled_share": True}, content_type="application/json"
    )
    assert accepted.status_code == 202, accepted.content


def test_the_page_asks_to_confirm_and_refuses_without_it(client, dataset):
    dataset.min_labelled_share = 0.95
    dataset.save()
    client.force_login(dataset.owner)
    page = client.get(f"/datasets/{dataset.slug}/").content.decode()
    assert 'name="confirm_low_labelled_share"' in page
    assert "4 of 5 rows (80%)" in page
    url = f"/datasets/{dataset.slug}/versions/publish/"
    refused = client.post(url, {"notes": "no"}, follow=True).content.decode()
    assert "below this dataset" in refused and "Confirm to publish it anyway" in refused
    assert not DatasetRelease.objects.exists()
    client.post(url, {"notes": "yes", "confirm_low_labelled_share": "1"})
    assert DatasetRelease.objects.get().notes == "yes"

    dataset.min_labelled_share = 0.5
    dataset.save()
    page = client.get(f"/datasets/{dataset.slug}/").content.decode()
    assert 'name="confirm_low_labelled_share"' not in page


def test_the_edit_form_sets_the_minimum_labelled_share(client, dataset):
    from datasets_app.forms import DatasetForm

    client.force_login(dataset.owner)
    form = client.get(f"/datasets/{dataset.slug}/edit/").content.decode()
    assert 'name="min_labelled_share"' in form
    data = {
        key: value
        for key, value in DatasetForm.initial_for(dataset).items()
        if value is not None and value is not False
    }
    data |= {
        "pii_policy": "reject",
        "near_duplicate_threshold": "0.7",
        "preview_rows": "10",
        "min_labelled_share": "60",
    }
    response = client.post(f"/datasets/{dataset.slug}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    dataset.refresh_from_db()
    assert dataset.min_labelled_share == 0.6


# --- One agreement figure ----------------------------------------------------------------------

ALPHA = re.compile(r"\N{GREEK SMALL LETTER ALPHA}\s*(-?[\d.]+)")


def test_one_agreement_figure_per_page_from_one_selector(client, dataset):
    assert dataset_agreement(dataset=dataset) == 0.71
    release = build(dataset)
    assert release.quality["agreement_alpha"] == 0.71

    dataset_page = client.get(f"/datasets/{dataset.slug}/").content.decode()
    assert ALPHA.findall(dataset_page) == ["0.71"]
    assert "of label pairs on an item agree" not in dataset_page
    stats = client.get(f"/api/v1/datasets/{dataset.slug}/stats").json()
    assert stats["agreement"] == 0.71

    # Labelling goes on: the dataset's figure moves, the release keeps the one it was built with.
    dataset.agreement_alpha = 0.5
    dataset.save()
    assert ALPHA.findall(client.get(f"/datasets/{dataset.slug}/").content.decode()) == ["0.50"]
    release_page = client.get(f"/datasets/{dataset.slug}/versions/1/").content.decode()
    assert ALPHA.findall(release_page) == ["0.71"]
    assert "| label agreement (Krippendorff's alpha) | 0.71 |" in release.card
    assert "0.50" not in release_page
