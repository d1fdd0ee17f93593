"""A day not over yet, and a platform that was down: compliance counts the rounds still
to come as not failed, rounds not started say so, and misses the platform only found
after downtime go to the school without being escalated to the police as if new."""

import datetime as dt

import pytest
from django.urls import reverse

from campus_safety.patrols import services, statistics
from campus_safety.patrols.models import PatrolAlarm, TourScan
from tests.factories import UserFactory, sign_in
from tests.patrols.support import FrozenClock, local, tour

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)
HOURS = ("08", "10", "12", "14", "16")


@pytest.fixture
def now(monkeypatch):
    return FrozenClock(monkeypatch, local(DAY, "07:00"))


def walk(school, checkpoints, hour):
    for m, checkpoint in enumerate(checkpoints):
        TourScan.objects.create(
            school=school, checkpoint=checkpoint, code=checkpoint.code, source="device",
            source_key="d0", event_id=f"{hour}-{m}", occurred_at=local(DAY, f"{hour}:0{m + 1}"),
            received_at=local(DAY, f"{hour}:0{m + 1}"),
        )  # fmt: skip


def test_at_noon_a_school_that_walked_every_round_so_far_is_compliant(now):
    walker, checkpoints, _plan = tour(starts=tuple(f"{h}:00" for h in HOURS))
    skipper, _skipped, _plan = tour(starts=tuple(f"{h}:00" for h in HOURS), codes=("X", "Y"))
    services.ensure_rounds(DAY)
    walk(walker, checkpoints, "08")
    walk(walker, checkpoints, "10")
    now.set(local(DAY, "11:00"))
    services.sweep()
    rows = services.compliance(type(walker).objects.all(), DAY)
    assert (rows[walker.pk].walked, rows[walker.pk].in_progress, rows[walker.pk].upcoming) == (
        2, 0, 3)  # fmt: skip
    assert rows[walker.pk].is_compliant  # can still walk its five
    assert not rows[skipper.pk].is_compliant  # two rounds missed: five are out of reach
    assert statistics.tour_compliance_rate(type(walker).objects.all(), DAY) == 0.5


def test_at_seven_nothing_has_failed_yet(now):
    school, _checkpoints, _plan = tour(starts=tuple(f"{h}:00" for h in HOURS))
    services.ensure_rounds(DAY)
    services.sweep()
    assert statistics.tour_compliance_rate(type(school).objects.all(), DAY) == 1.0


def test_a_finished_day_still_needs_the_rounds_walked(now):
    school, checkpoints, _plan = tour(starts=tuple(f"{h}:00" for h in HOURS))
    services.ensure_rounds(DAY)
    for hour in HOURS[:4]:
        walk(school, checkpoints, hour)
    now.set(local(DAY, "23:00"))
    services.sweep()
    assert not services.compliance(type(school).objects.all(), DAY)[school.pk].is_compliant


def test_rounds_not_started_say_upcoming_not_in_progress(client, now):
    school, _checkpoints, _plan = tour(starts=("08:00", "16:00"))
    services.ensure_rounds(DAY)
    now.set(local(DAY, "08:10"))
    sign_in(client, UserFactory(role="school_admin", school=school))
    page = client.get(reverse("patrols:school_rounds", args=[school.pk]) + f"?day={DAY}")
    html = page.content.decode()
    morning, afternoon = html.split('id="round-')[1:3]
    assert "In progress" in morning and "Upcoming" not in morning
    assert "Upcoming" in afternoon and "In progress" not in afternoon


def test_misses_found_after_downtime_go_to_the_school_but_not_the_police(now):
    school, checkpoints, _plan = tour(starts=("08:00",))
    services.ensure_rounds(DAY)
    now.set(local(DAY, "10:41"))  # the round closed at 08:40; the platform was down
    services.sweep()
    assert PatrolAlarm.objects.filter(school=school).count() == len(checkpoints)
    now.advance(minutes=30)
    assert services.sweep()["escalated"] == 0
    assert not PatrolAlarm.objects.filter(escalated_at__isnull=False).exists()


def test_a_miss_found_a_few_minutes_late_is_still_escalated(now):
    tour(starts=("08:00",), codes=("A",))
    services.ensure_rounds(DAY)
    now.set(local(DAY, "08:50"))  # ten minutes after the close: a short restart
    services.sweep()
    now.advance(minutes=15)
    assert services.sweep()["escalated"] == 1
