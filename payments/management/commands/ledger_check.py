"""Prove the books: every ledger transaction balances, and what the ledger says the platform
holds of each token is what the treasury (and hot wallet) hold on chain. Exits 1 otherwise."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Sum

from payments.enums import PayoutStatus
from payments.integrations.chain import ChainError
from payments.models import Payout, Token
from payments.services.ledger import ledger_books_check
from payments.services.payouts import payout_token_balance
from payments.templatetags.money import format_amount


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-chain", action="store_true", help="Check the ledger alone, not the chain."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        failed = []
        for token in Token.objects.order_by("pk"):
            in_flight = int(
                Payout.objects.filter(token=token, status=PayoutStatus.SENT).aggregate(
                    total=Sum("amount")
                )["total"]
                or 0
            )
            on_chain = None
            if not options["no_chain"]:
                try:
                    on_chain = payout_token_balance(token=token)
                except ChainError as exc:
                    raise CommandError(f"{token}: cannot read the chain: {exc.detail}") from exc
            report = ledger_books_check(token=token, on_chain=on_chain, in_flight=in_flight)

            def show(amount: int, token: Token = token) -> str:
                return format_amount(amount, token.decimals, token.symbol)

            self.stdout.write(f"{token}")
            self.stdout.write(f"  transactions      {report.transactions}")
            self.stdout.write(f"  unbalanced        {report.unbalanced or 'none'}")
            self.stdout.write(f"  ledger holds      {show(report.held)}")
            if on_chain is not None:
                self.stdout.write(f"  chain holds       {show(on_chain)}")
                self.stdout.write(f"  payouts in flight {show(in_flight)}")
            self.stdout.write("  " + ("OK" if report.ok else "MISMATCH"))
            if not report.ok:
                failed.append(str(token))
        if failed:
            raise CommandError(f"The books do not balance for: {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS("The books balance."))
