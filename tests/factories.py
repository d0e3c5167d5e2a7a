"""factory_boy factories for the models tests build on."""

from __future__ import annotations

import factory
from eth_account import Account

from datasets_app.models import Dataset, Item
from marketplace.core.models import User


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
