"""The demo has a stranger's car loitering at some school's gate whatever hour it
starts (issue #17): in a peak window under way the loitering case is open, live; at
any other hour it is in the last peak window before, acknowledged and closed then. The
simulated gates bring one loiterer per peak window while the demo runs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from campus_safety.alarms.models import AlarmCase
from campus_safety.gate.models import VehiclePassage
from campus_safety.simulator import demo_gate

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo(settings.TIME_ZONE)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """December 2026: the 4th is a Friday, the 5th and 6th a weekend, the 7th a Monday."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=ZONE)


@pytest.fixture
def schools(school, other_school):
    return [school, other_school]


def loiter_case() -> AlarmCase:
    return AlarmCase.objects.get(alarm_type="vehicle_loiter")


@pytest.mark.parametrize(
    "now",
    [
        at(7, 3),  # Monday night: Friday's dismissal window
        at(7, 7, 35),  # Monday, five minutes into the arrival window: still Friday's
        at(5, 12),  # Saturday noon
        at(6, 22),  # Sunday evening
    ],
)
def test_outside_a_peak_window_the_last_ones_case_was_handled_then(schools, clock, now):
    clock.start_at(now)
    assert demo_gate.fill_loiterer(now) == 1
    case = loiter_case()
    assert not case.police_only and case.school in schools
    assert case.state == AlarmCase.State.RESOLVED and case.disposition
    assert case.next_escalation_at is None
    friday_dismissal = (at(4, 16, 10), at(4, 17, 30))  # joined with the release window
    assert friday_dismissal[0] <= case.opened_at < case.acknowledged_at < case.closed_at
    assert case.closed_at < friday_dismissal[1]
    reads = VehiclePassage.objects.filter(school=case.school, source="camera").order_by("at")
    assert [p.direction for p in reads] == ["in", "in", "in", "out"]
    assert len({p.plate for p in reads}) == 1 and reads[0].vehicle_id is None
    assert demo_gate.fill_loiterer(now) == 0  # once per window
    assert AlarmCase.objects.count() == 1


def test_in_a_window_under_way_the_case_is_open_now(schools, clock):
    now = at(7, 16, 45)  # Monday, in the dismissal window
    clock.start_at(now)
    assert demo_gate.fill_loiterer(now) == 1
    case = loiter_case()
    assert case.state == AlarmCase.State.RECEIVED and case.closed_at is None
    assert now <= case.opened_at < now + dt.timedelta(minutes=1)  # the clock runs on
    assert case.next_escalation_at > case.opened_at
    reads = VehiclePassage.objects.filter(source="camera").order_by("at")
    assert [p.direction for p in reads] == ["in", "in", "in"]
    assert now - dt.timedelta(minutes=10) < reads[0].at and reads[2].at == now
    assert demo_gate.fill_loiterer(now) == 0


def test_the_simulated_gates_bring_one_loiterer_per_peak_window(schools, clock):
    clock.start_at(at(7, 21))  # Monday evening: no window, no loiterer
    gates = demo_gate.GateVisitors()
    for _ in range(5):
        gates.loiter(clock.now())
        clock.advance(seconds=90)
    assert not VehiclePassage.objects.exists()
    clock.start_at(at(8, 16, 20))  # Tuesday's dismissal window
    for _ in range(8):
        gates.loiter(clock.now())
        clock.advance(seconds=90)
    case = loiter_case()  # one, opened live at the third read
    assert case.state == AlarmCase.State.RECEIVED
    assert VehiclePassage.objects.filter(source="camera").count() == 3
