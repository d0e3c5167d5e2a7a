"""factory_boy factories for the models tests build on."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone
from eth_account import Account

from datasets_app.models import Contribution, Dataset, Item
from marketplace.core.models import User
from payments.models import Bounty, Token


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
