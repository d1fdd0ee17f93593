"""The case workflow: opening and merging on ingestion, each human step, closing."""

import pytest

from campus_safety.alarms import workflow
from campus_safety.alarms.models import AlarmCase, AlarmEvent
from tests.alarms.support import send_alarm
from tests.devices.support import DeviceFactory, Events

pytestmark = pytest.mark.django_db
State = AlarmCase.State


def test_an_alarm_event_opens_a_received_case_before_ingestion_returns(clock, device):
    case = send_alarm(device, clock)
    assert case.state == State.RECEIVED
    assert case.school_id == device.school_id
    assert case.key_area == "entrance"
    assert AlarmEvent.objects.get().case_id == case.pk


def test_a_one_key_alarm_is_the_highest_priority_whatever_the_device_says(clock, device):
    assert send_alarm(device, clock, priority=4).priority == 1


def test_a_camera_alarm_keeps_the_gb28181_priority_it_was_sent_with(clock, school):
    camera = DeviceFactory(school=school, kind="camera")
    assert send_alarm(camera, clock, priority=3).priority == 3


def test_events_from_the_same_school_within_the_merge_window_join_the_open_case(
    clock, device, school
):
    first = send_alarm(device, clock)
    clock.advance(seconds=100)
    second = send_alarm(DeviceFactory(school=school), clock)
    assert second.pk == first.pk
    assert second.event_count == 2


def test_an_event_after_the_merge_window_opens_a_new_case(clock, device, settings):
    settings.ALARM_MERGE_SECONDS = 60
    first = send_alarm(device, clock)
    clock.advance(seconds=61)
    assert send_alarm(device, clock).pk != first.pk


def test_a_retried_delivery_neither_duplicates_the_event_nor_grows_the_case(clock, device):
    from campus_safety.alarms import services

    now = clock.now()
    kwargs = dict(
        device_pk=device.pk,
        device_id=device.device_id,
        school_id=device.school_id,
        event_id="same",
        occurred_at=now,
        received_at=now,
        protocol="mqtt",
        priority=1,
        method=2,
    )
    assert services.ingest_alarm(**kwargs)[1] is True
    assert services.ingest_alarm(**kwargs)[1] is False
    assert AlarmCase.objects.get().event_count == 1


def test_opening_a_case_is_announced_on_the_bus_after_commit(
    clock, device, django_capture_on_commit_callbacks
):
    events = Events()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            send_alarm(device, clock)
    finally:
        events.close()
    assert "alarm.case_opened" in events.names("alarm.")


def test_a_case_walks_from_received_to_resolved_with_each_step_timed_and_signed(
    clock, device, dispatcher, unit
):
    case = send_alarm(device, clock)
    clock.advance(seconds=10)
    workflow.acknowledge_case(case, by=dispatcher)
    clock.advance(seconds=20)
    workflow.dispatch_units(case, [unit], by=dispatcher)
    clock.advance(seconds=120)
    workflow.record_arrival(case, by=dispatcher)
    workflow.close_case(case, by=dispatcher, disposition="劝离滋扰人员", outcome="resolved")
    case.refresh_from_db()
    unit.refresh_from_db()
    assert case.state == State.RESOLVED
    assert (case.acknowledged_at - case.opened_at).total_seconds() == pytest.approx(10, abs=1)
    assert case.closed_by == dispatcher and case.disposition == "劝离滋扰人员"
    assert case.dispatches.get().cleared_at is not None
    assert unit.is_available is True


def test_a_case_cannot_be_dispatched_before_it_is_acknowledged(clock, device, dispatcher, unit):
    case = send_alarm(device, clock)
    with pytest.raises(workflow.InvalidTransition):
        workflow.dispatch_units(case, [unit], by=dispatcher)


def test_a_case_cannot_be_acknowledged_twice(clock, device, dispatcher):
    case = send_alarm(device, clock)
    workflow.acknowledge_case(case, by=dispatcher)
    with pytest.raises(workflow.InvalidTransition):
        workflow.acknowledge_case(case, by=dispatcher)


def test_closing_needs_a_written_disposition(clock, device, dispatcher):
    case = send_alarm(device, clock)
    workflow.acknowledge_case(case, by=dispatcher)
    with pytest.raises(workflow.DispositionRequired):
        workflow.close_case(case, by=dispatcher, disposition="  ", outcome="false_alarm")


def test_an_unacknowledged_case_cannot_be_closed(clock, device, dispatcher):
    case = send_alarm(device, clock)
    with pytest.raises(workflow.InvalidTransition):
        workflow.close_case(case, by=dispatcher, disposition="误报", outcome="false_alarm")


def test_a_busy_unit_cannot_be_dispatched_again(clock, device, school, dispatcher, unit, settings):
    settings.ALARM_MERGE_SECONDS = 0
    first = send_alarm(device, clock)
    clock.advance(seconds=5)
    second = send_alarm(DeviceFactory(school=school), clock)
    for case in (first, second):
        workflow.acknowledge_case(case, by=dispatcher)
    workflow.dispatch_units(first, [unit], by=dispatcher)
    unit.refresh_from_db()
    with pytest.raises(workflow.InvalidTransition, match=unit.name):
        workflow.dispatch_units(second, [unit], by=dispatcher)


def test_a_case_is_never_closed_by_the_system_however_long_it_waits(clock, device):
    from campus_safety.alarms.escalation import run_alarm_timers

    case = send_alarm(device, clock)
    for _ in range(5):
        clock.advance(days=3)
        run_alarm_timers(clock.now())
    case.refresh_from_db()
    assert case.closed_at is None and case.state == State.RECEIVED
