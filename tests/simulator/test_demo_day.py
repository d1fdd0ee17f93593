"""The demo's today (issue #14 item 6): a demo started at any hour — on the day it was
seeded or days later — shows a normal day: tours walked up to now at realistic rates,
rounds still to come "未开始", no patrol alarm raised or escalated because it started,
and people on duty who answer most alarms and leave a few for the user."""

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from campus_safety import clock
from campus_safety.accounts.models import User
from campus_safety.alarms import escalation, workflow
from campus_safety.alarms.models import AlarmCase, AlarmEscalation
from campus_safety.devices.models import Device
from campus_safety.orgs.models import School
from campus_safety.patrols import services, statistics
from campus_safety.patrols.models import Checkpoint, PatrolAlarm, PostCheckIn, TourRound
from campus_safety.simulator import demo_day, duty
from campus_safety.simulator.patrol_walkers import Walkers
from tests.factories import sign_in

pytestmark = pytest.mark.django_db
ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 14)  # a Monday in term


def at(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), ZONE)


@pytest.fixture
def demo_clock():
    """The demo's controllable clock (what CAMPUS_SAFETY_CLOCK_START sets)."""
    yield clock
    clock.reset()


def seed_demo() -> None:
    call_command("seed_demo", "--schools", "40", "--seed", "5", "--verbosity", "0",
                 stdout=StringIO())  # fmt: skip


def every_school():
    return School.objects.all()


@pytest.mark.parametrize("hour", ["07:00", "12:00", "22:00"])
def test_a_demo_started_days_after_seeding_shows_a_normal_day(demo_clock, client, hour):
    demo_clock.start_at(at(DAY - dt.timedelta(days=2), "15:00"))
    seed_demo()
    demo_clock.start_at(at(DAY, hour))  # `make demo` again, two days later
    start = clock.now()

    demo_day.start_demo_day()
    services.sweep(clock.now())

    assert not PatrolAlarm.objects.filter(escalated_at__isnull=False).exists()
    assert not PatrolAlarm.objects.filter(raised_at__gte=start).exists()
    assert not TourRound.objects.filter(closes_at__lt=start, status="pending").exists()
    for day in (DAY - dt.timedelta(days=1), DAY):  # the gap and today, up to now
        assert 0.70 <= statistics.tour_compliance_rate(every_school(), day) <= 1.0
    # About 2 % of rounds are missed (patrol_walkers.MISSED), chosen by round id: at 07:00
    # only the few night rounds have closed, where one or two misses are chance (stop
    # 26's CI on PostgreSQL: 20 % of them), so the bound allows two on top of 10 %.
    walked = TourRound.objects.filter(day=DAY, closes_at__lt=start)
    missed = walked.filter(status="missed").count()
    assert missed <= 2 + 0.10 * walked.count(), (missed, walked.count())
    upcoming = TourRound.objects.filter(day=DAY, starts_at__gt=start)
    assert set(upcoming.values_list("status", flat=True)) <= {"pending"}
    if upcoming.exists():
        sign_in(client, User.objects.get(username="admin"))
        page = client.get(reverse("patrols:school_rounds", args=[upcoming.first().school_id]))
        assert page.status_code == 200
        assert "未开始" in page.content.decode()


def test_after_a_start_the_sweeps_escalate_nothing_from_before_it(demo_clock):
    demo_clock.start_at(at(DAY, "10:41"))  # the 10:00 rounds closed a minute ago
    seed_demo()
    start = clock.now()
    demo_day.start_demo_day()
    staff = duty.DutyStaff()
    for _ in range(30):  # half an hour of sweeps, with the schools answering
        services.sweep(clock.now())
        staff.step(clock.now())
        clock.advance(minutes=1)
    before = PatrolAlarm.objects.filter(raised_at__lt=start)
    assert before.exists()  # the morning's misses are in the history
    assert not before.filter(escalated_at__isnull=False).exists()
    assert not before.filter(state=PatrolAlarm.State.OPEN).exists()


def test_a_fresh_seed_makes_yesterday_and_today_up_to_now(demo_clock):
    demo_clock.start_at(at(DAY, "12:00"))
    seed_demo()
    yesterday = DAY - dt.timedelta(days=1)
    assert not TourRound.objects.filter(day=yesterday, status="pending").exists()
    assert 0.70 <= statistics.tour_compliance_rate(every_school(), yesterday) <= 1.0
    assert TourRound.objects.filter(day=DAY, starts_at__gt=clock.now()).exists()
    assert PostCheckIn.objects.filter(assignment__day=DAY).exists()  # the arrival peak
    assert not PatrolAlarm.objects.filter(escalated_at__isnull=False).exists()


