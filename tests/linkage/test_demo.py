"""The demo city's linkage rows (issue #20 item 6): police rooms for the schools that
have one, duty logs, drills, plans, lectures, fictitious 训诫 records the demo school
user reads, and notices at every stage. Seeded here over a small town (the full
``seed_demo`` run is covered by tests/simulator)."""

import random

import pytest
from django.urls import reverse

from campus_safety.linkage.models import (
    DisciplineRecord,
    Drill,
    DutyLog,
    Lecture,
    Notice,
    NoticeReceipt,
    PoliceRoom,
)
from campus_safety.orgs.models import Organisation, School
from campus_safety.simulator import demo_linkage
from tests.factories import (
    CountyFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
    sign_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def town():
    county = CountyFactory(code="371402", name="德城区")
    station = OrganisationFactory(kind=Organisation.Kind.POLICE_STATION, region=county)
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=county)
    schools = [
        SchoolFactory(
            region=county,
            police_station=station,
            has_police_room=i % 2 == 0,
            legal_vice_principal="孙律师" if i % 4 == 0 else "",
            kind=School.Kind.KINDERGARTEN if i == 3 else School.Kind.PRIMARY,
        )
        for i in range(8)
    ]
    users = [
        UserFactory(username="police", role="police_officer", organisation=station),
        UserFactory(username="school", role="school_admin", school=schools[0]),
        UserFactory(username="edu", role="education_staff", organisation=bureau),
    ]
    counts = demo_linkage.write_linkage(random.Random(7), schools, users)
    return {"schools": schools, "users": users, "counts": counts}


def test_rooms_logs_drills_plans_and_lectures(town):
    assert PoliceRoom.objects.count() == 4
    assert PoliceRoom.objects.filter(counsellor_name="孙律师").count() == 2
    assert DutyLog.objects.count() == town["counts"]["duty_logs"] > 0
    assert Drill.objects.exists() and Lecture.objects.exists()


def test_fictitious_discipline_records_for_the_demo_school(client, town):
    police, school_user, edu = town["users"]
    records = DisciplineRecord.objects.visible_to(school_user)
    assert records.count() == 5
    assert all("虚构" in r.student_name for r in records)
    assert DisciplineRecord.objects.visible_to(edu).count() == 0
    assert DisciplineRecord.objects.visible_to(police).count() == 5
    sign_in(client, school_user)
    assert client.get(reverse("linkage:discipline")).status_code == 200


def test_notices_at_every_stage(town):
    assert Notice.objects.filter(kind="warning").exists()
    receipts = NoticeReceipt.objects.all()
    assert receipts.filter(confirmed_at__isnull=False).exists()
    assert receipts.filter(confirmed_at__isnull=True).exists()


def test_the_demo_rows_go_with_the_city(town):
    counts = demo_linkage.delete_city_linkage("3714")
    assert counts["policeroom"] >= 4 and not PoliceRoom.objects.exists()
    assert not Notice.objects.exists() and not DisciplineRecord.objects.exists()
