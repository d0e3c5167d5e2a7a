"""Demo data for the development run: a staff account and a few contributors, each keyed by one
of anvil's public test wallets, so a newcomer can click through every flow. Safe to run again."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from marketplace.core.models import User
from marketplace.core.services import audit_log_record
from payments.integrations.anvil import dev_accounts

DEMO_ADMIN_PASSWORD = "databounty-demo-admin"  # noqa: S105 - a public demo credential, DEBUG only
DEMO_NAMES = (
    "Demo Admin",
    "Ada (contributor)",
    "Grace (contributor)",
    "Alan (sponsor)",
    "Barbara (buyer)",
    "Edsger (labeler)",
)


class Command(BaseCommand):
    help = "Create demo users keyed by anvil's test wallets (DEBUG only; idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo creates well-known demo credentials: DEBUG only.")
        created = 0
        for index, (account, name) in enumerate(zip(dev_accounts(), DEMO_NAMES, strict=False)):
            user = User.objects.filter(address=account.address).first()
            if user is not None:
                continue
            if index == 0:
                user = User.objects.create_superuser(
                    account.address, password=DEMO_ADMIN_PASSWORD, display_name=name
                )
            else:
                user = User.objects.create_user(account.address, display_name=name)
            audit_log_record(action="demo.user_created", target=user, data={"name": name})
            created += 1
        admin = dev_accounts()[0].address
        self.stdout.write(
            f"demo users: {created} created, {len(DEMO_NAMES) - created} already there"
        )
        self.stdout.write(f"demo admin: {admin} / password {DEMO_ADMIN_PASSWORD} at /admin/")
