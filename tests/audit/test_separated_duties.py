"""三权分立 (等保2.0, GB/T 22239-2019 8.1.4.2): the system administrator, the security
administrator and the auditor are separate, and only the auditor reads the audit log —
a superuser (the demo's ``admin``) included, as the role table and docs/security.md say
(issue #14 item 12)."""

import pytest

from campus_safety.accounts.models import User
from campus_safety.accounts.roles import ACTIONS, PERMISSIONS, can
from campus_safety.audit import services
from campus_safety.audit.models import AuditEntry
from tests.factories import UserFactory, sign_in


@pytest.fixture
def superuser(city):
    """The demo's ``admin``: the platform's system administrator, a Django superuser."""
    return UserFactory(role=User.Role.SYSTEM_ADMIN, is_superuser=True, is_staff=True, region=city)


def test_a_superuser_cannot_read_or_export_the_audit_log(client, superuser):
    entry = services.record("school.update")
    sign_in(client, superuser)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.xlsx").status_code == 403
    assert client.get("/admin/audit/auditentry/").status_code == 403
    assert client.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 403
    assert not AuditEntry.objects.visible_to(superuser).exists()


def test_the_admin_index_does_not_offer_the_audit_log_to_a_superuser(client, superuser):
    sign_in(client, superuser)
    page = client.get("/admin/").content.decode()
    assert "/admin/audit/auditentry/" not in page
    assert "/admin/orgs/school/" in page  # the rest of the admin is theirs


def test_a_superuser_may_do_with_the_audit_log_only_what_its_role_may(city):
    for role, _ in User.Role.choices:
        user = UserFactory(role=role, is_superuser=True, is_staff=True, region=city)
        granted = PERMISSIONS.get(role, {}).get("audit", set())
        assert {a for a in ACTIONS if can(user, a, "audit")} == granted, role


def test_the_auditor_still_reads_the_log(client, city):
    services.record("school.update")
    auditor = UserFactory(role=User.Role.AUDITOR, region=city)
    sign_in(client, auditor)
    assert client.get("/audit/").status_code == 200
    assert AuditEntry.objects.visible_to(auditor).exists()
