"""Payouts on a real anvil chain: grouped, sent from the hot wallet, confirmed, and paid exactly
once through crashes, concurrent workers, stuck transactions and stolen nonces.

"Killed" processes are simulated in-process: the chain client's broadcast raises SystemExit
before or after the bytes reach the node, which is where a real kill would leave things."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from marketplace.core.api import exception_handler
from marketplace.core.exceptions import PermissionDeniedError
from marketplace.core.models import User
from payments.enums import LedgerKind, PayoutStatus, RewardStatus
from payments.exceptions import PayoutError, RewardError
from payments.integrations.anvil import rpc_call
from payments.integrations.chain import ChainClient
from payments.models import LedgerTransaction, Payout, Reward
from payments.services.bounties import bounty_funding_credit
from payments.services.ledger import (
    PAYOUTS_PENDING,
    ledger_balance,
    ledger_books_check,
    user_code,
)
from payments.services.payouts import (
    payout_retry,
    payout_token_balance,
    payouts_create,
    payouts_process,
    payouts_set_paused,
)
from payments.services.rewards import reward_epoch_compute, reward_reverse
from tests.chain import ChainToken
from tests.factories import (
    BountyFactory,
    TokenFactory,
    UserFactory,
    at_once,
    contribution_with_items,
    in_epoch,
)

pytestmark = [pytest.mark.django_db, pytest.mark.chain]

RATE = 10**6  # one token (6 decimals) per accepted row


def earn(chain_token: ChainToken, rows: list[int]) -> list[Any]:
    """Users earn RATE x rows each from a bounty funded with tokens the hot wallet holds."""
    pool = 10**12
    chain_token.mint(chain_token.hot_wallet.address, pool)
    bounty = BountyFactory.create(
        token=chain_token.token,
        pool_amount=pool,
        pays_for="rows",
        rate_per_row=RATE,
        rate_per_label=0,
    )
    bounty_funding_credit(bounty=bounty, amount=pool, reference=f"minted:{bounty.pk}")
    users = UserFactory.create_batch(len(rows))
    for user, count in zip(users, rows, strict=True):
        contribution_with_items(bounty.dataset, user, [1.0] * count, validated_at=in_epoch(bounty))
    reward_epoch_compute(bounty_id=bounty.pk)
    return users


def balance(chain_token: ChainToken, user: Any) -> int:
    return chain_token.client.token_balance(user.address)


def staff() -> User:
    return UserFactory.create(is_staff=True)


def books_match_chain(chain_token: ChainToken) -> None:
    report = ledger_books_check(
        token=chain_token.token, on_chain=payout_token_balance(token=chain_token.token)
    )
    assert report.ok, report


def settle(chain_token: ChainToken) -> Any:
    chain_token.mine(2)  # CHAIN_CONFIRMATIONS is 2 in tests
    return payouts_process()


def test_payouts_are_grouped_sent_confirmed_and_land_on_chain(chain_token: ChainToken):
    users = earn(chain_token, [3, 1, 2])
    payouts = payouts_create()
    assert sorted(int(p.amount) for p in payouts) == [RATE, 2 * RATE, 3 * RATE]
    assert ledger_balance(token=chain_token.token, code=PAYOUTS_PENDING) == 6 * RATE
    assert payouts_create() == []  # every reward is in a payout already
    books_match_chain(chain_token)

    sent = payouts_process()
    assert len(sent.sent) == 3 and not sent.skipped
    nonces = sorted(int(n or 0) for n in Payout.objects.values_list("nonce", flat=True))
    assert nonces == list(range(nonces[0], nonces[0] + 3))  # consecutive, no gaps
    assert Payout.objects.filter(status=PayoutStatus.SENT).count() == 3

    assert sorted(settle(chain_token).confirmed) == sorted(p.pk for p in payouts)
    for user, rows in zip(users, [3, 1, 2], strict=True):
        assert balance(chain_token, user) == rows * RATE
        assert ledger_balance(token=chain_token.token, code=user_code(user)) == 0
    assert set(Reward.objects.values_list("status", flat=True)) == {RewardStatus.PAID}
    assert ledger_balance(token=chain_token.token, code=PAYOUTS_PENDING) == 0
    books_match_chain(chain_token)
    # A paid reward can no longer be reversed.
    with pytest.raises(RewardError):
        reward_reverse(reward=Reward.objects.all()[0], actor=staff(), reason="x")


def test_the_minimum_and_the_pause_switch(chain_token: ChainToken, settings):
    earn(chain_token, [1])
    settings.PAYOUT_MINIMUM = RATE + 1
    assert payouts_create() == []
    settings.PAYOUT_MINIMUM = RATE
    staff = UserFactory.create(is_staff=True)
    payouts_set_paused(actor=staff, paused=True, reason="hot wallet key rotation")
    assert payouts_create() == []
    with pytest.raises(PermissionDeniedError, match="Only staff pause payouts"):
        payouts_set_paused(actor=UserFactory.create(), paused=False, reason="me")
    with pytest.raises(PayoutError) as no_reason:
        payouts_set_paused(actor=staff, paused=False, reason="  ")
    assert no_reason.value.code == "reason_required"
    payouts_set_paused(actor=staff, paused=False, reason="rotated")
    assert len(payouts_create()) == 1
    payouts_set_paused(actor=staff, paused=True, reason="again")
    assert payouts_process().sent == []  # queued, not sent while paused
    assert Payout.objects.get().status == PayoutStatus.QUEUED


def _payouts_process_killed_at_broadcast(
    monkeypatch: pytest.MonkeyPatch, *, after_sending: bool
) -> None:
    """``payouts_process`` with the process killed at the broadcast (before or after the
    transaction is sent); the broadcast is restored afterwards."""
    real: Callable[[ChainClient, str], str] = ChainClient.broadcast

    def broadcast(self: ChainClient, raw: str) -> str:
        if after_sending:
            real(self, raw)
        raise SystemExit("killed")

    with monkeypatch.context() as patch:
        patch.setattr(ChainClient, "broadcast", broadcast)
        with pytest.raises(SystemExit):
            payouts_process()


@pytest.mark.parametrize("after_sending", [False, True], ids=["before-send", "after-send"])
def test_a_payout_killed_around_sending_pays_once_after_restart(
    chain_token: ChainToken, monkeypatch: pytest.MonkeyPatch, after_sending: bool
):
    (user,) = earn(chain_token, [4])
    payouts_create()
    _payouts_process_killed_at_broadcast(monkeypatch, after_sending=after_sending)
    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.SENT and payout.tx_hash  # recorded before sending
    assert ChainClient.from_settings().transaction_known(payout.tx_hash) is after_sending

    restarted = payouts_process()  # the restarted worker
    assert restarted.rebroadcast == ([] if after_sending else [payout.pk])
    assert restarted.sent == []  # nothing new was signed
    settle(chain_token)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.CONFIRMED and len(payout.attempts) == 1
    assert balance(chain_token, user) == 4 * RATE  # once
    books_match_chain(chain_token)


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_pay_once(chain_token: ChainToken):
    users = earn(chain_token, [1, 2, 3, 4, 5])
    payouts_create()
    passes = at_once(payouts_process, payouts_process)
    assert sum(len(p.sent) for p in passes) == 5
    settle(chain_token)
    for user, rows in zip(users, [1, 2, 3, 4, 5], strict=True):
        assert balance(chain_token, user) == rows * RATE
    assert Payout.objects.filter(status=PayoutStatus.CONFIRMED).count() == 5
    books_match_chain(chain_token)


def test_a_stuck_payout_is_replaced_with_the_same_nonce_and_a_higher_fee(
    chain_token: ChainToken, settings
):
    (user,) = earn(chain_token, [2])
    payouts_create()
    rpc = chain_token.anvil.rpc_url
    rpc_call(rpc, "evm_setAutomine", [False])
    try:
        payouts_process()
        first = Payout.objects.get()
        settings.PAYOUT_STUCK_SECONDS = 0
        replaced = payouts_process()
        assert replaced.replaced == [first.pk]
        payout = Payout.objects.get()
        assert payout.nonce == first.nonce and payout.tx_hash != first.tx_hash
        assert int(payout.max_fee_per_gas) > int(first.max_fee_per_gas)
        assert [a["kind"] for a in payout.attempts] == ["first", "replacement"]
    finally:
        rpc_call(rpc, "evm_setAutomine", [True])
    chain_token.mine(1)
    settle(chain_token)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.CONFIRMED
    assert payout.mined_hash in {a["hash"] for a in payout.attempts}
    assert balance(chain_token, user) == 2 * RATE  # one of the two was mined, not both
    books_match_chain(chain_token)


def test_a_payout_whose_nonce_was_taken_fails_returns_the_money_and_can_be_retried(
    chain_token: ChainToken, monkeypatch: pytest.MonkeyPatch
):
    (user,) = earn(chain_token, [3])
    payouts_create()
    _payouts_process_killed_at_broadcast(monkeypatch, after_sending=False)
    # Meanwhile someone uses the hot wallet's key for another transaction with that nonce.
    rpc_call(
        chain_token.anvil.rpc_url,
        "eth_sendTransaction",
        [{"from": chain_token.hot_wallet.address, "to": chain_token.owner.address, "value": "0x1"}],
    )
    chain_token.mine(2)

    result = payouts_process()
    payout = Payout.objects.get()
    assert result.failed == [payout.pk] and payout.status == PayoutStatus.FAILED
    assert ledger_balance(token=chain_token.token, code=user_code(user)) == 3 * RATE
    assert payouts_create() == []  # its rewards stay with the failed payout

    with pytest.raises(PermissionDeniedError, match="Only staff retry payouts"):
        payout_retry(payout=payout, actor=user, reason="me")
    payout_retry(payout=payout, actor=UserFactory.create(is_staff=True), reason="nonce stolen")
    payouts_process()
    settle(chain_token)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.CONFIRMED
    assert balance(chain_token, user) == 3 * RATE
    books_match_chain(chain_token)


def test_only_staff_retry_a_payout_with_a_reason_and_the_refusal_answers_403_permission_denied():
    user = UserFactory.create()
    payout = Payout.objects.create(
        user=user,
        token=TokenFactory.create(),
        to_address=user.address,
        amount=5,
        status=PayoutStatus.FAILED,
    )
    with pytest.raises(PermissionDeniedError) as refused:
        payout_retry(payout=payout, actor=user, reason="mine")
    answer = exception_handler(refused.value, {})
    assert answer is not None and answer.status_code == 403
    assert answer.data == {"detail": "Only staff retry payouts.", "code": "permission_denied"}
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED
    # Staff give a reason, as for every staff money action: it goes to the ledger and audit log.
    with pytest.raises(PayoutError) as blank:
        payout_retry(payout=payout, actor=staff(), reason="  ")
    assert blank.value.code == "reason_required"
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED
    payout_retry(payout=payout, actor=staff(), reason=" nonce stolen ")
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.QUEUED
    assert LedgerTransaction.objects.get(kind=LedgerKind.PAYOUT).memo == "nonce stolen"


def test_the_books_check_catches_tokens_leaving_the_treasury_outside_the_ledger(
    chain_token: ChainToken,
):
    earn(chain_token, [1])
    books_match_chain(chain_token)
    chain_token.pay(chain_token.hot_wallet, chain_token.owner.address, 1)
    report = ledger_books_check(
        token=chain_token.token, on_chain=payout_token_balance(token=chain_token.token)
    )
    assert not report.ok and report.held - (report.on_chain or 0) == 1


def test_the_ledger_check_command_proves_the_books(chain_token: ChainToken):
    from io import StringIO

    from django.core.management import CommandError, call_command

    earn(chain_token, [2])
    payouts_create()
    payouts_process()
    out = StringIO()
    call_command("ledger_check", stdout=out)  # sent, mined, unconfirmed: in flight
    assert "OK" in out.getvalue() and "The books balance." in out.getvalue()
    settle(chain_token)
    call_command("ledger_check", stdout=StringIO())
    chain_token.pay(chain_token.hot_wallet, chain_token.owner.address, 5)  # behind our back
    with pytest.raises(CommandError, match="do not balance"):
        call_command("ledger_check", stdout=StringIO())


KILL_AFTER_BROADCAST = """
import os, signal
import django

