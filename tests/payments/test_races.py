"""One transaction hash confirmed at once for two orders (or two bounties): real concurrent
requests on their own PostgreSQL connections, so the unique key itself decides. The loser gets
409 ``tx_already_used`` as JSON, never a 500, and nothing of its attempt is stored.

What is real: PostgreSQL, two threads each with its own connection and transaction, the API
views and services. The first request is held just after its row is written (uncommitted)
until the second one is seen waiting on that row's lock in ``pg_stat_activity``: without the
hold the second could arrive after the first commit and be refused by the earlier ``exists()``
check, and the constraint would never be exercised. The verification tasks' enqueue is patched
out: no worker is part of this test."""

from __future__ import annotations

import threading
import time
from typing import Any
from unittest.mock import patch

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from marketplace.core.models import AuditLog
from marketplace.core.services import audit_log_record
from payments.enums import BountyStatus, PurchaseStatus
from payments.models import Bounty, BountyFunding, Purchase
from tests.factories import (
    BountyFactory,
    DatasetFactory,
    TokenFactory,
    UserFactory,
    at_once,
    commercial_tier,
    ready_release,
)

pytestmark = pytest.mark.django_db(transaction=True)

TX = "0x" + "5a" * 32


def _another_connection_waits_on_a_lock(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh view in this transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            row = cursor.fetchone()
            if row and row[0]:
                return True
            time.sleep(0.02)
    return False


class FirstWriterWaits:
    """Stands in for ``audit_log_record`` in a service module: its first caller (whose row is
    written but not committed) waits until the other request blocks on that row's unique key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first = True
        self.saw_a_waiter = False

    def __call__(self, **kwargs: Any) -> AuditLog:
        with self._lock:
            first, self._first = self._first, False
        if first:
            self.saw_a_waiter = _another_connection_waits_on_a_lock()
        return audit_log_record(**kwargs)


def logged_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)  # a 500 is an answer here, not a crash
    client.force_login(user)
    return client


def race(service: str, task: str, post: Any) -> tuple[list[Any], int]:
    """``post(0)`` and ``post(1)`` sent at once, the first writer held in ``service`` until the
    other waits on its row; ``task``'s enqueue patched out. Asserts one 202 and one 409 and
    returns the responses and the loser's index."""
    gate = FirstWriterWaits()
    with patch(f"{service}.audit_log_record", gate), patch(f"{task}.delay"):
        responses = at_once(lambda: post(0), lambda: post(1))

    assert gate.saw_a_waiter, "the second request never reached the unique key"
    assert sorted(r.status_code for r in responses) == [202, 409], [
        (r.status_code, r.content[:300]) for r in responses
    ]
    return responses, next(n for n, r in enumerate(responses) if r.status_code == 409)


def test_one_hash_confirmed_at_once_for_two_orders_answers_409_to_the_loser(settings):
    dataset = DatasetFactory.create()
    ready_release(dataset)
    tier = commercial_tier(
        dataset, token=TokenFactory.create(chain_id=settings.CHAIN_ID), price=10**6
    )
    buyers = UserFactory.create_batch(2)
    orders = [
        logged_in(buyer)
        .post(reverse("api-purchases"), {"license": tier.pk}, content_type="application/json")
        .json()["id"]
        for buyer in buyers
    ]
    clients = [logged_in(buyer) for buyer in buyers]

    def confirm(n: int) -> Any:
        url = reverse("api-purchase-confirm", kwargs={"purchase_id": orders[n]})
        return clients[n].post(url, {"tx_hash": TX}, content_type="application/json")

    responses, loser = race(
        "payments.services.purchases", "payments.tasks.verify_purchase", confirm
    )
    body = responses[loser].json()
    assert body["code"] == "tx_already_used" and body["detail"]
    winner = Purchase.objects.get(pk=orders[1 - loser])
    lost = Purchase.objects.get(pk=orders[loser])
    assert (winner.status, winner.tx_hash) == (PurchaseStatus.CONFIRMING, TX)
    assert (lost.status, lost.tx_hash) == (PurchaseStatus.AWAITING_PAYMENT, "")
    submitted = AuditLog.objects.filter(action="purchase.payment_submitted")
    assert list(submitted.values_list("target_id", flat=True)) == [str(winner.pk)]


def test_one_hash_submitted_at_once_for_two_bounties_answers_409_to_the_loser(settings):
    token = TokenFactory.create(chain_id=settings.CHAIN_ID)
    bounties = [BountyFactory.create(token=token) for _ in range(2)]
    clients = [logged_in(bounty.sponsor) for bounty in bounties]

    def fund(n: int) -> Any:
        url = reverse("api-bounty-fund", kwargs={"bounty_id": bounties[n].pk})
        return clients[n].post(url, {"tx_hash": TX}, content_type="application/json")

    responses, loser = race(
        "payments.services.funding", "payments.tasks.verify_bounty_funding", fund
    )
    assert responses[loser].json()["code"] == "tx_already_used"
    assert responses[loser].json()["detail"]
    assert list(BountyFunding.objects.values_list("bounty_id", flat=True)) == [
        bounties[1 - loser].pk
    ]
    statuses = {b.pk: b.status for b in Bounty.objects.all()}
    assert statuses[bounties[loser].pk] == BountyStatus.AWAITING_FUNDING
    assert statuses[bounties[1 - loser].pk] == BountyStatus.VERIFYING
    submitted = AuditLog.objects.filter(action="bounty.funding_submitted")
    assert list(submitted.values_list("target_id", flat=True)) == [str(bounties[1 - loser].pk)]
