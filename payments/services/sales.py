"""A sale shared: the fee, the contributors' part by their quality-weighted accepted rows in the
sold version, and the owner's rest, as one ledger transaction and one reward per person.

Split of a price P: fee = P * ``PLATFORM_FEE_BPS`` / 10,000; contributors = P *
``CONTRIBUTOR_SHARE_BPS`` / 10,000, divided by each contributor's quality-weighted accepted rows
in the sold version (items of the latest ready release, i.e. created before it was built);
the owner gets the rest, including every rounding remainder: the parts always sum to P.
"""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.db import connection

from datasets_app.enums import ContributionStatus
from datasets_app.models import DatasetRelease
from payments.enums import LedgerKind, RewardLineKind, RewardSource
from payments.models import Purchase, Reward
from payments.services.ledger import FEES, WORLD, Move, ledger_post, user_code
from payments.services.licenses import ready_releases
from payments.services.reward_lines import MICRO, Line, reward_lines_create


def _contributor_weights(
    purchase: Purchase,
) -> tuple[DatasetRelease | None, dict[int, int], dict[int, list[tuple[int, int, int]]]]:
    """The sold version, and per contributor: quality-weighted accepted rows (millionths) in
    it, and per contribution (for the reward lines)."""
    release = ready_releases(purchase.dataset)[-1:]
    if not release:
        return None, {}, {}
    sold = release[0]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.contributor_id, c.id, count(i.id),
                   sum(round(greatest(least(i.quality_score, 1), 0) * %s))::bigint
              FROM datasets_app_item i
              JOIN datasets_app_contribution c ON c.id = i.contribution_id
             WHERE i.dataset_id = %s AND i.created_at <= %s
               AND NOT i.is_hidden AND NOT i.is_gold AND c.status = ANY(%s)
             GROUP BY c.contributor_id, c.id
            """,
            [
                MICRO,
                purchase.dataset_id,
                sold.created_at,
                [str(ContributionStatus.ACCEPTED), str(ContributionStatus.PARTIALLY_ACCEPTED)],
            ],
        )
        rows = cursor.fetchall()
    per_user: dict[int, int] = defaultdict(int)
    per_contribution: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for user_id, contribution_id, units, weighted in rows:
        per_user[user_id] += int(weighted)
        per_contribution[user_id].append((contribution_id, int(units), int(weighted)))
    return sold, dict(per_user), dict(per_contribution)


def _paid_in_full(
    user_id: int, kind: str, amount: int, *, contribution: tuple[int, int, int] | None = None
) -> Line:
    """A sale's reward line: no pay weight, and its demand paid in full. ``contribution`` is
    (contribution id, rows, weighted rows in millionths) for a contributor's share of the pool."""
    contribution_id, units, weighted_micro = contribution or (None, 0, 0)
    return Line(
        user_id, kind, contribution_id, units, weighted_micro, None, demand=amount, amount=amount
    )


def sale_share(*, purchase: Purchase, received: int) -> dict[int, int]:
    """Split a sale into fee, owner and contributors as one ledger transaction, and record each
    person's part as a reward (paid by the payout path). Returns user id -> amount."""
    fee = received * settings.PLATFORM_FEE_BPS // 10_000
    pool = received * settings.CONTRIBUTOR_SHARE_BPS // 10_000
    sold, weights, lines = _contributor_weights(purchase)
    total_weight = sum(weights.values())
    shares = {user: pool * w // total_weight for user, w in weights.items()} if total_weight else {}
    owner_id = purchase.dataset.owner_id
    owner_amount = received - fee - sum(shares.values())  # the rest, remainders included
    by_user: dict[int, int] = defaultdict(int)
    for user, amount in shares.items():
        by_user[user] += amount
    by_user[owner_id] += owner_amount
    moves = [Move(WORLD, FEES, fee)] if fee else []
    moves += [Move(WORLD, user_code(u), a) for u, a in sorted(by_user.items()) if a > 0]
    ledger_post(
        kind=LedgerKind.SALE,
        token=purchase.token,
        moves=moves,
        idempotency_key=f"sale:{purchase.pk}",
        memo=f"license sale {purchase.pk}",
    )
    basis = {
        "sale": {
            "purchase": purchase.pk,
            "price": str(received),
            "platform_fee": str(fee),
            "platform_fee_bps": settings.PLATFORM_FEE_BPS,
            "contributors_share": str(pool),
            "contributor_share_bps": settings.CONTRIBUTOR_SHARE_BPS,
            "version": f"v{sold.number}" if sold else None,
            "weighted_rows_total": total_weight / MICRO,
        }
    }
    paid: list[tuple[Reward, Line]] = []
    for user, amount in sorted(by_user.items()):
        if amount <= 0:
            continue
        reward = Reward.objects.create(
            source=RewardSource.SALE,
            purchase=purchase,
            user_id=user,
            token=purchase.token,
            amount=amount,
            basis={
                **basis,
                "owner_share": str(owner_amount) if user == owner_id else None,
                "your_weighted_rows": weights.get(user, 0) / MICRO,
            },
        )
        if user == owner_id and owner_amount > 0:
            paid.append((reward, _paid_in_full(user, RewardLineKind.OWNER, owner_amount)))
        for contribution_id, units, weighted in lines.get(user, []):
            part = pool * weighted // total_weight if total_weight else 0
            line = _paid_in_full(
                user, RewardLineKind.ROWS, part, contribution=(contribution_id, units, weighted)
            )
            paid.append((reward, line))
    reward_lines_create(paid)
    return dict(by_user)