django.setup()
from payments.integrations.chain import ChainClient
from payments.services.payouts import payouts_process

real_broadcast = ChainClient.broadcast


def broadcast(self, raw):
    real_broadcast(self, raw)
    os.kill(os.getpid(), signal.SIGKILL)  # dies with the bytes sent and nothing else recorded


ChainClient.broadcast = broadcast
payouts_process()
"""


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_right_after_sending_pays_once_after_restart(
    chain_token: ChainToken, settings
):
    """A real process, killed with SIGKILL the moment its transfer reached the node; the next
    pass (another process: this one) reconciles from the chain instead of sending again."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    (user,) = earn(chain_token, [4])
    (payout,) = payouts_create()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CHAIN_RPC_URL": settings.CHAIN_RPC_URL,
        "CHAIN_ID": str(settings.CHAIN_ID),
    }
    root = Path(__file__).resolve().parents[2]
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_BROADCAST], env=env, cwd=root, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.SENT  # recorded before the bytes went out
    assert ChainClient.from_settings().transaction_known(payout.tx_hash)

    deadline = time.monotonic() + 20
    while (restarted := payouts_process()).skipped:  # until PostgreSQL drops the dead session
        assert time.monotonic() < deadline, "the killed worker's lock was never released"
        time.sleep(0.2)
    assert restarted.sent == [] and restarted.rebroadcast == []
    settle(chain_token)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.CONFIRMED and len(payout.attempts) == 1
    assert balance(chain_token, user) == 4 * RATE  # paid once
    books_match_chain(chain_token)
