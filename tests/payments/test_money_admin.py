"""Money in Django admin: read-only books, and staff actions that need a reason and are
written to the audit log (compute epochs, reverse a reward, pause payouts, retry a payout)."""

from __future__ import annotations

import pytest

from marketplace.core.models import AuditLog
from payments.enums import PayoutStatus, RewardStatus
from payments.models import Payout, PayoutControl, Reward, RewardEpoch
from payments.services.payouts import payouts_create
from tests.factories import UserFactory
from tests.payments.test_rewards import contribution_with_items, funded, in_epoch

pytestmark = pytest.mark.django_db


def act(admin_client, model: str, action: str, pks: list[int], reason: str = "ok"):  # type: ignore[no-untyped-def]
    return admin_client.post(
        f"/admin/payments/{model}/",
        {"action": action, "_selected_action": pks, "reason": reason},
        follow=True,
    )


def earned() -> Reward:
    bounty = funded(pays_for="rows", rate_per_row=7, rate_per_label=0)
    contribution_with_items(
        bounty.dataset, UserFactory.create(), [1.0], validated_at=in_epoch(bounty)
    )
    return bounty  # type: ignore[return-value]


def test_admin_computes_due_epochs_and_reverses_a_reward(admin_client):
    bounty = earned()
    act(admin_client, "bounty", "compute_epochs", [bounty.pk])
    assert RewardEpoch.objects.count() == 1
    reward = Reward.objects.get()
    response = act(admin_client, "reward", "reverse", [reward.pk], reason="")
    assert "Give a reason" in response.content.decode()
    assert Reward.objects.get().status == RewardStatus.EARNED
    act(admin_client, "reward", "reverse", [reward.pk], reason="sybil farm")
    assert Reward.objects.get().status == RewardStatus.REVERSED
    assert AuditLog.objects.get(action="reward.reversed").data["reason"] == "sybil farm"
    for page in ("reward", "rewardepoch", "ledgertransaction", "bounty", "payout"):
        assert admin_client.get(f"/admin/payments/{page}/").status_code == 200
    assert admin_client.get("/admin/payments/ledgertransaction/add/").status_code == 403


def test_admin_pauses_payouts_and_retries_a_failed_one(admin_client):
    bounty = earned()
    act(admin_client, "bounty", "compute_epochs", [bounty.pk])
    (payout,) = payouts_create()
    act(admin_client, "payout", "pause_all", [payout.pk], reason="key rotation")
    assert PayoutControl.objects.get().paused
    assert AuditLog.objects.filter(action="payouts.paused").exists()
    act(admin_client, "payout", "resume_all", [payout.pk], reason="done")
    assert not PayoutControl.objects.get().paused

    act(admin_client, "payout", "retry", [payout.pk], reason="try")
    assert Payout.objects.get().status == PayoutStatus.QUEUED  # not failed: refused, unchanged
    assert not AuditLog.objects.filter(action="payout.retried").exists()


def test_admin_revokes_a_licence_with_a_reason(admin_client):
    from payments.models import LicenseGrant
    from payments.services.licences import license_claim_free, license_tier_create
    from tests.factories import DatasetFactory
    from tests.payments.test_purchases import release

    dataset = DatasetFactory.create()
    release(dataset)
    tier = license_tier_create(
        dataset=dataset, actor=dataset.owner, name="Research", spdx_id="CC-BY-NC-4.0"
    )
    grant = license_claim_free(buyer=UserFactory.create(), tier=tier)
    for page in ("purchase", "licensegrant", "licensetier"):
        assert admin_client.get(f"/admin/payments/{page}/").status_code == 200
    assert admin_client.get(f"/admin/payments/licensegrant/{grant.pk}/change/").status_code == 200
    act(admin_client, "licensegrant", "revoke", [grant.pk], reason="")
    assert LicenseGrant.objects.get().revoked_at is None
    act(admin_client, "licensegrant", "revoke", [grant.pk], reason="leaked the data")
    assert LicenseGrant.objects.get().revoke_reason == "leaked the data"
    assert AuditLog.objects.filter(action="license.revoked").exists()
