"""Make the audit log append-only in the database itself: no client, ORM or raw SQL, may
UPDATE or DELETE a row. (TRUNCATE, used only by test teardown, is a separate privilege.)"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION core_auditlog_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_auditlog is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER core_auditlog_append_only
    BEFORE UPDATE OR DELETE ON core_auditlog
    FOR EACH ROW EXECUTE FUNCTION core_auditlog_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS core_auditlog_append_only ON core_auditlog;
DROP FUNCTION IF EXISTS core_auditlog_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
