"""Gate objects for the scope matrix (tests/accounts/test_scope_matrix.py): one of each
record the gate keeps, at a side's school, its text carrying the side's mark."""

from __future__ import annotations

import datetime as dt

from campus_safety import clock
from campus_safety.gate import services
from campus_safety.gate.models import Pickup, VehiclePassage, WatchlistHit
from campus_safety.gate.validators import id_check_character


def _id(head: str) -> str:
    return head + id_check_character(head)


def scope_matrix_objects(school, station, mark: str) -> dict:
    now = clock.now()
    serial = f"{school.pk % 1000:03d}"
    visit = services.check_in(
        school,
        by=None,
        document_kind="id_card",
        document_number=_id(f"37140219800101{serial}"),
        name="访客",
        purpose=mark,
        host=f"{mark}老师",
    ).visit
    vehicle = services.save_vehicle(
        school, by=None, plate=f"鲁N{school.pk % 10000:04d}A", kind="staff", owner=mark
    )
    passage, _hit = services.record_passage(
        school, plate=vehicle.plate, direction="in", source="camera"
    )
    student = services.save_student(
        school,
        by=None,
        student_number=mark,
        name="学生",
        class_name=mark,
        class_teacher=mark,
        teacher_phone="13900000001",
    )
    person = services.add_pickup_person(
        student, by=None, name="家长", relation="mother", phone="13900000002"
    )
    pickup = services.release(student, school, by=None, person=person).pickup
    services.release(student, school, by=None, person_name="陌生人")  # SMS naming the class
    entry = services.create_entry(
        by=_police_user(station),
        station=station,
        name=mark,
        reason="risk",
        document_number=_id(f"37140219700101{serial}"),
        valid_from=now - dt.timedelta(days=1),
        valid_until=now + dt.timedelta(days=30),
    )
    services.check_in(
        school,
        by=None,
        document_kind="id_card",
        document_number=entry.document_number,
        name="某人",
        purpose="找人",
        host=f"{mark}老师",
    )
    assert isinstance(passage, VehiclePassage) and isinstance(pickup, Pickup)
    return {
        "gate_visit": visit,
        "gate_vehicle": vehicle,
        "gate_passage": passage,
        "gate_student": student,
        "gate_pickup_person": person,
        "gate_pickup": pickup,
        "gate_watchlist_entry": entry,
        "gate_watchlist_hit": WatchlistHit.objects.get(entry=entry),
    }


def _police_user(station):
    from tests.factories import UserFactory

    return UserFactory(role="police_officer", organisation=station)
