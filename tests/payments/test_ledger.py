"""The double-entry ledger on the real PostgreSQL: its rules hold in the database itself."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from payments.enums import LedgerKind
from payments.models import LedgerEntry, LedgerTransaction
from payments.services.ledger import (
    FEES,
    WORLD,
    LedgerError,
    Move,
    ledger_account,
    ledger_balance,
    ledger_books_check,
    ledger_post,
)
from tests.factories import TokenFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_posting_moves_value_and_balances_are_sums():
    token = TokenFactory.create()
    user = UserFactory.create()
    ledger_post(
        kind=LedgerKind.FUNDING,
        token=token,
        moves=[Move(WORLD, "bounty:1", 1_000)],
        idempotency_key="funding:a",
    )
    ledger_post(
        kind=LedgerKind.REWARD,
        token=token,
        moves=[Move("bounty:1", f"user:{user.pk}", 300)],
        idempotency_key="reward:1",
    )
    codes = [WORLD, "bounty:1", f"user:{user.pk}"]
    assert {code: ledger_balance(token=token, code=code) for code in codes} == {
        WORLD: -1_000,
        "bounty:1": 700,
        f"user:{user.pk}": 300,
    }
    assert ledger_account(token=token, code=f"user:{user.pk}").user_id == user.pk
    report = ledger_books_check(token=token, on_chain=1_000)
    assert report.ok and report.held == 1_000 and report.transactions == 2
    assert not ledger_books_check(token=token, on_chain=999).ok


def test_posting_the_same_key_twice_posts_once():
    token = TokenFactory.create()
    for _ in range(2):
        ledger_post(
            kind=LedgerKind.FUNDING,
            token=token,
            moves=[Move(WORLD, "bounty:9", 5)],
            idempotency_key="funding:same",
        )
    assert LedgerTransaction.objects.count() == 1
    assert ledger_balance(token=token, code="bounty:9") == 5


def test_bad_moves_are_refused():
    token = TokenFactory.create()
    for moves in ([], [Move(WORLD, "x", 0)], [Move(WORLD, "x", -3)], [Move("x", "x", 3)]):
        with pytest.raises(LedgerError):
            ledger_post(kind=LedgerKind.FEE, token=token, moves=moves, idempotency_key="k")
    assert not LedgerTransaction.objects.exists()


def test_the_database_refuses_an_unbalanced_transaction():
    token = TokenFactory.create()
    posted = ledger_post(
        kind=LedgerKind.FEE, token=token, moves=[Move(WORLD, FEES, 10)], idempotency_key="f"
    )
    account = ledger_account(token=token, code=FEES)
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        LedgerEntry.objects.create(transaction=posted, account=account, amount=Decimal(1))
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_database_refuses_changing_or_deleting_entries():
    token = TokenFactory.create()
    ledger_post(
        kind=LedgerKind.FEE, token=token, moves=[Move(WORLD, FEES, 10)], idempotency_key="g"
    )
    entry = LedgerEntry.objects.first()
    assert entry is not None
    with pytest.raises((IntegrityError, InternalError), match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal(11))
    # Raw SQL: the ORM's PROTECT would stop the delete before the database could.
    with (
        pytest.raises((IntegrityError, InternalError), match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM payments_ledgertransaction")
    assert ledger_balance(token=token, code=FEES) == 10
