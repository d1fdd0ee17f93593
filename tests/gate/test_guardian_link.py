"""The guardian's own link (issue #17 item 4): signed and expiring; the guardian sees who
may collect their child (masked), confirms the list, or asks for a delegate whom the gate
refuses until the school approves. A tampered, expired or replaced link shows nothing."""

import datetime as dt

import pytest
from django.utils import timezone

from campus_safety.audit.models import AuditEntry
from campus_safety.gate import services
from campus_safety.gate.models import Pickup, PickupPerson
from tests.factories import sign_in
from tests.gate.test_api import api

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(school, school_admin, clock):
    clock.start_at(timezone.localtime(timezone.now()).replace(hour=10, minute=0))
    student = services.save_student(
        school, by=school_admin, student_number="K001", name="小明", class_name="大一班"
    )
    mother = services.add_pickup_person(
        student, by=school_admin, name="小明妈妈", relation="mother", phone="13900000002"
    )
    return student, mother


def token_of(url: str) -> str:
    return url.split("?t=", 1)[1]


def test_a_guardian_confirms_and_asks_for_a_delegate_the_school_approves(
    client, child, school, school_admin, guard
):
    student, mother = child
    _link, token = services.issue_guardian_link(mother, by=school_admin)
    client.logout()
    page = client.get("/gate/guardian/", {"t": token})
    text = page.content.decode()
    assert page.status_code == 200 and "小明妈妈" not in text and "小*" in text
    assert client.post(f"/gate/guardian/?t={token}", {"action": "confirm"}).status_code == 200
    assert mother.links.get().confirmed_at is not None
    added = client.post(
        f"/gate/guardian/?t={token}",
        {"action": "add", "name": "王阿姨", "relation": "delegate", "phone": "13700000001"},
    )
    assert added.status_code == 200
    aunt = PickupPerson.objects.get(student=student, relation="delegate")
    assert not aunt.is_approved and not aunt.is_guardian and aunt.phone == "13700000001"
    refused = services.release(student, school, by=guard, person=aunt)
    assert refused.pickup.reason == Pickup.Reason.NOT_APPROVED
    sign_in(client, school_admin)
    client.post(f"/gate/pickup/?class=大一班&student={student.pk}", {"approve": aunt.pk})
    aunt.refresh_from_db()
    assert aunt.is_approved
    assert services.release(student, school, by=guard, person=aunt).released
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "gate.guardian_link_issue",
        "gate.guardian_confirm",
        "gate.guardian_add_person",
    } <= actions


def test_bad_input_on_the_link_is_refused_and_nothing_stored(client, child, school_admin):
    _student, mother = child
    _link, token = services.issue_guardian_link(mother, by=school_admin)
    for fields in (
        {"name": "", "relation": "delegate"},
        {"name": "某人", "relation": "boss"},
        {"name": "某人", "relation": "delegate", "phone": "123"},
        {"name": "某人", "relation": "delegate", "document_number": "110105194912310021"},
    ):
        response = client.post(f"/gate/guardian/?t={token}", {"action": "add", **fields})
        assert response.status_code == 400
    assert PickupPerson.objects.count() == 1


def test_a_tampered_expired_or_replaced_link_shows_nothing(client, child, school_admin, clock):
    _student, mother = child
    _first, old = services.issue_guardian_link(mother, by=school_admin)
    _second, new = services.issue_guardian_link(mother, by=school_admin)
    for token in (old, new[:-2] + "xx", "", "x" * 300, new.replace(":", ".")):
        response = client.get("/gate/guardian/", {"t": token})
        assert response.status_code == 404
        assert "小" not in response.content.decode().split("<main", 1)[-1]
    assert client.get("/gate/guardian/", {"t": new}).status_code == 200
    clock.advance(days=7, seconds=1)
    assert client.get("/gate/guardian/", {"t": new}).status_code == 404
    assert client.post(f"/gate/guardian/?t={new}", {"action": "confirm"}).status_code == 404


def test_who_may_issue_a_link_and_the_api(child, school_admin, guard, other_guard, clock):
    student, mother = child
    uncle = services.add_pickup_person(student, by=school_admin, name="舅舅", relation="delegate")
    with pytest.raises(services.GateError, match="guardian"):
        services.issue_guardian_link(uncle, by=school_admin)
    with pytest.raises(services.NotAllowed):
        services.issue_guardian_link(mother, by=guard)
    answer = api(school_admin).post(
        "/api/v1/gate/pickup-persons/guardian-links/", {"person": mother.pk}
    )
    assert answer.status_code == 201 and "/gate/guardian/?t=" in answer.json()["url"]
    expires = dt.datetime.fromisoformat(answer.json()["expires_at"])
    # seven days from the platform's clock (set to 10:00 today), not the wall clock
    assert dt.timedelta(days=6) < expires - clock.now() <= dt.timedelta(days=7, minutes=1)
    assert (
        api(guard).post("/api/v1/gate/pickup-persons/guardian-links/", {"person": mother.pk})
    ).status_code == 403
    assert (
        api(other_guard).post("/api/v1/gate/pickup-persons/guardian-links/", {"person": mother.pk})
    ).status_code in (403, 404)
