"""The linkage REST API keeps the pages' scopes: a discipline record needs a reason and
is audited; the list is masked; notices are sent, confirmed and reminded."""

import datetime as dt

import pytest

from campus_safety import clock
from campus_safety.audit.models import AuditEntry
from campus_safety.orgs.models import School
from campus_safety.reports.summary import summary
from tests.factories import sign_in
from tests.linkage.support import make_world, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world()


def test_discipline_list_is_masked_and_a_record_needs_a_reason(client, world):
    rec = record(world)
    sign_in(client, world.contact)
    listing = client.get("/api/v1/linkage/discipline/").json()
    assert listing["results"][0]["student"] == "张**"
    assert "facts" not in listing["results"][0]
    assert client.get(f"/api/v1/linkage/discipline/{rec.pk}/").status_code == 400
    shown = client.get(f"/api/v1/linkage/discipline/{rec.pk}/", {"reason": "回访前了解"}).json()
    assert shown["student_name"] == "张小明"
    assert AuditEntry.objects.filter(action="discipline.read", detail__reason="回访前了解").exists()


def test_an_officer_records_discipline_through_the_api(client, world):
    sign_in(client, world.officer)
    today = clock.now().date()
    response = client.post(
        "/api/v1/linkage/discipline/",
        {
            "school": world.school.pk,
            "student_name": "王五",
            "class_name": "四年级三班",
            "age": 10,
            "level": "bad",
            "behaviour": "bullying",
            "facts": "虚构",
            "occurred_on": str(today),
            "guardian": "present",
            "measures": ["reprimand"],
            "designated_contact": world.contact.pk,
            "follow_up_dates": [str(today + dt.timedelta(days=14))],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    sign_in(client, world.bureau_staff)
    assert client.get("/api/v1/linkage/discipline/").status_code == 403


def test_notices_through_the_api(client, world):
    sign_in(client, world.bureau_staff)
    response = client.post(
        "/api/v1/linkage/notices/",
        {"title": "通知", "body": "请确认", "regions": [world.county.code]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    sign_in(client, world.contact)
    assert client.post(f"/api/v1/linkage/notices/{pk}/confirm/", {}).status_code == 200
    assert client.post(f"/api/v1/linkage/notices/{pk}/remind/").status_code == 403
    sign_in(client, world.bureau_staff)
    receipts = client.get(f"/api/v1/linkage/notices/{pk}/receipts/").json()["results"]
    assert sorted(r["confirmed_at"] is not None for r in receipts) == [False, True]
    assert client.post(f"/api/v1/linkage/notices/{pk}/remind/").json() == {
        "reminded": 1,
        "schools": 1,
        "units": 0,
    }


def test_drill_compliance_through_the_api(client, world):
    sign_in(client, world.bureau_staff)
    rows = client.get("/api/v1/linkage/drills/compliance/").json()["results"]
    assert {r["school"] for r in rows} == {world.school.pk, world.other_school.pk}


def test_the_summary_has_the_linkage_block(world):
    record(world)
    block = summary(School.objects.filter(region=world.county))["linkage"]
    assert block["police_rooms"] == 1
    assert block["counsellor_coverage_rate"] == 0.0
    assert block["discipline_open_followups"] == 1
    assert set(block) == {
        "police_rooms",
        "counsellor_coverage_rate",
        "drills_due",
        "drills_overdue",
        "notices_unconfirmed",
        "discipline_open_followups",
    }
