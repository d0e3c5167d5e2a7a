"""Posting to the double-entry ledger, balances, and the books-balance check.

Every movement of value is one ``LedgerTransaction`` whose entries sum to zero; the database
refuses anything else (see migration ``0003_ledger_rules``). Posting is idempotent by key: a
retried task that posts the same event again gets the first transaction back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum

from marketplace.core.models import User
from payments.enums import LedgerKind
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction, Token

# The account codes live with the models (selectors read them too); re-exported for callers.
from payments.models.ledger import FEES as FEES
from payments.models.ledger import PAYOUTS_PENDING as PAYOUTS_PENDING
from payments.models.ledger import WORLD as WORLD
from payments.models.ledger import user_code as user_code


class LedgerError(Exception):
    """A programming error: an unbalanced or empty posting. Never shown to users."""


def ledger_account(*, token: Token, code: str, user: User | int | None = None) -> LedgerAccount:
    user_id = user if isinstance(user, int) or user is None else user.pk
    account, _ = LedgerAccount.objects.get_or_create(
        token=token, code=code, defaults={"user_id": user_id}
    )
    return account


@dataclass(frozen=True)
class Move:
    """``amount`` base units from one account to another (codes; users for user accounts)."""

    source: str
    destination: str
    amount: int


def _user_of(code: str) -> int | None:
    kind, _, ident = code.partition(":")
    return int(ident) if kind == "user" and ident.isdigit() else None


def _flush_balance_check() -> None:
    """Run the deferred balanced-transaction check now, then defer it again: a bad posting
    fails here, inside the service, and not at some later commit (or never, in a test that
    rolls back)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS payments_ledgerentry_balanced IMMEDIATE")
        cursor.execute("SET CONSTRAINTS payments_ledgerentry_balanced DEFERRED")


@transaction.atomic
def ledger_post(
    *,
    kind: LedgerKind,
    token: Token,
    moves: Sequence[Move],
    idempotency_key: str,
    memo: str = "",
    actor: User | None = None,
) -> LedgerTransaction:
    """Post one transaction made of ``moves``; returns the existing one if the key was posted."""
    existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    if not moves or any(m.amount <= 0 or m.source == m.destination for m in moves):
        raise LedgerError(f"bad moves for {idempotency_key}: {moves!r}")
    posted = LedgerTransaction.objects.create(
        kind=kind,
        token=token,
        idempotency_key=idempotency_key,
        memo=memo[:255],
        actor=actor if actor is not None and actor.pk else None,
    )
    net: dict[str, int] = {}
    for move in moves:
        net[move.source] = net.get(move.source, 0) - move.amount
        net[move.destination] = net.get(move.destination, 0) + move.amount
    accounts = {
        code: ledger_account(token=token, code=code, user=_user_of(code))
        for code in sorted(net)
        if net[code]
    }
    LedgerEntry.objects.bulk_create(
        LedgerEntry(transaction=posted, account=account, amount=Decimal(net[code]))
        for code, account in accounts.items()
    )
    _flush_balance_check()
    return posted


def ledger_post_many(
    *, kind: LedgerKind, token: Token, postings: Iterable[tuple[str, Move]], memo: str = ""
) -> int:
    """Post many two-account transactions in bulk (``(idempotency_key, move)`` pairs, keys not
    yet used); for reward epochs, where one transaction per reward is posted by the thousand.
    Call inside a transaction that holds the lock making the keys new."""
    postings = list(postings)
    if not postings:
        return 0
    codes = sorted({c for _, m in postings for c in (m.source, m.destination)})
    existing = {a.code: a for a in LedgerAccount.objects.filter(token=token, code__in=codes)}
    missing = [
        LedgerAccount(token=token, code=code, user_id=_user_of(code))
        for code in codes
        if code not in existing
    ]
    LedgerAccount.objects.bulk_create(missing, ignore_conflicts=True)
    accounts = {a.code: a for a in LedgerAccount.objects.filter(token=token, code__in=codes)}
    created = LedgerTransaction.objects.bulk_create(
        LedgerTransaction(kind=kind, token=token, idempotency_key=key, memo=memo[:255])
        for key, _ in postings
    )
    entries = []
    for posted, (key, move) in zip(created, postings, strict=True):
        if move.amount <= 0 or move.source == move.destination:
            raise LedgerError(f"bad move for {key}: {move!r}")
        entries.append(
            LedgerEntry(
                transaction=posted, account=accounts[move.source], amount=Decimal(-move.amount)
            )
        )
        entries.append(
            LedgerEntry(
                transaction=posted, account=accounts[move.destination], amount=Decimal(move.amount)
            )
        )
    LedgerEntry.objects.bulk_create(entries, batch_size=5_000)
    _flush_balance_check()
    return len(created)


def ledger_balance(*, token: Token, code: str) -> int:
    total = LedgerEntry.objects.filter(account__token=token, account__code=code).aggregate(
        total=Sum("amount")
    )["total"]
    return int(total or 0)


@dataclass(frozen=True)
class BooksReport:
    token: Token
    transactions: int
    unbalanced: list[int]  # ids of transactions whose entries do not sum to zero
    held: int  # what the ledger says the platform holds (minus the world's balance)
    on_chain: int | None  # the treasury's (and hot wallet's) token balance, when asked
    # Payouts sent and not yet confirmed: once mined they have left the wallet while the ledger
    # still counts them, so the chain may hold up to this much less.
    in_flight: int = 0

    @property
    def ok(self) -> bool:
        if self.unbalanced:
            return False
        return self.on_chain is None or self.held - self.in_flight <= self.on_chain <= self.held


def ledger_books_check(
    *, token: Token, on_chain: int | None = None, in_flight: int = 0
) -> BooksReport:
    """Prove the books balance: every transaction sums to zero, and (given the chain's
    balance) what the platform should hold equals what it holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.id FROM payments_ledgertransaction t
              JOIN payments_ledgerentry e ON e.transaction_id = t.id
             WHERE t.token_id = %s
             GROUP BY t.id HAVING sum(e.amount) <> 0
            """,
            [token.pk],
        )
        unbalanced = [row[0] for row in cursor.fetchall()]
    return BooksReport(
        token=token,
        transactions=LedgerTransaction.objects.filter(token=token).count(),
        unbalanced=unbalanced,
        held=-ledger_balance(token=token, code=WORLD),
        on_chain=on_chain,
        in_flight=in_flight,
    )
