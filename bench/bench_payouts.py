"""Payouts per minute for 1,000 contributors on anvil, beside plain token transfers.

    .venv/bin/python -m bench.bench_payouts [--contributors 1000] [--repeat 3]

Starts its own anvil (loopback, free port) and its own database `bench_payouts`, deploys the
test token, and per run: gives each contributor one earned reward (a funded bounty, one accepted
row each, one reward epoch), then times the whole payout path through the real services —
`payouts_create` (grouping, ledger) and `payouts_process` passes (nonce, signing, the record
committed before each broadcast) until every payout is confirmed on chain. Baseline, same run,
same chain: the same number of `ChainClient.token_transfer` calls from one key (estimate, sign,
send; no database, no bookkeeping). Prints medians, payouts per minute and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import timedelta
from typing import Any

from bench.measure import accepted_contribution
from bench.scratch_db import drop_database, recreate_database

DB_NAME = "bench_payouts"


def earn(token: Any, contributors: int, run: int) -> None:
    """One earned reward per contributor, through a funded bounty and a real reward epoch."""
    from django.utils import timezone
    from eth_account import Account

    from datasets_app.models import Contribution, Dataset, Item
    from marketplace.core.models import User
    from payments.services.bounties import bounty_create, bounty_funding_credit
    from payments.services.rewards import reward_epoch_compute

    now = timezone.now()
    owner = User.objects.create_user(Account.create().address)
    dataset = Dataset.objects.create(
        owner=owner,
        title=f"Bench {run}",
        slug=f"bench-{run}",
        modality="text",
        columns=[{"name": "text", "dtype": "string"}],
        label_task="single_label",
        label_classes=["a", "b"],
        status="open",
    )
    pool = contributors * 10**6
    bounty = bounty_create(
        dataset=dataset,
        sponsor=owner,
        title="bench",
        token=token,
        pays_for="rows",
        rate_per_row=10**6,
        rate_per_label=0,
        pool_amount=pool,
        starts_at=now - timedelta(hours=2),
        ends_at=now - timedelta(hours=1),
        epoch_length=timedelta(hours=1),
    )
    bounty_funding_credit(bounty=bounty, amount=pool, reference=f"bench:{run}")
    users = User.objects.bulk_create(
        User(address=Account.create().address) for _ in range(contributors)
    )
    contributions = Contribution.objects.bulk_create(
        accepted_contribution(
            i,
            dataset=dataset,
            contributor=user,
            sha256=f"{run:08x}{i:056x}",  # unique across the runs in one database
            validated_at=now - timedelta(minutes=90),
        )
        for i, user in enumerate(users)
    )
    Item.objects.bulk_create(
        Item(dataset=dataset, contribution=c, data={"text": str(c.pk)}, content_hash=f"{c.pk:064x}")
        for c in contributions
    )
    assert reward_epoch_compute(bounty_id=bounty.pk) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contributors", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from payments.integrations.anvil import AnvilNode, dev_accounts

    recreate_database(DB_NAME)
    node = AnvilNode().start()
    try:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
                "CHAIN_RPC_URL": node.rpc_url,
                "CHAIN_ID": str(node.chain_id),
                "CHAIN_CONFIRMATIONS": "1",
                "CELERY_TASK_ALWAYS_EAGER": "1",
                "DJANGO_LOG_LEVEL": "WARNING",
            }
        )
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from payments.enums import PayoutStatus
        from payments.integrations.dev_tools import DevChainClient
        from payments.models import Payout
        from payments.services.ledger import ledger_books_check
        from payments.services.payouts import (
            payout_token_balance,
            payouts_create,
            payouts_process,
        )
        from payments.services.tokens import token_register

        call_command("migrate", verbosity=0)
        deployer = dev_accounts()[0]
        client = DevChainClient.from_settings()
        address = client.deploy_contract(
            artifact="DataBountyToken",
            args=["Bench dollar", "bUSD", 6, deployer.address],
            private_key=deployer.private_key,
        )
        client = client.with_token(address)
        token = token_register(address=address, client=client)
        hot = DevChainClient.address_for_key(settings.HOT_WALLET_PRIVATE_KEY)
        settings.PAYOUT_BATCH_SIZE = args.contributors
        recipients = [a.address for a in dev_accounts()[1:]]
        print(f"{args.contributors:,} contributors per run, {os.cpu_count()} CPUs, anvil automine")

        feature, baseline = [], []
        for run in range(args.repeat):
            # Tokens for this run's payouts (as a verified funding would have brought) and for
            # the baseline's sender.
            for to in (hot, deployer.address):
                client.wait_for_receipt(
                    client.token_mint(
                        private_key=deployer.private_key, to=to, amount=args.contributors * 10**6
                    )
                )
            earn(token, args.contributors, run)

            began = time.perf_counter()
            created = payouts_create()
            while Payout.objects.exclude(status=PayoutStatus.CONFIRMED).exists():
                payouts_process()
            feature.append(time.perf_counter() - began)
            assert len(created) == args.contributors

            began = time.perf_counter()
            last = ""
            for i in range(args.contributors):
                last = client.token_transfer(
                    private_key=deployer.private_key, to=recipients[i % len(recipients)], amount=1
                )
            client.wait_for_receipt(last)
            baseline.append(time.perf_counter() - began)
            print(
                f"run {run + 1}: payouts {feature[-1]:.1f} s "
                f"({args.contributors / feature[-1] * 60:,.0f}/min), plain transfers "
                f"{baseline[-1]:.1f} s ({args.contributors / baseline[-1] * 60:,.0f}/min)",
                flush=True,
            )
        report = ledger_books_check(token=token, on_chain=payout_token_balance(token=token))
        f_med, b_med = statistics.median(feature), statistics.median(baseline)
        print(f"median payouts:         {f_med:.1f} s, {args.contributors / f_med * 60:,.0f}/min")
        print(f"median plain transfers: {b_med:.1f} s, {args.contributors / b_med * 60:,.0f}/min")
        print(f"ratio payouts / plain transfers (time): {f_med / b_med:.2f}x")
        print(f"confirmed payouts: {Payout.objects.filter(status='confirmed').count():,}; "
              f"books match the chain: {report.ok}")  # fmt: skip
        from django.db import connections

        connections.close_all()
    finally:
        node.stop()
        drop_database(DB_NAME)


if __name__ == "__main__":
    main()
