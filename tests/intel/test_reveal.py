"""The audited reveal of involved persons: police only, in scope, with a reason; every
reveal (and every refusal) is an audit entry, and the full data is never cached."""

from __future__ import annotations

import pytest
from django.utils import translation

from campus_safety.audit.models import AuditEntry
from tests.factories import UserFactory, sign_in

from .support import incident

pytestmark = pytest.mark.django_db

FULL_ID = "371402200801011234"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def case(world):
    inc = incident(
        lat=world["school"].latitude,
        lon=world["school"].longitude,
        persons=[
            {"role": "suspect", "name": "张三丰", "id_number": FULL_ID, "phone": "13912345678"},
            {"role": "victim", "name": "李小龙", "is_minor": True},
        ],
    )
    return inc, list(inc.persons.order_by("pk"))


def test_officer_reveals_a_person_with_a_reason_and_it_is_audited(client, world, case):
    inc, (suspect, _victim) = case
    sign_in(client, world["officer"])
    detail = client.get(f"/intel/incidents/{inc.pk}/").content.decode()
    assert FULL_ID not in detail and f"/intel/persons/{suspect.pk}/reveal/" in detail
    ask = client.get(f"/intel/persons/{suspect.pk}/reveal/")
    body = ask.content.decode()
    assert ask.status_code == 200 and FULL_ID not in body and "张三丰" not in body
    assert not AuditEntry.objects.filter(action="intel.person.reveal").exists()
    # no reason, or too short a one: nothing shown, nothing revealed
    for reason in ("", "  ab "):
        refused = client.post(f"/intel/persons/{suspect.pk}/reveal/", {"reason": reason})
        assert refused.status_code == 400 and FULL_ID not in refused.content.decode()
    assert not AuditEntry.objects.filter(action="intel.person.reveal").exists()
    shown = client.post(f"/intel/persons/{suspect.pk}/reveal/", {"reason": "核查嫌疑人身份"})
    page = shown.content.decode()
    assert shown.status_code == 200 and shown["Cache-Control"] == "private, no-store"
    assert FULL_ID in page and "张三丰" in page and "13912345678" in page
    entry = AuditEntry.objects.get(action="intel.person.reveal")
    assert entry.outcome == "success" and entry.user == world["officer"]
    assert (entry.object_type, entry.object_id) == ("intel.person", str(suspect.pk))
    assert entry.detail["reason"] == "核查嫌疑人身份"
    assert entry.detail["incident"] == inc.reference
    assert FULL_ID not in str(entry.detail) and "张三丰" not in entry.object_repr
    # a second reveal is a second entry
    client.post(f"/intel/persons/{suspect.pk}/reveal/", {"reason": "再次核对"})
    assert AuditEntry.objects.filter(action="intel.person.reveal").count() == 2


def test_reveal_is_scoped_and_police_only(client, world, case):
    _inc, (suspect, _victim) = case
    url = f"/intel/persons/{suspect.pk}/reveal/"
    # a police officer of another station: the person is out of scope
    other_station = world["other"].police_station
    sign_in(client, UserFactory(role="police_officer", organisation=other_station))
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "越权查看"}).status_code == 404
    # the education bureau and the school have reveal rights elsewhere, never here
    for role in ("education", "school_admin"):
        sign_in(client, world[role])
        response = client.post(url, {"reason": "想看看"})
        assert response.status_code == 403 and FULL_ID not in response.content.decode()
    assert not AuditEntry.objects.filter(action="intel.person.reveal", outcome="success").exists()


def test_api_reveal_with_reason_audits_each_person(client, world, case):
    inc, (suspect, victim) = case
    sign_in(client, world["officer"])
    url = f"/api/v1/intel/incidents/{inc.pk}/reveal/"
    listed = client.get(f"/api/v1/intel/incidents/{inc.pk}/").json()
    assert [p["id"] for p in listed["persons"]] == [suspect.pk, victim.pk]
    assert FULL_ID not in str(listed)
    assert client.post(url, {}, content_type="application/json").status_code == 400
    assert client.post(url, {"reason": "ab"}, content_type="application/json").status_code == 400
    one = client.post(
        url, {"reason": "核查身份", "persons": [suspect.pk]}, content_type="application/json"
    )
    assert one.status_code == 200 and one["Cache-Control"] == "private, no-store"
    assert one.json() == [
        {"id": suspect.pk, "role": "suspect", "name": "张三丰", "id_number": FULL_ID,
         "phone": "13912345678", "is_minor": False}
    ]  # fmt: skip
    both = client.post(url, {"reason": "案件研判"}, content_type="application/json").json()
    assert [p["name"] for p in both] == ["张三丰", "李小龙"]
    entries = AuditEntry.objects.filter(action="intel.person.reveal", outcome="success")
    assert sorted(e.object_id for e in entries) == sorted(
        [str(suspect.pk), str(suspect.pk), str(victim.pk)]
    )
    assert {e.detail["reason"] for e in entries} == {"核查身份", "案件研判"}
    # out of scope: 404; not police: 403
    sign_in(client, UserFactory(role="police_officer", organisation=world["other"].police_station))
    assert (
        client.post(url, {"reason": "越权查看"}, content_type="application/json").status_code == 404
    )
    sign_in(client, world["education"])
    assert (
        client.post(url, {"reason": "想看看"}, content_type="application/json").status_code == 403
    )


def test_a_police_role_without_reveal_rights_is_refused_and_audited(
    client, world, case, monkeypatch
):
    from campus_safety.accounts import roles

    _inc, (suspect, _victim) = case
    officer_rights = dict(roles.PERMISSIONS["police_officer"])
    officer_rights.pop("personal_data")
    monkeypatch.setitem(roles.PERMISSIONS, "police_officer", officer_rights)
    sign_in(client, world["officer"])
    detail = client.get(f"/intel/incidents/{suspect.incident_id}/").content.decode()
    assert "/reveal/" not in detail  # no button to a reveal the role may not make
    response = client.post(f"/intel/persons/{suspect.pk}/reveal/", {"reason": "核查身份"})
    assert response.status_code == 403 and FULL_ID not in response.content.decode()
    entry = AuditEntry.objects.get(action="intel.person.reveal")
    assert entry.outcome == "denied" and entry.object_id == str(suspect.pk)
