"""Escalation timers: unacknowledged cases climb the chain; late arrivals are breaches."""

import pytest
from django.db import connection

from campus_safety.alarms import workflow
from campus_safety.alarms.escalation import run_alarm_timers
from campus_safety.alarms.models import AlarmEscalation
from tests.alarms.support import send_alarm
from tests.devices.support import Events

pytestmark = pytest.mark.django_db
Reason = AlarmEscalation.Reason


def test_a_case_is_not_escalated_at_29_seconds(clock, device):
    send_alarm(device, clock)
    clock.advance(seconds=29)
    assert run_alarm_timers(clock.now()) == []


def test_an_unacknowledged_case_is_escalated_to_the_sub_bureau_at_31_seconds(
    clock, device, station, django_capture_on_commit_callbacks
):
    case = send_alarm(device, clock)
    events = Events()
    try:
        clock.advance(seconds=31)
        with django_capture_on_commit_callbacks(execute=True):
            [row] = run_alarm_timers(clock.now())
    finally:
        events.close()
    assert (row.case_id, row.reason, row.level) == (case.pk, Reason.UNACKNOWLEDGED, 1)
    assert row.organisation == station.parent
    assert "alarm.escalated" in events.names()


def test_running_the_timers_twice_at_the_same_moment_escalates_once(clock, device):
    send_alarm(device, clock)
    clock.advance(seconds=31)
    run_alarm_timers(clock.now())
    assert run_alarm_timers(clock.now()) == []
    assert AlarmEscalation.objects.count() == 1


def test_escalation_repeats_up_to_the_command_centre_until_acknowledged(
    clock, device, station, dispatcher
):
    case = send_alarm(device, clock)
    for _ in range(4):
        clock.advance(seconds=31)
        run_alarm_timers(clock.now())
    levels = list(AlarmEscalation.objects.values_list("level", flat=True))
    assert levels == [1, 2, 2, 2]
    assert AlarmEscalation.objects.last().organisation == station.parent.parent
    workflow.acknowledge_case(case, by=dispatcher)
    clock.advance(seconds=120)
    assert run_alarm_timers(clock.now()) == []


def test_a_drill_case_is_never_escalated(clock, device):
    send_alarm(device, clock, is_test=True)
    clock.advance(seconds=300)
    assert run_alarm_timers(clock.now()) == []


def test_no_arrival_inside_the_districts_circle_is_escalated_and_flagged(
    clock, device, dispatcher, unit, settings
):
    settings.ALARM_RESPONSE_CIRCLES = {"371402": 3}
    case = send_alarm(device, clock)
    workflow.acknowledge_case(case, by=dispatcher)
    workflow.dispatch_units(case, [unit], by=dispatcher)
    clock.advance(seconds=179)
    assert run_alarm_timers(clock.now()) == []
    clock.advance(seconds=2)
    [row] = run_alarm_timers(clock.now())
    case.refresh_from_db()
    assert row.reason == Reason.ARRIVAL_BREACH and case.is_breach
    assert run_alarm_timers(clock.now()) == []


def test_arrival_inside_the_circle_is_not_a_breach(clock, device, dispatcher, unit):
    case = send_alarm(device, clock)
    workflow.acknowledge_case(case, by=dispatcher)
    workflow.dispatch_units(case, [unit], by=dispatcher)
    clock.advance(minutes=4)
    workflow.record_arrival(case, by=dispatcher)
    clock.advance(minutes=10)
    assert run_alarm_timers(clock.now()) == []
    case.refresh_from_db()
    assert case.is_breach is False and case.arrival_deadline is None


def test_timers_are_database_deadlines_that_survive_a_restart(clock, device):
    """A new process sees the same deadline: nothing lives in memory."""
    case = send_alarm(device, clock)
    case.refresh_from_db()
    assert (case.next_escalation_at - case.opened_at).total_seconds() == 30


def test_the_alarm_timers_command_escalates_due_cases(clock, device):
    import io

    from django.core.management import call_command

    send_alarm(device, clock)
    clock.advance(seconds=31)
    out = io.StringIO()
    call_command("alarm_timers", stdout=out)
    assert out.getvalue().strip() == "1 escalation(s)"


@pytest.mark.django_db(transaction=True)
def test_the_timer_loop_runs_until_told_to_stop(clock, device):
    import asyncio

    from campus_safety.alarms.tasks import run_alarm_timers_loop

    send_alarm(device, clock)
    clock.advance(seconds=31)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_alarm_timers_loop(stop, interval=0.05))
        await asyncio.sleep(0.5)  # several rounds: the deadline fires once
        stop.set()
        await asyncio.wait_for(task, timeout=2)

    asyncio.run(main())
    assert AlarmEscalation.objects.count() == 1


def _storm(clock, count: int) -> list:
    """``count`` unacknowledged cases, each at its own school, opened together."""
    from tests.devices.support import DeviceFactory

    return [send_alarm(DeviceFactory(), clock) for _ in range(count)]


def test_a_storm_of_unacknowledged_cases_escalates_each_once_with_one_update_per_level(clock):
    """120 cases (three transactions of 50) at two different levels: each case escalated
    once, to its own next level, with a SELECT and at most one UPDATE per level per
    transaction — not an UPDATE per case, which starved ingestion in a storm."""
    from django.test.utils import CaptureQueriesContext

    from campus_safety.alarms.models import AlarmCase

    cases = _storm(clock, 120)
    AlarmCase.objects.filter(pk__in=[c.pk for c in cases[::2]]).update(escalation_level=1)
    clock.advance(seconds=31)
    with CaptureQueriesContext(connection) as captured:
        rows = run_alarm_timers(clock.now())
    assert sorted(r.case_id for r in rows) == sorted(c.pk for c in cases)
    by_case = {r.case_id: r.level for r in rows}
    assert {by_case[c.pk] for c in cases[::2]} == {2} and {by_case[c.pk] for c in cases[1::2]} == {
        1
    }
    updates = [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) <= 3 * 2
    assert set(AlarmCase.objects.values_list("escalation_level", flat=True)) == {1, 2}
    assert run_alarm_timers(clock.now()) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="several processes share one database only on PostgreSQL (ARCHITECTURE.md §4)",
)
def test_two_runners_at_once_escalate_each_case_exactly_once(clock):
    """Two processes' timers firing together (threads here, each with its own database
    connection): every case is claimed by one of them only."""
    import threading

    from django.db import connections

    cases = _storm(clock, 60)
    clock.advance(seconds=31)
    now, written, errors = clock.now(), [], []
    start = threading.Barrier(2)

    def runner() -> None:
        try:
            start.wait()
            written.extend(run_alarm_timers(now))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(r.case_id for r in written) == sorted(c.pk for c in cases)
    assert AlarmEscalation.objects.count() == 60
