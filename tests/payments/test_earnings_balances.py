"""What the earnings page says a person is owed: their own ledger account per token, nothing of
a bounty pool's or another person's."""

from __future__ import annotations

import pytest

from payments.enums import LedgerKind
from payments.selectors.rewards import earnings_balances
from payments.services.ledger import Move, ledger_post, user_code
from tests.factories import BountyFactory, TokenFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_person_is_owed_the_balance_of_their_own_account_per_token():
    contributor, other = UserFactory.create(), UserFactory.create()
    first, second = BountyFactory.create(), BountyFactory.create(token=TokenFactory.create())
    for key, bounty, user, amount in (
        ("a", first, contributor, 700),
        ("b", first, contributor, 5),
        ("c", second, contributor, 3),
        ("d", first, other, 11),
    ):
        ledger_post(
            kind=LedgerKind.REWARD,
            token=bounty.token,
            moves=[Move(bounty.ledger_code, user_code(user), amount)],
            idempotency_key=f"test-balance:{key}",
        )
    owed = {(b.token.pk, b.pending) for b in earnings_balances(user=contributor)}
    assert owed == {(first.token.pk, 705), (second.token.pk, 3)}
    assert [b.pending for b in earnings_balances(user=other)] == [11]
    assert earnings_balances(user=first.sponsor) == []
