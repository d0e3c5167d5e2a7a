"""Earnings in a real browser: a contributor whose rows and labels were rewarded and paid on
anvil reads their balance, rewards, payouts and a receipt that explains one reward."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from payments.models import Reward
from payments.services.bounties import bounty_funding_credit
from payments.services.payouts import payouts_create, payouts_process
from payments.services.rewards import reward_epoch_compute
from payments.templatetags.money import format_amount, format_amount_short
from tests.browser.conftest import TestWallet
from tests.chain import ChainToken
from tests.factories import (
    BountyFactory,
    UserFactory,
    contribution_with_items,
    credibility,
    decided_item,
    in_epoch,
)

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]

UNIT = 10**6  # the test dollar has 6 decimals


def test_a_contributor_reads_earnings_payouts_and_a_receipt(
    page: Page,
    mobile_page: Page,
    wallet: TestWallet,
    chain_token: ChainToken,
    sign_in: Callable[..., None],
    screenshot: Callable[..., Path],
):
    user = UserFactory.create(address=wallet.account.address, display_name="Ada Lovelace")
    credibility(user, 0.95)
    paid: list[Reward] = []
    pending: list[Reward] = []
    for title, bucket in (("Review sprint, March", paid), ("Review sprint, April", pending)):
        pool = 1_000 * UNIT
        chain_token.mint(chain_token.hot_wallet.address, pool)
        bounty = BountyFactory.create(
            title=title, token=chain_token.token, pool_amount=pool,
            rate_per_row=2 * UNIT, rate_per_label=UNIT // 2,
        )  # fmt: skip
        bounty_funding_credit(bounty=bounty, amount=pool, reference=f"minted:{bounty.pk}")
        contribution_with_items(
            bounty.dataset, user, [1.0, 1.0, 0.7, 0.4], validated_at=in_epoch(bounty)
        )
        for _ in range(6):
            decided_item(bounty.dataset, {user: "positive"}, "positive", in_epoch(bounty))
        reward_epoch_compute(bounty_id=bounty.pk)
        bucket.append(Reward.objects.get(bounty=bounty))
        if bucket is paid:
            payouts_create()
            payouts_process()
            chain_token.mine(2)
            payouts_process()

    sign_in(page, user)
    page.goto("/me/earnings/")
    rewards = page.locator("#rewards tbody tr")
    expect(rewards).to_have_count(2)
    expect(page.locator("#rewards")).to_contain_text("Review sprint, April")
    expect(page.locator("#payouts")).to_contain_text("Confirmed")
    balance = page.locator("#balances .stat__value")
    # Rounded to two places for reading; the exact amount is the title.
    expect(balance).to_contain_text(format_amount_short(pending[0].payable_amount, 6, "tUSD"))
    exact = format_amount(pending[0].payable_amount, 6, "tUSD")
    if exact != format_amount_short(pending[0].payable_amount, 6, "tUSD"):
        expect(balance.locator(".amount")).to_have_attribute("title", f"{exact} (exact)")
    screenshot(page, "earnings")

    page.get_by_role("link", name="Receipt for Review sprint, April, epoch 1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("tUSD")
    expect(page.locator("#row-lines")).to_contain_text("rows.csv")
    expect(page.locator("#label-basis")).to_contain_text("6")
    expect(page.locator("#cap-note")).to_contain_text("covered everyone")
    screenshot(page, "reward-receipt")

    sign_in(mobile_page, user)
    mobile_page.goto("/me/earnings/")
    expect(mobile_page.locator("#rewards tbody tr")).to_have_count(2)
    screenshot(mobile_page, "earnings-mobile")
