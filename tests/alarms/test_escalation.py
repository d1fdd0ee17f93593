"""Escalation timers: unacknowledged cases climb the chain; late arrivals are breaches."""

import pytest

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

    from campus_safety.alarms.escalation import run_alarm_timers_loop

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
