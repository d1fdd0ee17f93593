"""An unknown vehicle read again and again at the gate in a peak window raises a normal
(not police-only) alarm case of the school: once per plate, school and window; never
for a known plate or outside the peaks (item 3 of issue #17)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from campus_safety.alarms.models import AlarmCase, AlarmEvent
from campus_safety.gate import services
from campus_safety.gate.models import VehiclePassage
from campus_safety.live.models import LiveEvent
from tests.gate.conftest import visitor

pytestmark = pytest.mark.django_db

UNKNOWN = "鲁N5K321"
MONDAY = dt.date(2026, 12, 7)


@pytest.fixture(autouse=True)
def rule(settings):
    """Pinned here so the figures do not follow the environment."""
    settings.GATE_LOITER_READS = 3
    settings.GATE_LOITER_MINUTES = 10
    settings.GATE_RELEASE_WINDOWS = [("11:30", "12:10"), ("16:30", "17:30")]
    settings.POST_CLASS_STARTS_AT = "08:00"
    settings.POST_DISMISSAL_AT = "16:30"


def at(clock, hh_mm: str) -> None:
    hour, minute = map(int, hh_mm.split(":"))
    clock.start_at(dt.datetime.combine(MONDAY, dt.time(hour, minute), ZoneInfo(settings.TIME_ZONE)))


def reads(school, clock, plate: str, times: int, every_minutes: float = 2) -> None:
    """``times`` camera reads of the plate on entry, ``every_minutes`` apart."""
    for index in range(times):
        if index:
            clock.advance(minutes=every_minutes)
        services.record_passage(
            school,
            plate=plate,
            direction=VehiclePassage.Direction.IN,
            source=VehiclePassage.Source.CAMERA,
            at=clock.now(),
            event_id=f"read-{plate}-{clock.now().timestamp()}",
        )


def loiter_cases():
    return AlarmCase.objects.filter(alarm_type="vehicle_loiter")


def test_unknown_plate_loitering_in_a_peak_opens_one_case_for_school_and_police(
    school, guard, school_admin, officer, clock, django_capture_on_commit_callbacks
):
    at(clock, "16:35")
    with django_capture_on_commit_callbacks(execute=True):
        reads(school, clock, UNKNOWN, 2)
    assert not loiter_cases().exists()  # two reads are not yet loitering
    with django_capture_on_commit_callbacks(execute=True):
        reads(school, clock, UNKNOWN, 1)
    case = loiter_cases().get()
    assert case.school == school and not case.police_only
    event = AlarmEvent.objects.get(case=case)
    assert event.payload["plate"] == UNKNOWN and event.payload["reads"] == 3
    assert UNKNOWN in event.description
    for user in (guard, school_admin, officer):  # the school and its police see it
        assert AlarmCase.objects.visible_to(user).filter(pk=case.pk).exists()
        assert LiveEvent.objects.visible_to(user).filter(payload__case_id=case.pk).exists()


def test_repeated_reads_after_the_case_open_no_second_one(school, clock):
    at(clock, "07:45")  # the arrival window (07:30–08:15 by default)
    reads(school, clock, UNKNOWN, 6)
    case = loiter_cases().get()
    case.closed_at = clock.now()  # even once the school has closed it
    case.save(update_fields=["closed_at"])
    reads(school, clock, UNKNOWN, 4)
    assert loiter_cases().count() == 1
    assert AlarmEvent.objects.filter(alarm_type="vehicle_loiter").count() == 1


def test_the_next_peak_window_may_raise_it_again(school, clock):
    at(clock, "07:45")
    reads(school, clock, UNKNOWN, 3)
    at(clock, "11:40")
    reads(school, clock, UNKNOWN, 3)
    assert AlarmEvent.objects.filter(alarm_type="vehicle_loiter").count() == 2


def test_outside_a_peak_nothing(school, clock):
    at(clock, "14:00")
    reads(school, clock, UNKNOWN, 6)
    assert not loiter_cases().exists()
    assert VehiclePassage.objects.filter(plate=UNKNOWN).count() == 6


def test_not_on_a_weekend(school, clock):
    clock.start_at(
        dt.datetime.combine(
            MONDAY - dt.timedelta(days=1), dt.time(16, 40), ZoneInfo(settings.TIME_ZONE)
        )
    )
    reads(school, clock, UNKNOWN, 6)
    assert not loiter_cases().exists()


def test_a_known_plate_raises_nothing(school, guard, clock):
    services.save_vehicle(school, by=guard, plate=UNKNOWN, kind="staff")
    at(clock, "16:35")
    reads(school, clock, UNKNOWN, 6)
    assert not loiter_cases().exists()


def test_a_visitors_vehicle_raises_nothing(school, guard, clock):
    at(clock, "16:35")
    services.check_in(school, by=guard, **visitor(vehicle_plate=UNKNOWN))
    reads(school, clock, UNKNOWN, 6)
    assert not loiter_cases().exists()


def test_reads_spread_beyond_the_minutes_or_an_exit_between_raise_nothing(school, clock):
    at(clock, "16:31")
    reads(school, clock, UNKNOWN, 3, every_minutes=6)  # 3 reads over 12 minutes
    assert not loiter_cases().exists()
    services.record_passage(
        school,
        plate=UNKNOWN,
        direction=VehiclePassage.Direction.OUT,
        source=VehiclePassage.Source.CAMERA,
        at=clock.now(),
    )
    clock.advance(minutes=1)
    reads(school, clock, UNKNOWN, 2)  # one read before the exit does not count
    assert not loiter_cases().exists()


def test_a_watch_listed_plate_stays_police_only(school, entry, clock):
    at(clock, "16:35")
    reads(school, clock, "鲁N99999", 4)
    assert not loiter_cases().exists()
    assert AlarmCase.objects.filter(police_only=True, alarm_type="watchlist").exists()


def test_nobody_acknowledges_it_and_it_escalates_to_the_school_too(
    school, school_admin, officer, clock, django_capture_on_commit_callbacks
):
    from campus_safety.alarms.escalation import run_alarm_timers
    from campus_safety.alarms.workflow import ack_seconds

    at(clock, "16:35")
    with django_capture_on_commit_callbacks(execute=True):
        reads(school, clock, UNKNOWN, 3)
    case = loiter_cases().get()
    clock.advance(seconds=ack_seconds() + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_alarm_timers()
    escalated = LiveEvent.objects.filter(name="alarm.escalated", payload__case_id=case.pk)
    assert escalated.get().payload["police_only"] is False
    for user in (school_admin, officer):
        assert escalated.visible_to(user).exists()
