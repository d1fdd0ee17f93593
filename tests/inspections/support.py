"""Build a school that passes every item of the daily inspection, so a test can break
exactly one thing and see exactly that item fail."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from django.utils import timezone

from campus_safety.alarms.models import TestWindow
from campus_safety.devices.identifiers import make_device_id
from campus_safety.devices.models import Device
from campus_safety.patrols.models import (
    PeakPost,
    PostAssignment,
    PostCheckIn,
    TourPlan,
    TourRound,
    TourRoute,
)
from campus_safety.workforce.staffing import annotate_staffing
from tests.factories import GuardFactory, UserFactory

_serial = itertools.count(200000)


def camera(school, key_area: str, status: str = Device.Status.ONLINE, **fields) -> Device:
    return Device.objects.create(
        device_id=fields.pop("device_id", None) or make_device_id("371402", "132", next(_serial)),
        name=fields.pop("name", f"{key_area} camera"),
        kind=Device.Kind.CAMERA,
        protocol=Device.Protocol.GB28181,
        school=school,
        key_area=key_area,
        status=status,
        status_since=fields.pop("status_since", timezone.now()),
        **fields,
    )


def alarm_box(school) -> Device:
    return Device.objects.create(
        device_id=make_device_id("371402", "134", next(_serial)),
        name="一键报警",
        kind=Device.Kind.ONE_KEY_ALARM,
        protocol=Device.Protocol.MQTT,
        school=school,
        key_area="gate_room",
        status=Device.Status.ONLINE,
        status_since=timezone.now(),
    )


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def good_school(school, day: dt.date) -> dict:
    """Everything the rule set asks of ``school`` on ``day``."""
    cams = [camera(school, area) for area in ("outside_gate", "entrance", "gate_room")]
    cams += [camera(school, "teaching_area") for _ in range(7)]
    box = alarm_box(school)
    TestWindow.objects.create(
        school=school, starts_at=local(day, 9), ends_at=local(day, 10), reason="月度测试"
    )
    required = annotate_staffing(type(school).objects.filter(pk=school.pk)).get().required_guards
    for _ in range(required):
        GuardFactory(school=school)
    route = TourRoute.objects.create(school=school, name="主线")
    plan = TourPlan.objects.create(school=school, route=route, name="日间")
    for hour in (8, 10, 12, 14, 16):
        start = local(day, hour)
        TourRound.objects.create(
            plan=plan,
            school=school,
            day=day,
            starts_at=start,
            due_at=start + dt.timedelta(minutes=30),
            closes_at=start + dt.timedelta(minutes=40),
            status=TourRound.Status.COMPLETE,
        )
    post = PeakPost.objects.create(school=school, name="南门", longitude=116.3, latitude=37.45)
    volunteer = UserFactory(role="volunteer")
    assignment = PostAssignment.objects.create(
        post=post,
        school=school,
        day=day,
        peak="arrival",
        starts_at=local(day, 7),
        ends_at=local(day, 8),
        person_type="volunteer",
        user=volunteer,
    )
    PostCheckIn.objects.create(
        assignment=assignment,
        post=post,
        school=school,
        user=volunteer,
        person_type="volunteer",
        checked_in_at=local(day, 7, 5),
        in_longitude=116.3,
        in_latitude=37.45,
        in_distance_m=5,
    )
    return {"cameras": cams, "box": box, "plan": plan, "post": post}


def scope_matrix_objects(school, station, mark: str, cam) -> dict:
    """One of everything the inspections app keeps, at ``school`` (the scope matrix)."""
    from campus_safety import clock
    from campus_safety.inspections import patrols
    from campus_safety.inspections.models import CameraQuality, DailyResult, QualityCheck
    from campus_safety.orgs.models import Organisation

    # Organisations are a directory everyone reads: no mark of the side in the name.
    bureau = Organisation.objects.create(
        name=f"巡查教育局{uuid.uuid4().hex[:8]}",
        kind=Organisation.Kind.EDUCATION_BUREAU,
        region=school.region,
    )
    inspector = UserFactory(
        username=f"inspector_{uuid.uuid4().hex[:8]}", role="education_staff", organisation=bureau
    )
    result = DailyResult.objects.create(
        school=school,
        day=clock.now().date(),
        ruleset="test",
        score=55,
        items={"staffing": {"ok": False, "lost": 15, "value": 1, "detail": mark}},
        failed=1,
    )
    patrol = patrols.start_patrol(inspector, [school])
    finding = patrols.record_finding(
        patrol, inspector, school=school, kind="camera_blocked", device=cam, note=mark
    )
    check = QualityCheck.objects.create(
        device=cam, school=school, at=clock.now(), faults=["blur"], measures={}
    )
    quality = CameraQuality.objects.create(
        device=cam, school=school, faults=["blur"], last_check=check
    )
    return {
        "inspection_result": result,
        "video_patrol": patrol,
        "inspection_finding": finding,
        "inspection_notice": finding.notice,
        "quality_check": check,
        "camera_quality": quality,
    }
