"""SIWE nonces and API tokens now belong to ``accounts`` (its 0001 took them into its state on
the same tables): drop them from payments' state only. No table, row or constraint changes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0008_alter_ledgertransaction_kind"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ApiToken"),
                migrations.DeleteModel(name="SiweNonce"),
            ],
            database_operations=[],
        ),
    ]
