"""A small world for linkage tests: two police stations, their schools, and every
kind of person the discipline rules name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from campus_safety import clock
from campus_safety.linkage import discipline, services
from campus_safety.orgs.models import Organisation
from tests.factories import CountyFactory, OrganisationFactory, SchoolFactory, UserFactory


@dataclass
class World:
    county: Any
    station: Any
    other_station: Any
    bureau: Any
    school: Any
    other_school: Any
    officer: Any
    officer2: Any
    room_officer: Any
    other_officer: Any
    dispatcher: Any
    contact: Any
    teacher: Any
    other_contact: Any
    bureau_staff: Any
    guard: Any
    admin: Any


def make_world(code: str = "371402", mark: str = "") -> World:
    county = CountyFactory(code=code, name=f"区{code}{mark}")
    station = OrganisationFactory(
        kind=Organisation.Kind.POLICE_STATION, region=county, name=f"派出所{code}{mark}"
    )
    other_station = OrganisationFactory(
        kind=Organisation.Kind.POLICE_STATION, region=county, name=f"另一派出所{code}{mark}"
    )
    bureau = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=county, name=f"教育局{code}{mark}"
    )
    school = SchoolFactory(region=county, police_station=station, name=f"{mark}一小")
    other_school = SchoolFactory(region=county, police_station=other_station, name=f"{mark}二小")

    def user(name: str, role: str, **scope: Any) -> Any:
        return UserFactory(username=f"{name}{code}{mark}", role=role, **scope)

    world = World(
        county=county,
        station=station,
        other_station=other_station,
        bureau=bureau,
        school=school,
        other_school=other_school,
        officer=user("officer", "police_officer", organisation=station),
        officer2=user("officer2", "police_officer", organisation=station),
        room_officer=user("roomofficer", "police_officer", organisation=other_station),
        other_officer=user("otherofficer", "police_officer", organisation=other_station),
        dispatcher=user("dispatcher", "dispatcher", region=county),
        contact=user("contact", "school_admin", school=school),
        teacher=user("teacher", "school_admin", school=school),
        other_contact=user("othercontact", "school_admin", school=other_school),
        bureau_staff=user("bureau", "education_staff", organisation=bureau),
        guard=user("guard", "guard", school=school),
        admin=UserFactory(
            username=f"root{code}{mark}", is_superuser=True, is_staff=True, role="system_admin"
        ),
    )
    # The room officer belongs to another station but sits in this school's police room.
    services.save_police_room(
        world.officer, school, officers=[world.room_officer], location="一楼", hours="7:30-17:30"
    )
    return world


def record(world: World, **overrides: Any):
    today = timezone.localdate(clock.now())
    fields = {
        "school": world.school,
        "student_name": "张小明",
        "class_name": "五年级二班",
        "age": 11,
        "level": "bad",
        "behaviour": "bullying",
        "facts": "课间多次推搡同学并索要零花钱（虚构）",
        "occurred_on": today,
        "guardian": "present",
        "measures": ["reprimand", "apology"],
        "designated_contact": world.contact,
        "follow_up_dates": [today + dt.timedelta(days=30)],
    }
    fields.update(overrides)
    return discipline.record_discipline(world.officer, **fields)


def scope_matrix_objects(school: Any, station: Any, mark: str) -> dict[str, Any]:
    """One of everything the linkage app keeps, at the school (for the scope matrix)."""
    from campus_safety.linkage.models import (
        DisciplineRecord,
        Drill,
        DutyLog,
        EmergencyPlan,
        FollowUp,
        Lecture,
        Notice,
        NoticeReceipt,
        PoliceRoom,
        UnsealRequest,
    )

    now = clock.now()
    today = timezone.localdate(now)
    officer = UserFactory(
        username=f"linkage_officer_{mark}", role="police_officer", organisation=station
    )
    contact = UserFactory(username=f"linkage_contact_{mark}", role="school_admin", school=school)
    room = PoliceRoom.objects.create(school=school, location=f"{mark}警务室", hours="8-17")
    room.officers.add(officer)
    duty_log = DutyLog.objects.create(room=room, officer=officer, at=now, kind="visit", notes=mark)
    record = DisciplineRecord.objects.create(
        reference=f"XJ{mark[:8]}",
        school=school,
        station=station,
        student_name=f"{mark}学生",
        class_name=f"{mark}班",
        age=12,
        level="bad",
        behaviour="bullying",
        facts=mark,
        occurred_on=today,
        guardian="present",
        measures=["reprimand"],
        designated_contact=contact,
        created_by=officer,
        created_at=now,
        follow_up_until=today + dt.timedelta(days=365),
    )
    follow_up = FollowUp.objects.create(record=record, due_on=today)
    sealed = DisciplineRecord.objects.create(
        reference=f"XS{mark[:8]}",
        school=school,
        station=station,
        student_name=f"{mark}封存",
        class_name=f"{mark}班",
        age=12,
        level="bad",
        behaviour="violence",
        facts=mark,
        occurred_on=today,
        guardian="present",
        measures=["reprimand"],
        designated_contact=contact,
        created_by=officer,
        created_at=now,
        follow_up_until=today,
        sealed_at=now,
    )
    unseal = UnsealRequest.objects.create(
        record=sealed, requested_by=officer, reason=mark, requested_at=now
    )
    plan = EmergencyPlan.objects.create(
        school=school, kind="fire", summary=mark, submitted_at=now, submitted_by=contact
    )
    drill = Drill.objects.create(school=school, kind="fire", held_at=now, problems=mark)
    notice = Notice.objects.create(
        title=f"{mark}通报", body=mark, created_by=officer, created_at=now, target={}
    )
    NoticeReceipt.objects.create(notice=notice, school=school, reply=mark)
    lecture = Lecture.objects.create(
        school=school, lecturer=f"{mark}讲师", held_on=today, topic="traffic", audience=100
    )
    return {
        "police_room": room,
        "duty_log": duty_log,
        "discipline_record": record,
        "follow_up": follow_up,
        "unseal_request": unseal,
        "emergency_plan": plan,
        "drill": drill,
        "notice": notice,
        "lecture": lecture,
    }
