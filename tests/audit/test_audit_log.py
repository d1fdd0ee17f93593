"""The audit log: every write leaves one entry; entries cannot be changed."""

import pytest
from django.db import DatabaseError, connection, transaction

from campus_safety import clock as clock_module
from campus_safety.audit import services
from campus_safety.audit.actor import Actor, acting_as
from campus_safety.audit.models import AppendOnlyError, AuditEntry
from tests.factories import SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_creating_updating_and_deleting_a_school_each_leave_one_entry():
    user = UserFactory(role="education_staff")
    with acting_as(Actor(user=user, source_ip="10.1.2.3", channel="ui")):
        school = SchoolFactory()
        school.students = 999
        school.save()
        school.delete()
    entries = list(
        AuditEntry.objects.order_by("id").values_list("action", "username", "source_ip", "channel")
    )
    assert [e[0] for e in entries if e[0].startswith("school.")] == [
        "school.create",
        "school.update",
        "school.delete",
    ]
    assert all(
        e[1:] == (user.username, "10.1.2.3", "ui") for e in entries if e[0].startswith("school.")
    )


def test_update_entry_names_the_changed_fields():
    school = SchoolFactory(students=100)
    school.students = 200
    school.save()
    entry = AuditEntry.objects.filter(action="school.update").latest("id")
    assert entry.detail == {"fields": ["students"]}


def test_a_save_that_changes_nothing_is_not_logged():
    school = SchoolFactory()
    before = AuditEntry.objects.count()
    school.save()
    assert AuditEntry.objects.count() == before


def test_entries_cannot_be_changed_through_the_orm():
    entry = services.record("test.action")
    entry.action = "forged"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


def test_the_database_refuses_updates_even_in_raw_sql():
    entry = services.record("test.action")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE audit_auditentry SET action = 'forged' WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.action"


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the DELETE guard lives in PostgreSQL (see migration 0002)",
)
def test_postgresql_refuses_deleting_recent_entries_in_raw_sql():
    entry = services.record("test.action")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])


def test_retention_job_removes_only_entries_older_than_the_period(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 200
    clock_module.advance(days=-365)
    old = services.record("old.action")
    clock_module.reset()
    recent = services.record("recent.action")
    assert services.purge_expired() >= 1
    assert not AuditEntry.objects.filter(pk=old.pk).exists()
    assert AuditEntry.objects.filter(pk=recent.pk).exists()


def test_retention_shorter_than_180_days_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.AUDIT_RETENTION_DAYS = 90
    with pytest.raises(ImproperlyConfigured, match="180"):
        services.purge_expired()


def test_only_auditors_and_superusers_can_read_the_log():
    services.record("x")
    assert AuditEntry.objects.visible_to(UserFactory(role="auditor")).exists()
    assert not AuditEntry.objects.visible_to(UserFactory(role="dispatcher")).exists()