def test_the_history_back_fill_is_idempotent(demo_clock):
    demo_clock.start_at(at(DAY, "12:00"))
    seed_demo()
    again = demo_day.make_today()
    assert (again["tour_scans"], again["patrol_alarms"], again["post_check_ins"]) == (0, 0, 0)


def test_the_people_on_duty_answer_most_alarms_and_leave_a_few(demo_clock):
    demo_clock.start_at(at(DAY, "09:50"))
    seed_demo()
    demo_day.start_demo_day()
    start = clock.now()
    staff, walkers = duty.DutyStaff(), Walkers()
    devices = list(Device.objects.filter(kind=Device.Kind.ONE_KEY_ALARM).order_by("pk"))
    checkpoints = {c.device.device_id: c for c in Checkpoint.objects.filter(device__isnull=False)
                   .select_related("device")}  # fmt: skip
    forgotten = TourRound.objects.filter(starts_at=at(DAY, "10:00")).first()
    walkers.sent |= {(forgotten.pk, stop["checkpoint"]) for stop in forgotten.detail}
    for second in range(0, 120 * 60, 10):  # two hours, every 10 s
        now = clock.now()
        if second < 60 * 60 and second % 90 == 0:  # an alarm press every 90 s for an hour
            device = devices[(second // 90) % len(devices)]
            workflow.open_or_merge_case(
                device_pk=device.pk, school_id=device.school_id, received_at=now,
                occurred_at=now, priority=1, alarm_type="1", description="一键报警（模拟）",
                is_test=False,
            )  # fmt: skip
        if second % 60 == 0:
            for device_id in walkers.step(now):  # guards at checkpoint devices
                checkpoint = checkpoints[device_id]
                services.record_device_scan(
                    device_pk=checkpoint.device_id, school_id=checkpoint.school_id,
                    event_id=f"t{second}-{device_id}", occurred_at=now, received_at=now,
                    checkpoint_code=checkpoint.code,
                )  # fmt: skip
            services.sweep(now)
        staff.step(now)
        escalation.run_alarm_timers(now)
        clock.advance(seconds=10)

    # (the demo's loitering car of the day is the gate's case, not the people on duty's)
    cases = AlarmCase.objects.filter(opened_at__gte=start).exclude(
        events__event_id__startswith="loiter-"
    )
    still_open = cases.filter(closed_at__isnull=True)
    assert cases.count() >= 30
    # Left ones wait unacknowledged; one that grew LEFT_HOURS old meanwhile (the demo
    # clock also runs with the wall clock, so a slow run passes that age) was taken by
    # a colleague and is being worked on.
    aged = dt.timedelta(hours=duty.LEFT_HOURS)
    taken = [c for c in still_open if c.state != AlarmCase.State.RECEIVED]
    assert all(
        c.acknowledged_at is not None and c.acknowledged_at - c.opened_at >= aged for c in taken
    ), [(c.pk, c.state, c.opened_at, c.acknowledged_at, c.acknowledged_by_id) for c in taken]
    assert 1 <= still_open.filter(state=AlarmCase.State.RECEIVED).count() <= duty.MOST_LEFT
    closed = cases.filter(closed_at__isnull=False)
    assert closed.count() >= 0.8 * cases.count()  # … the rest answered and closed
    assert set(closed.values_list("state", flat=True)) == {"resolved", "false_alarm"}
    assert all(c.disposition for c in closed)
    assert closed.filter(dispatches__isnull=False).exists()  # police sent to real ones
    late = dt.timedelta(seconds=settings.ALARM_ACK_SECONDS)
    assert all(c.acknowledged_at - c.opened_at < late for c in closed)
    unacknowledged = AlarmEscalation.objects.filter(reason="unacknowledged")
    assert set(unacknowledged.values_list("case_id", flat=True)) <= set(
        still_open.values_list("pk", flat=True)
    )
    # One guard forgot the 10:00 round: its misses were raised as the round closed, and
    # the school answered within the 15 minutes all but the few left for the user.
    live = PatrolAlarm.objects.filter(raised_at__gte=start)
    assert live.filter(round=forgotten).count() == len(forgotten.detail)
    answered = live.exclude(state=PatrolAlarm.State.OPEN)
    assert answered.count() >= live.count() - duty.MOST_LEFT
    assert all(a.acknowledged_at - a.raised_at < dt.timedelta(minutes=15) for a in answered)
    assert not answered.filter(escalated_at__isnull=False).exists()
    assert set(answered.values_list("state", flat=True)) == {PatrolAlarm.State.RESOLVED}
