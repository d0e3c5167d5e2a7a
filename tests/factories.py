"""factory_boy factories for the models tests build on, and the builders and helpers that
several test modules share: a submitted file, a funded bounty and what it pays for, a built or a
ready release, a commercial tier, a license grant, and running calls at once."""

from __future__ import annotations

import hashlib
import io
import posixpath
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import factory
import pyarrow as pa
import pyarrow.parquet as pq
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone
from eth_account import Account

from datasets_app.models import (
    Contribution,
    Dataset,
    DatasetRelease,
    Item,
    Label,
    LabelerCredibility,
    ReleaseFile,
)
from datasets_app.services.uploads import contribution_submit
from marketplace.core.models import User
from payments.models import Bounty, LicenseGrant, LicenseTier, Token
from payments.services.bounties import bounty_funding_credit
from payments.services.licenses import license_tier_create


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("address",)

    # A fresh random key per user: a real, checksummable address nobody else holds.
    address = factory.LazyFunction(lambda: Account.create().address)
    display_name = factory.Sequence(lambda n: f"User {n}")


class DatasetFactory(factory.django.DjangoModelFactory[Dataset]):
    class Meta:
        model = Dataset

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Product reviews {n}")
    slug = factory.Sequence(lambda n: f"product-reviews-{n}")
    description = "Short product reviews with their sentiment."
    modality = "text"
    columns = factory.LazyFunction(lambda: [{"name": "text", "dtype": "string"}])
    label_task = "single_label"
    label_classes = factory.LazyFunction(lambda: ["negative", "neutral", "positive"])
    labels_per_item = 3
    status = "open"


class ItemFactory(factory.django.DjangoModelFactory[Item]):
    class Meta:
        model = Item

    dataset = factory.SubFactory(DatasetFactory)
    data = factory.Sequence(lambda n: {"text": f"review number {n}"})
    content_hash = factory.Sequence(lambda n: f"{n:064x}")
    slots_open = factory.LazyAttribute(lambda item: item.dataset.labels_per_item)


class ContributionFactory(factory.django.DjangoModelFactory[Contribution]):
    """A validated contribution (its items are made separately, with ``ItemFactory``)."""

    class Meta:
        model = Contribution

    dataset = factory.SubFactory(DatasetFactory)
    contributor = factory.SubFactory(UserFactory)
    file = "contributions/test.csv"
    original_name = "rows.csv"
    file_format = "csv"
    size_bytes = 100
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    status = "accepted"
    validated_at = factory.LazyFunction(timezone.now)


class TokenFactory(factory.django.DjangoModelFactory[Token]):
    class Meta:
        model = Token
        django_get_or_create = ("chain_id", "address")

    chain_id = 31337
    address = factory.LazyFunction(lambda: Account.create().address)
    symbol = "DBT"
    decimals = 18
    eip712_name = "DataBounty Test Token"  # no contract behind it to read the domain from
    eip712_version = "1"


class BountyFactory(factory.django.DjangoModelFactory[Bounty]):
    """A bounty awaiting funding: one epoch of an hour that started two hours ago."""

    class Meta:
        model = Bounty

    dataset = factory.SubFactory(DatasetFactory)
    sponsor = factory.LazyAttribute(lambda bounty: bounty.dataset.owner)
    title = factory.Sequence(lambda n: f"Bounty {n}")
    token = factory.SubFactory(TokenFactory)
    pays_for = "both"
    rate_per_row = 1_000
    rate_per_label = 100
    pool_amount = 10**9
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    ends_at = factory.LazyAttribute(lambda bounty: bounty.starts_at + timedelta(hours=1))
    epoch_length = timedelta(hours=1)


# --- contributions: a file submitted through the service ---------------------------------------


def submitted(
    dataset: Dataset,
    content: bytes,
    name: str = "rows.csv",
    *,
    contributor: User | None = None,
    queue_validation: bool = True,
) -> Contribution:
    """``content`` submitted as a file called ``name`` by ``contributor`` (someone new if None).
    With ``queue_validation=False`` its validation task is not enqueued: the test runs validation
    itself (a worker on the default queue would otherwise race it)."""
    with ExitStack() as stack:
        if not queue_validation:
            stack.enter_context(patch("datasets_app.tasks.validate_contribution.delay"))
        return contribution_submit(
            dataset=dataset,
            contributor=contributor or UserFactory.create(),
            file=ContentFile(content, name=name),
            filename=name,
            size=len(content),
        )


# --- rewards: a funded bounty and what it pays for ----------------------------------------------


def funded(pool: int = 10**9, **kwargs: Any) -> Bounty:
    bounty = BountyFactory.create(pool_amount=pool, **kwargs)
    return bounty_funding_credit(bounty=bounty, amount=pool, reference=f"test:{bounty.pk}")


def in_epoch(bounty: Bounty, minutes: int = 30) -> Any:
    return bounty.starts_at + timedelta(minutes=minutes)


