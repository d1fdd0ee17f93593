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


def test_only_auditors_can_read_the_log():
    services.record("x")
    assert AuditEntry.objects.visible_to(UserFactory(role="auditor")).exists()
    assert not AuditEntry.objects.visible_to(UserFactory(role="dispatcher")).exists()
    superuser = UserFactory(role="system_admin", is_superuser=True)
    assert not AuditEntry.objects.visible_to(superuser).exists()  # 三权分立


def test_purge_expired_command_applies_every_retention_policy(clock, settings):
    from django.core.management import call_command

    from campus_safety.accounts.models import ApiToken
    from campus_safety.accounts.tokens import create_token

    settings.DATA_RETENTION_DAYS = {"expired_api_tokens": 30}
    user = UserFactory()
    clock_module.advance(days=-400)
    old_token, _ = create_token(user, "old", days=1)
    clock_module.reset()
    fresh_token, _ = create_token(user, "fresh", days=1)
    call_command("purge_expired")
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [fresh_token.pk]
    assert old_token.pk != fresh_token.pk


def test_a_retention_below_a_kinds_minimum_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    from campus_safety.retention import purge_expired

    settings.DATA_RETENTION_DAYS = {"access_log": 30}
    with pytest.raises(ImproperlyConfigured, match="access_log"):
        purge_expired()


def test_auditors_browse_and_export_the_log_and_others_cannot(client, city):
    from tests.factories import sign_in

    services.record("school.update", detail={"fields": ["name"]})
    auditor = UserFactory(role="auditor", region=city)
    sign_in(client, auditor)
    page = client.get("/audit/?action=school.")
    assert page.status_code == 200 and b"school.update" in page.content
    export = client.get("/audit/export.xlsx")
    assert export.status_code == 200 and export.content.startswith(b"PK")
    assert AuditEntry.objects.filter(action="audit.export", username=auditor.username).exists()
    client.logout()
    sign_in(client, UserFactory(role="system_admin", region=city))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.xlsx").status_code == 403


def test_the_admin_cannot_change_or_delete_entries(client, city):
    from tests.factories import sign_in

    entry = services.record("x")
    sign_in(client, UserFactory(is_superuser=True, is_staff=True, region=city))
    url = f"/admin/audit/auditentry/{entry.pk}/change/"
    assert client.get(url).status_code == 403  # not even read: the auditor's (三权分立)
    client.post(url, {"action": "forged"})
    client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"})
    assert AuditEntry.objects.get(pk=entry.pk).action == "x"


def test_a_write_through_each_door_leaves_exactly_one_entry_with_its_channel(client, city):
    from tests.factories import CountyFactory, sign_in

    county = CountyFactory(code="371402", name="德城区")
    admin = UserFactory(is_superuser=True, is_staff=True, region=city)
    sign_in(client, admin)
    school = SchoolFactory(region=county)
    before = AuditEntry.objects.count()

    # Web UI: creating an API token on the tokens page.
    client.post("/accounts/tokens/", {"name": "ui-token", "days": 30})
    # Admin: changing a school's student count.
    data = {
        f.name: getattr(school, f.attname) or ""
        for f in school._meta.concrete_fields
        if f.editable and f.name != "id"
    }
    data.update(
        region=county.pk,
        students=777,
        boarders=0,
        is_boarding="",
        has_police_room="",
        police_station="",
    )
    response = client.post(f"/admin/orgs/school/{school.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    # API: changing it again.
    response = client.patch(
        f"/api/v1/schools/{school.pk}/", {"students": 778}, content_type="application/json"
    )
    assert response.status_code == 200, response.content

    new = list(
        AuditEntry.objects.order_by("id")[before:].values_list("action", "channel", "username")
    )
    assert new == [
        ("apitoken.create", "ui", admin.username),
        ("school.update", "admin", admin.username),
        ("school.update", "api", admin.username),
    ]
