"""A contribution's quality is visible: its score, the spread of its accepted rows' scores, and
the kinds of personal data that were rejected or flagged, in the API and on the report page."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from datasets_app.models import Contribution, Item
from datasets_app.services import (
    contribution_validate,
    contribution_validate_shard,
)
from datasets_app.services.validation_report import score_distribution
from tests.factories import DatasetFactory, UserFactory, submitted

pytestmark = pytest.mark.django_db

WORDS = [f"{stem}{end}" for stem in ("lamp", "tent", "kettle", "shoe", "radio", "desk")
         for end in ("", "s", "ly", "er", "ing")]  # fmt: skip
EMAIL, CARD, IBAN, PHONE = (
    "ada@example.org",
    "4111 1111 1111 1111",
    "GB82 WEST 1234 5698 7654 32",
    "+44 20 7946 0958",
)


def _words(n: int) -> str:
    """Words of their own for row ``n``: no two rows are near-duplicates."""
    rng = random.Random(n)  # noqa: S311 - test data
    return " ".join(rng.choices(WORDS, k=14))


def _reviews(count: int, personal: dict[int, str], empty: tuple[int, ...] = ()) -> bytes:
    """``count`` rows of one text column; row numbers (1-based) in ``personal`` carry that
    personal data, those in ``empty`` are empty (rejected whatever the policy)."""
    rows = [
        "" if n in empty else f"{_words(n)} {personal.get(n, '')}".strip()
        for n in range(1, count + 1)
    ]
    return ("text\n" + "\n".join(f'"{row}"' for row in rows) + "\n").encode()


PERSONAL = {2: EMAIL, 5: CARD, 7: EMAIL, 8: IBAN, 11: f"{EMAIL} or {PHONE}"}


def personal_data_found(action: str) -> list[dict[str, Any]]:
    """The contribution's ``personal_data`` for ``PERSONAL``: each kind, the rows it is in, and
    ``action`` (flagged or rejected, as the dataset's policy says)."""
    found = [
        ("email", "email", 3, [2, 7, 11]),
        ("credit_card", "card number", 1, [5]),
        ("iban", "IBAN", 1, [8]),
        ("phone", "phone number", 1, [11]),
    ]
    return [
        {"kind": kind, "name": name, "action": action, "rows": rows, "sample_rows": sample}
        for kind, name, rows, sample in found
    ]


def _submit(dataset: Any, content: bytes, user: Any = None) -> Contribution:
    """Submitted without its validation task: the tests run validation themselves."""
    return submitted(dataset, content, "reviews.csv", contributor=user, queue_validation=False)


def _dataset(policy: str) -> Any:
    return DatasetFactory.create(columns=[{"name": "text", "dtype": "string"}], pii_policy=policy)


def test_the_api_shows_the_score_and_the_distribution_of_the_accepted_rows(client):
    user = UserFactory.create()
    contribution = _submit(_dataset("flag"), _reviews(14, PERSONAL, empty=(3, 13)), user)
    assert contribution_validate(contribution_id=contribution.pk) == "partially_accepted"
    client.force_login(user)

    body = client.get(f"/api/v1/contributions/{contribution.pk}/").json()

    contribution.refresh_from_db()
    scores = sorted(Item.objects.filter(contribution=contribution).values_list(
        "quality_score", flat=True))  # fmt: skip
    assert len(scores) == body["rows_accepted"] == 12
    assert scores.count(0.7) == 5  # the rows with personal data, flagged
    assert body["quality_score"] == contribution.quality_score == round(sum(scores) / 14, 4)
    distribution = body["score_distribution"]
    assert distribution["rows"] == 12
    assert sum(bucket["rows"] for bucket in distribution["buckets"]) == 12
    assert [(b["low"], b["high"]) for b in distribution["buckets"]] == [
        (n / 10, (n + 1) / 10) for n in range(10)
    ]
    assert [b["rows"] for b in distribution["buckets"]] == [0] * 7 + [5, 0, 7]
    assert (distribution["min"], distribution["median"], distribution["max"]) == (0.7, 1.0, 1.0)
    assert distribution["mean"] == round(sum(scores) / 12, 4)
    assert body["report"]["score_distribution"] == distribution
    assert body["personal_data"] == personal_data_found("flagged")
    assert body["report"]["flagged"] == 5

    listed = client.get("/api/v1/contributions/").json()["results"]
    assert [(c["id"], c["quality_score"], c["score_distribution"]) for c in listed] == [
        (contribution.pk, body["quality_score"], distribution)
    ]


def test_personal_data_is_named_per_kind_when_the_policy_rejects_it(client):
    user = UserFactory.create()
    contribution = _submit(_dataset("reject"), _reviews(14, PERSONAL), user)
    assert contribution_validate(contribution_id=contribution.pk) == "partially_accepted"
    client.force_login(user)

    body = client.get(f"/api/v1/contributions/{contribution.pk}/").json()

    assert body["report"]["reasons"] == {
        "column 'text' contains personal data (email)": 3,
        "column 'text' contains personal data (card number)": 1,
        "column 'text' contains personal data (IBAN)": 1,
        "column 'text' contains personal data (phone number)": 1,
    }
    assert body["personal_data"] == personal_data_found("rejected")
    errors = {e["row"]: e["errors"] for e in body["report"]["examples"]}
    assert errors[11] == [
        "column 'text' contains personal data (email)",
        "column 'text' contains personal data (phone number)",
    ]
    assert errors[5] == ["column 'text' contains personal data (card number)"]
    distribution = body["score_distribution"]
    assert distribution["rows"] == body["rows_accepted"] == 9
    assert [b["rows"] for b in distribution["buckets"]] == [0] * 9 + [9]
    assert body["report"]["flagged"] == 0


def test_the_distribution_and_personal_data_add_up_across_shards(settings):
    """Rows with personal data in every shard, flagged: the last shard's merged report says
    what one run over the whole file says."""
    personal = {n: (EMAIL, CARD, IBAN)[i % 3] for i, n in enumerate(range(2, 46, 3))}
    content = _reviews(46, personal, empty=(4, 30))
    settings.VALIDATION_SHARD_ROWS = 1_000_000
    single = _submit(_dataset("flag"), content)
    contribution_validate(contribution_id=single.pk)

    settings.VALIDATION_SHARD_ROWS = 10
    sharded = _submit(_dataset("flag"), content)
    assert contribution_validate(contribution_id=sharded.pk) is None
    sharded.refresh_from_db()
    assert len(sharded.report["shards"]) > 2
    claim = str(sharded.validation_claim)
    for number in sharded.report["shards"]:
        contribution_validate_shard(contribution_id=sharded.pk, claim=claim, shard=int(number))

    single.refresh_from_db()
    sharded.refresh_from_db()
    assert sharded.status == single.status == "partially_accepted"
    assert sharded.quality_score == single.quality_score
    distribution = sharded.report["score_distribution"]
    assert distribution == single.report["score_distribution"]
    assert distribution["rows"] == sharded.rows_accepted == 44
    assert [b["rows"] for b in distribution["buckets"]] == [0] * 7 + [15, 0, 29]
    assert sharded.report["personal_data"] == single.report["personal_data"]
    emails = [n for n, value in personal.items() if value == EMAIL]
    assert {e["kind"]: (e["rows"], e["sample_rows"]) for e in sharded.report["personal_data"]}[
        "email"
    ] == (len(emails), emails[:10])


def test_a_file_that_fails_part_way_reports_no_accepted_rows(settings):
    """Batches of flagged rows committed, then the reader fails: those rows are taken back, so
    the report describes none of them."""
    settings.VALIDATION_BATCH_ROWS = 2000
    flagged = [f"{_words(i)} {EMAIL}" for i in range(10)]  # in the first, committed batch
    rows = "".join(f"{text}\n" for text in flagged + [f"row {i}" for i in range(25000)]).encode()
    contribution = _submit(_dataset("flag"), b"text\n" + rows + b'"broken\n')
    assert contribution_validate(contribution_id=contribution.pk) == "rejected"
    contribution.refresh_from_db()
    assert contribution.rows_total >= 20000 and contribution.rows_accepted == 0
    assert contribution.report["score_distribution"]["rows"] == 0
    assert contribution.report["score_distribution"]["median"] is None
    assert contribution.report["flagged"] == 0
    assert contribution.report["personal_data"] == []


@pytest.mark.parametrize(
    ("scores", "median", "mean"),
    [
        ({700: 1, 1000: 2}, 1.0, 0.9),
        ({700: 2, 1000: 2}, 0.85, 0.85),
        ({0: 1, 250: 1, 1000: 1, 1: 1}, 0.1255, 0.31275),
    ],
)
def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(scores, median, mean):
    distribution = score_distribution(scores)
    assert (distribution["median"], distribution["mean"]) == (median, round(mean, 4))
    assert sum(b["rows"] for b in distribution["buckets"]) == sum(scores.values())
    assert distribution["buckets"][9]["rows"] == scores.get(1000, 0)


def test_a_contribution_still_validating_has_no_distribution_yet(client):
    user = UserFactory.create()
    contribution = _submit(_dataset("flag"), _reviews(3, {}), user)
    Contribution.objects.filter(pk=contribution.pk).update(
        status="validating", report={"score_distribution": score_distribution({1000: 1})}
    )
    client.force_login(user)
    body = client.get(f"/api/v1/contributions/{contribution.pk}/").json()
    assert (body["quality_score"], body["score_distribution"], body["personal_data"]) == (
        None,
        None,
        [],
    )


def test_the_openapi_schema_types_the_quality_fields(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schemas = yaml.safe_load(target.read_text())["components"]["schemas"]
    fields = schemas["ContributionOutput"]["properties"]
    assert fields["quality_score"]["type"] == "number"
    assert fields["quality_score"]["nullable"] is True
    distribution = fields["score_distribution"]
    assert distribution["nullable"] is True
    assert distribution["allOf"] == [{"$ref": "#/components/schemas/ScoreDistributionOutput"}]
    buckets = schemas["ScoreDistributionOutput"]["properties"]["buckets"]
    assert buckets["items"] == {"$ref": "#/components/schemas/ScoreBucketOutput"}
    assert schemas["ScoreDistributionOutput"]["properties"]["median"]["type"] == "number"
    assert fields["personal_data"]["items"] == {"$ref": "#/components/schemas/PersonalDataOutput"}
    kind = schemas["PersonalDataOutput"]["properties"]["kind"]["$ref"].rsplit("/", 1)[-1]
    assert "credit_card" in schemas[kind]["enum"]


def test_the_report_page_shows_the_score_chart_and_the_kinds_of_personal_data(client):
    user = UserFactory.create()
    contribution = _submit(_dataset("flag"), _reviews(14, PERSONAL, empty=(3, 13)), user)
    contribution_validate(contribution_id=contribution.pk)
    contribution.refresh_from_db()
    client.force_login(user)

    page = client.get(f"/contributions/{contribution.pk}/").content.decode()

    assert "Quality score" in page
    assert f">{contribution.quality_score:.2f}<" in page
    assert "data-score-chart" in page and 'id="score-distribution"' in page
    assert "Flagged: personal data (email)" in page
    assert "Flagged: personal data (card number)" in page
    assert "Flagged: personal data (IBAN)" in page
    assert "rows 2, 7, 11" in page
    # The numbers behind the chart, for readers without JavaScript.
    assert '<td class="num">7</td>' in page and "0.9\u20131.0" in page
