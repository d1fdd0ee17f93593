"""One-time pick-up codes (接送码, issue #17 item 4): a guardian's short code valid for
one release on one day at the child's school; used, expired, not-yet-valid, unknown and
other-school codes are refused with the reason and nothing stored but the audit entry."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from campus_safety.audit.models import AuditEntry
from campus_safety.gate import services
from campus_safety.gate.models import Pickup, PickupCode
from tests.factories import sign_in
from tests.gate.test_api import api

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(school, school_admin, clock):
    local = timezone.localtime(timezone.now()).replace(hour=10, minute=0, second=0)
    clock.start_at(local)  # mid-morning: "today" and "tomorrow" are unambiguous
    student = services.save_student(
        school,
        by=school_admin,
        student_number="K001",
        name="小明",
        class_name="大一班",
        class_teacher="刘老师",
    )
    mother = services.add_pickup_person(
        student, by=school_admin, name="小明妈妈", relation="mother", phone="13900000002"
    )
    return student, mother


def test_a_code_releases_the_child_once_to_its_person(child, school, school_admin, guard):
    _student, mother = child
    issued, code = services.issue_pickup_code(mother, by=school_admin)
    assert len(code) == 9 and code[4] == "-" and issued.valid_on == timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM gate_pickupcode")
        assert code.replace("-", "") not in repr(cursor.fetchall())  # only a keyed hash
    result = services.release_with_code(code.lower().replace("-", " "), school, by=guard)
    assert result.released and result.pickup.person == mother
    issued.refresh_from_db()
    assert issued.used_at is not None and issued.pickup == result.pickup
    with pytest.raises(services.GateError, match="already been used"):
        services.release_with_code(code, school, by=guard)
    assert Pickup.objects.count() == 1
    actions = list(AuditEntry.objects.filter(action__startswith="gate.pickup").values_list(
        "action", "outcome", "detail"
    ))  # fmt: skip
    assert [a[:2] for a in actions] == [
        ("gate.pickup_code_refuse", "denied"),
        ("gate.pickup_release", "success"),
        ("gate.pickup_code_issue", "success"),
    ]
    assert actions[0][2]["reason"] == "used"


def test_a_code_is_for_its_day_only(child, school, school_admin, guard, clock):
    _student, mother = child
    _today, code = services.issue_pickup_code(mother, by=school_admin)
    _tomorrow, later = services.issue_pickup_code(
        mother, by=school_admin, day=timezone.localdate() + dt.timedelta(days=1)
    )
    with pytest.raises(services.GateError, match="not valid yet"):
        services.release_with_code(later, school, by=guard)
    clock.advance(days=1)
    with pytest.raises(services.GateError, match="expired"):
        services.release_with_code(code, school, by=guard)
    assert services.release_with_code("PU:" + later.replace("-", ""), school, by=guard).released


def test_other_school_unknown_and_bad_codes_are_refused(
    child, school, other_school, school_admin, guard, other_guard
):
    _student, mother = child
    _issued, code = services.issue_pickup_code(mother, by=school_admin)
    with pytest.raises(services.GateError, match="another school"):
        services.release_with_code(code, other_school, by=other_guard)
    for bad in ("ABCD-EFGH", "", "x" * 500):
        with pytest.raises(services.GateError, match="not known"):
            services.release_with_code(bad, school, by=guard)
    assert not Pickup.objects.exists()
    assert PickupCode.objects.get().used_at is None  # still good at its own school
    assert services.release_with_code(code, school, by=guard).released


def test_who_gets_a_code_and_who_issues_it(child, school_admin, guard):
    student, _mother = child
    uncle = services.add_pickup_person(
        student, by=None, name="舅舅", relation="delegate", approved=False
    )
    with pytest.raises(services.GateError, match="approved"):
        services.issue_pickup_code(uncle, by=school_admin)
    with pytest.raises(services.NotAllowed):
        services.issue_pickup_code(student.pickup_persons.get(relation="mother"), by=guard)
    with pytest.raises(services.GateError, match="seven days"):
        services.issue_pickup_code(
            student.pickup_persons.get(relation="mother"),
            by=school_admin,
            day=timezone.localdate() + dt.timedelta(days=8),
        )
    assert not PickupCode.objects.exists()


def test_the_api_issues_and_takes_codes(child, school_admin, guard, other_guard):
    _student, mother = child
    issued = api(school_admin).post("/api/v1/gate/pickup-persons/codes/", {"person": mother.pk})
    assert issued.status_code == 201
    code = issued.json()["code"]
    assert (
        api(guard).post("/api/v1/gate/pickup-persons/codes/", {"person": mother.pk}).status_code
        == 403
    )
    assert api(other_guard).post("/api/v1/gate/pickups/", {"code": code}).status_code == 400
    released = api(guard).post("/api/v1/gate/pickups/", {"code": code})
    assert released.status_code == 201 and released.json()["outcome"] == "released"
    again = api(guard).post("/api/v1/gate/pickups/", {"code": code})
    assert again.status_code == 400 and "already been used" in again.json()["detail"]
    assert api(guard).post("/api/v1/gate/pickups/", {}).status_code == 400


def test_the_release_page_issues_a_code_and_the_guard_takes_it(client, child, school_admin, guard):
    student, mother = child
    sign_in(client, school_admin)
    page = client.post(
        f"/gate/pickup/?class=大一班&student={student.pk}", {"issue_code": mother.pk}
    ).content.decode()
    assert 'id="pickup-code"' in page and "<svg" in page
    code = page.split('id="pickup-code">')[1].split("<")[0]
    sign_in(client, guard)
    page = client.get(f"/gate/pickup/?class=大一班&student={student.pk}").content.decode()
    assert "issue_code" not in page  # a guard does not issue codes
    answer = client.post("/gate/pickup/", {"code": code}).content.decode()
    assert "Released to" in answer
    answer = client.post("/gate/pickup/", {"code": code}).content.decode()
    assert "already been used" in answer
