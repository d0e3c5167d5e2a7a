import pytest
from django.db import IntegrityError, connection, transaction

from marketplace.core.models import AuditLog
from marketplace.core.services import audit_log_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_audit_entry_records_who_what_and_on_which_object():
    actor = UserFactory.create()
    target = UserFactory.create()
    entry = audit_log_record(action="user.ban", actor=actor, target=target, data={"reason": "spam"})
    entry.refresh_from_db()
    assert entry.actor == actor
    assert (entry.target_type, entry.target_id) == ("core.user", str(target.pk))
    assert entry.data == {"reason": "spam"}
    assert entry.created_at is not None


def test_audit_entries_cannot_be_changed_through_the_orm():
    entry = audit_log_record(action="user.ban")
    entry.action = "user.unban"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


def test_database_trigger_refuses_update_and_delete_from_any_client():
    entry = audit_log_record(action="payout.sent", data={"amount": "1000000"})
    for statement in (
        "UPDATE core_auditlog SET action = 'forged' WHERE id = %s",
        "DELETE FROM core_auditlog WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.pk])
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(action="forged")
    entry.refresh_from_db()
    assert entry.action == "payout.sent"


def test_admin_shows_the_audit_log_read_only(admin_client):
    audit_log_record(action="dataset.approve")
    listing = admin_client.get("/admin/core/auditlog/")
    assert listing.status_code == 200
    assert b"dataset.approve" in listing.content
    assert admin_client.get("/admin/core/auditlog/add/").status_code == 403
