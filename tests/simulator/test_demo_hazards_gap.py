"""A demo started days after seeding (issue #14 item 6): the open demo hazards' deadlines
move with the days off, so the platform's first sweep reminds and escalates nothing
merely because it started; a hazard overdue at seeding stays overdue."""

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from campus_safety import clock
from campus_safety.hazards import deadlines
from campus_safety.hazards.models import Hazard, HazardEvent
from campus_safety.simulator import demo_day, demo_hazards

pytestmark = pytest.mark.django_db
ZONE = ZoneInfo("Asia/Shanghai")
SEEDED = dt.datetime(2026, 12, 12, 15, 0, tzinfo=ZONE)


@pytest.fixture
def demo_clock():
    yield clock
    clock.reset()


def _seed(demo_clock) -> None:
    demo_clock.start_at(SEEDED)
    call_command("seed_demo", "--schools", "40", "--seed", "5", "--verbosity", "0",
                 stdout=StringIO())  # fmt: skip


def test_a_fresh_seed_leaves_the_first_sweep_nothing_to_do(demo_clock):
    _seed(demo_clock)
    swept = deadlines.run_hazard_deadlines(clock.now())
    assert swept.reminded == [] and swept.escalated == []


@pytest.mark.parametrize("hours", [48, 60])
def test_a_start_days_later_reminds_and_escalates_nothing(demo_clock, hours):
    _seed(demo_clock)
    overdue_before = set(
        Hazard.objects.filter(
            status__in=Hazard.RUNNING_STATUSES, deadline__lt=clock.now()
        ).values_list("pk", flat=True)
    )
    demo_clock.start_at(SEEDED + dt.timedelta(hours=hours))  # `make demo` days later
    now = clock.now()

    counts = demo_day.make_today(now)
    swept = deadlines.run_hazard_deadlines(now)

    assert counts["hazards_carried"] > 0
    assert swept.reminded == [] and swept.escalated == []
    overdue_now = set(
        Hazard.objects.filter(status__in=Hazard.RUNNING_STATUSES, deadline__lt=now).values_list(
            "pk", flat=True
        )
    )
    assert overdue_now == overdue_before  # the overdue ones still are, no more
    assert not HazardEvent.objects.filter(at__gt=now).exists()


def test_a_restart_within_the_hour_moves_nothing(demo_clock):
    _seed(demo_clock)
    demo_clock.start_at(SEEDED + dt.timedelta(minutes=20))
    assert demo_hazards.carry_forward(clock.now()) == 0
