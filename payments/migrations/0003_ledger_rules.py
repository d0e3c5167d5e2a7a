"""The ledger's rules in the database itself: entries and transactions are append-only, and
every transaction's entries sum to zero in one token (checked at commit, so a transaction's
entries can be inserted one by one)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION payments_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payments_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON payments_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_refuse_change();
CREATE TRIGGER payments_ledgertransaction_append_only
    BEFORE UPDATE OR DELETE ON payments_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_refuse_change();

CREATE OR REPLACE FUNCTION payments_ledger_check_balanced() RETURNS trigger AS $$
DECLARE
    total numeric;
    mixed integer;
BEGIN
    SELECT coalesce(sum(e.amount), 0),
           count(*) FILTER (WHERE a.token_id <> t.token_id)
      INTO total, mixed
      FROM payments_ledgerentry e
      JOIN payments_ledgeraccount a ON a.id = e.account_id
      JOIN payments_ledgertransaction t ON t.id = e.transaction_id
     WHERE e.transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', NEW.transaction_id, total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF mixed > 0 THEN
        RAISE EXCEPTION 'ledger transaction % mixes tokens', NEW.transaction_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER payments_ledgerentry_balanced
    AFTER INSERT ON payments_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_check_balanced();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS payments_ledgerentry_balanced ON payments_ledgerentry;
DROP FUNCTION IF EXISTS payments_ledger_check_balanced();
DROP TRIGGER IF EXISTS payments_ledgerentry_append_only ON payments_ledgerentry;
DROP TRIGGER IF EXISTS payments_ledgertransaction_append_only ON payments_ledgertransaction;
DROP FUNCTION IF EXISTS payments_ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_bounties_ledger_rewards")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
