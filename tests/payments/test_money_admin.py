"""Money in Django admin: read-only books, and staff actions that need a reason and are
written to the audit log (compute epochs, reverse a reward, pause payouts, retry a payout,
change a bounty's schedule, rename or stop accepting a token). A funded bounty's money and a
token's chain, address and decimals never change here, even through a crafted POST."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from eth_account import Account

from marketplace.core.models import AuditLog
from payments.enums import PayoutStatus, RewardStatus
from payments.integrations.dev_tools import DevChainClient
from payments.models import Bounty, Payout, PayoutControl, Reward, RewardEpoch, Token
from payments.services.payouts import payouts_create
from tests.admin_forms import admin_action, post_change_form
from tests.factories import (
    DatasetFactory,
    TokenFactory,
    UserFactory,
    contribution_with_items,
    funded,
    in_epoch,
    ready_release,
)
from tests.payments.test_bounty_schedule import (
    START,
    assert_windows_tile_the_bounty,
    compute_until,
    running_bounty,
)

pytestmark = pytest.mark.django_db


act = partial(admin_action, app="payments")


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


def test_admin_revokes_a_license_with_a_reason(admin_client):
    from payments.models import LicenseGrant
    from payments.services.licenses import license_claim_free, license_tier_create
    from tests.factories import DatasetFactory

    dataset = DatasetFactory.create()
    ready_release(dataset)
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


def bounty_url(bounty: Bounty) -> str:
    return f"/admin/payments/bounty/{bounty.pk}/change/"


def test_a_funded_bounty_s_money_cannot_change_even_through_a_crafted_admin_post(admin_client):
    bounty = running_bounty()
    compute_until(bounty, START + timedelta(hours=2))
    before = Bounty.objects.values().get(pk=bounty.pk)
    other_token, other_dataset = TokenFactory.create(), DatasetFactory.create()

    response = post_change_form(
        admin_client,
        bounty_url(bounty),
        reason="crafted",
        pool_amount="1",
        token=str(other_token.pk),
        rate_per_row="999999",
        rate_per_label="5",
        pays_for="both",
        dataset=str(other_dataset.pk),
        sponsor=str(admin_client.session["_auth_user_id"]),
        starts_at_0=(START + timedelta(minutes=25)).strftime("%Y-%m-%d"),
        starts_at_1=(START + timedelta(minutes=25)).strftime("%H:%M:%S"),
        epochs_computed="0",
        status="cancelled",
        title="Renamed",
    )

    assert response.status_code == 200
    assert Bounty.objects.values().get(pk=bounty.pk) == before
    assert not AuditLog.objects.filter(action="bounty.schedule_changed").exists()
    page = admin_client.get(bounty_url(bounty)).content.decode()
    for fixed in ("pool_amount", "token", "rate_per_row", "pays_for", "starts_at_0"):
        assert f'name="{fixed}"' not in page, fixed
    assert 'name="epoch_length"' in page and 'name="ends_at_0"' in page


def test_admin_changes_a_bounty_schedule_only_with_a_reason_and_windows_stay_contiguous(
    admin_client,
):
    bounty = running_bounty()
    compute_until(bounty, START + timedelta(hours=2))
    new_end = START + timedelta(hours=4)
    change = {
        "ends_at_0": new_end.strftime("%Y-%m-%d"),
        "ends_at_1": new_end.strftime("%H:%M:%S"),
        "epoch_length": "00:30:00",
    }

    response = post_change_form(admin_client, bounty_url(bounty), reason="", **change)
    assert "Give a reason: it goes to the audit log." in response.content.decode()
    assert Bounty.objects.get(pk=bounty.pk).epoch_length == timedelta(hours=1)

    post_change_form(admin_client, bounty_url(bounty), reason="sponsor's request", **change)
    bounty.refresh_from_db()
    assert (bounty.epoch_length, bounty.ends_at) == (timedelta(minutes=30), new_end)
    entry = AuditLog.objects.get(action="bounty.schedule_changed")
    assert entry.data["reason"] == "sponsor's request"
    compute_until(bounty, START + timedelta(hours=11))
    epochs = assert_windows_tile_the_bounty(bounty)
    assert [e.period_end - START for e in epochs] == [
        timedelta(minutes=m) for m in (60, 120, 150, 180, 210, 240)
    ]


def test_admin_refuses_an_end_before_the_computed_windows_with_a_message(admin_client):
    bounty = running_bounty()
    compute_until(bounty, START + timedelta(hours=3))
    early = START + timedelta(hours=1)

    response = post_change_form(
        admin_client,
        bounty_url(bounty),
        reason="shorten",
        ends_at_0=early.strftime("%Y-%m-%d"),
        ends_at_1=early.strftime("%H:%M:%S"),
    )

    assert response.status_code == 200
    assert "cannot move before that" in response.content.decode()
    assert Bounty.objects.get(pk=bounty.pk).ends_at == START + timedelta(hours=10)
    assert not AuditLog.objects.filter(action="bounty.schedule_changed").exists()


def token_url(token: Token) -> str:
    return f"/admin/payments/token/{token.pk}/change/"


def test_a_token_s_chain_address_and_decimals_cannot_change_in_admin(admin_client):
    token = TokenFactory.create(decimals=18, symbol="DBT")
    address = token.address

    response = post_change_form(admin_client, token_url(token), symbol="DBX", reason="")
    assert "Give a reason" in response.content.decode()
    assert Token.objects.get(pk=token.pk).symbol == "DBT"

    post_change_form(
        admin_client,
        token_url(token),
        symbol="DBX",
        reason="the issuer renamed it",
        decimals="6",
        address=Account.create().address,
        chain_id="1",
    )

    token.refresh_from_db()
    assert (token.symbol, token.decimals, token.address, token.chain_id) == (
        "DBX",
        18,
        address,
        31337,
    )
    entry = AuditLog.objects.get(action="token.updated")
    assert entry.data["symbol"] == {"from": "DBT", "to": "DBX"}
    assert entry.data["reason"] == "the issuer renamed it"


def test_staff_stop_accepting_a_token_with_a_reason(admin_client):
    token = TokenFactory.create()
    act(admin_client, "token", "deactivate", [token.pk], reason="")
    assert Token.objects.get(pk=token.pk).is_active
    act(admin_client, "token", "deactivate", [token.pk], reason="issuer paused transfers")
    assert not Token.objects.get(pk=token.pk).is_active
    assert AuditLog.objects.get(action="token.updated").data["is_active"] == {
        "from": True,
        "to": False,
    }


def test_adding_a_token_in_admin_reads_its_decimals_from_the_contract(
    admin_client, anvil, dev_wallets
):
    owner = dev_wallets[0]
    address = DevChainClient.from_settings().deploy_contract(
        artifact="DataBountyToken",
        args=["Six decimals", "SIX", 6, owner.address],
        private_key=owner.private_key,
    )

    page = admin_client.get("/admin/payments/token/add/").content.decode()
    assert 'name="decimals"' not in page and 'name="address"' in page
    admin_client.post(
        "/admin/payments/token/add/",
        {"address": address.lower(), "decimals": "18", "symbol": "FAKE", "_save": "Save"},
    )

    token = Token.objects.get(address=address)
    assert (token.symbol, token.decimals, token.chain_id) == ("SIX", 6, anvil.chain_id)
    assert AuditLog.objects.filter(action="token.registered", target_id=str(token.pk)).exists()