def contribution_with_items(
    dataset: Dataset, user: Any, scores: list[float], *, validated_at: Any, **kwargs: Any
) -> Contribution:
    contribution = ContributionFactory.create(
        dataset=dataset, contributor=user, validated_at=validated_at, **kwargs
    )
    for score in scores:
        ItemFactory.create(dataset=dataset, contribution=contribution, quality_score=score)
    return contribution


def decided_item(dataset: Dataset, votes: dict[Any, Any], decided: Any, at: Any) -> Item:
    item = ItemFactory.create(dataset=dataset, consensus_label=decided, consensus_at=at)
    for user, value in votes.items():
        Label.objects.create(item=item, labeler=user, dataset=dataset, value=value)
    return item


def credibility(user: Any, value: float) -> None:
    LabelerCredibility.objects.update_or_create(user=user, defaults={"credibility": value})


# --- releases and licenses: a built release, its files and a grant ---------------------------


def parquet_bytes(number: int, shard: int, rows: int) -> bytes:
    table = pa.table(
        {
            "text": [f"v{number} shard {shard} review {i}" for i in range(rows)],
            # ClassLabel indexes, as a built release stores them (DatasetFactory's classes are
            # negative, neutral, positive).
            "label": [2 if i % 3 else 0 for i in range(rows)],
            "score": [float(i) / rows for i in range(rows)],
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=max(rows // 4, 1))
    return out.getvalue()


def make_release(
    dataset: Dataset,
    *,
    number: int = 1,
    shards: int = 2,
    rows: int = 40,
    extra: dict[str, bytes] | None = None,
    quality: dict[str, object] | None = None,
) -> DatasetRelease:
    """A ready release as the builder leaves one: Parquet shards and a card in default storage,
    file rows written while building, then one UPDATE to ready (a trigger freezes it after)."""
    release = DatasetRelease.objects.create(
        dataset=dataset,
        number=number,
        created_by=dataset.owner,
        status="building",
        quality=quality or {},
    )
    contents = {
        f"data/train-{i:05d}-of-{shards:05d}.parquet": parquet_bytes(number, i, rows)
        for i in range(shards)
    }
    contents["README.md"] = f"---\nlicense: cc-by-4.0\n---\n# {dataset.title} v{number}\n".encode()
    contents.update(extra or {})
    hashes = []
    for name, data in contents.items():
        digest = hashlib.sha256(data).hexdigest()
        hashes.append(digest)
        release_file = ReleaseFile(
            release=release,
            name=name,
            sha256=digest,
            rows=rows if name.endswith(".parquet") else None,
            size_bytes=len(data),
        )
        release_file.file.save(posixpath.basename(name), ContentFile(data), save=False)
        release_file.save()
    DatasetRelease.objects.filter(pk=release.pk).update(
        status="ready",
        rows=rows * shards,
        size_bytes=sum(len(d) for d in contents.values()),
        content_hash=hashlib.sha256("".join(sorted(hashes)).encode()).hexdigest(),
        ready_at=timezone.now(),
    )
    release.refresh_from_db()
    return release


def ready_release(dataset: Dataset, number: int = 1) -> DatasetRelease:
    """A ready release with no files (content hash only): enough to sell a license on."""
    built = DatasetRelease.objects.create(
        dataset=dataset, number=number, created_by=dataset.owner, status="building"
    )
    DatasetRelease.objects.filter(pk=built.pk).update(
        status="ready", content_hash="ab" * 32, ready_at=timezone.now()
    )
    built.refresh_from_db()
    return built


def commercial_tier(dataset: Dataset, *, token: Token, price: int, **extra: Any) -> LicenseTier:
    """The owner offers a commercial CC-BY-4.0 license, "Commercial", at ``price`` of ``token``."""
    return license_tier_create(
        dataset=dataset,
        actor=dataset.owner,
        name="Commercial",
        spdx_id="CC-BY-4.0",
        commercial=True,
        price=price,
        token=token,
        **extra,
    )


def make_grant(
    buyer: User,
    dataset: Dataset,
    releases: Sequence[DatasetRelease] = (),
    *,
    tier_name: str = "Research",
    **fields: Any,
) -> LicenseGrant:
    """``buyer``'s grant of ``releases`` under a free tier called ``tier_name``; ``fields`` are
    the grant's own (``covers_future``, ``expires_at``, ``revoked_at``)."""
    tier, _ = LicenseTier.objects.get_or_create(
        dataset=dataset, name=tier_name, defaults={"spdx_id": "CC-BY-4.0", "price": 0}
    )
    grant = LicenseGrant.objects.create(buyer=buyer, dataset=dataset, tier=tier, **fields)
    grant.releases.set(releases)
    return grant


# --- races ------------------------------------------------------------------------------------


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each thread closes its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # reported to the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
