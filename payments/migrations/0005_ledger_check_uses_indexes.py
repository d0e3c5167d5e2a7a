"""The balanced-transaction trigger runs once per new ledger entry. Its plan must not depend on
how big the ledger looked when the plan was first made: on a new database the cached plan
scanned every entry for each new one (a reward epoch's first run took 18 s instead of 2 s).
Inside this function only, sequential scans are off, so the transaction_id index is used."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payments", "0004_funding_payouts")]

    operations = [
        migrations.RunSQL(
            "ALTER FUNCTION payments_ledger_check_balanced() SET enable_seqscan = off",
            "ALTER FUNCTION payments_ledger_check_balanced() RESET enable_seqscan",
        )
    ]
