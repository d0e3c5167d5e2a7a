"""factory_boy factories for the models tests build on."""

from __future__ import annotations

import factory
from eth_account import Account

from marketplace.core.models import User


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("address",)

    # A fresh random key per user: a real, checksummable address nobody else holds.
    address = factory.LazyFunction(lambda: Account.create().address)
    display_name = factory.Sequence(lambda n: f"User {n}")
