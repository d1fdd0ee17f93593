"""The demo's inspection rows: thirty days of results, camera faults with pictures,
patrols and notices at every stage — written for a small district with the demo's
user names."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from campus_safety.devices.identifiers import make_device_id
from campus_safety.hazards.models import Hazard
from campus_safety.inspections.models import (
    CameraQuality,
    DailyResult,
    Notice,
    PatrolPlan,
    VideoPatrol,
)
from campus_safety.simulator import demo_inspections
from campus_safety.simulator.camera_faults import demo_fault
from tests.factories import SchoolFactory, UserFactory
from tests.inspections.support import camera


def test_fill_a_fresh_city(county, bureau, station, school, clock):
    for _ in range(5):
        SchoolFactory(region=county, police_station=station)
    UserFactory(username="edu", role="education_staff", organisation=bureau)
    UserFactory(username="police", role="police_officer", organisation=station)
    UserFactory(username="school", role="school_admin", school=school)
    ids = (make_device_id("371402", "132", n) for n in range(300000, 400000))
    camera(school, "entrance", device_id=next(i for i in ids if demo_fault(i) == "blur"))
    now = clock.now()
    counts = demo_inspections.fill_inspections(now, is_fresh=True)
    yesterday = timezone.localdate(now) - dt.timedelta(days=1)
    days = set(DailyResult.objects.values_list("day", flat=True))
    assert len(days) == 30 and max(days) == yesterday
    # yesterday is judged like the days before it, not by devices the simulator has
    # not registered yet (every school lost its device items at seeding time)
    online = DailyResult.objects.filter(day=yesterday).values_list("items", flat=True)
    assert any(items["device_online"]["ok"] for items in online)
    assert counts["camera_faults"] == 1
    assert CameraQuality.objects.get().last_check.picture
    assert PatrolPlan.objects.count() == 2
    assert VideoPatrol.objects.filter(status="done").count() == 2
    statuses = set(Notice.objects.values_list("hazard__status", flat=True))
    assert {"assigned", "submitted", "rectifying", "closed"} <= statuses
    assert Hazard.objects.filter(inspection_notice__isnull=False, escalation_level__gte=1).exists()
    # A later start only inspects the day that is missing.
    assert demo_inspections.fill_inspections(now) == {}
