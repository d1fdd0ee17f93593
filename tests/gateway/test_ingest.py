"""The one ingestion service: validate, deduplicate, commit, then answer and announce."""

import datetime as dt
import json

import pytest
from django.db import transaction

from campus_safety.alarms.models import AlarmEvent
from campus_safety.audit.models import AuditEntry
from campus_safety.devices import liveness
from campus_safety.devices.models import Device, DeviceEvent
from campus_safety.gateway.ingest import (
    DeviceMessage,
    InvalidEvent,
    ingest,
    ingest_batch,
    parse_json_event,
)
from tests.devices.support import DeviceFactory, Events, fresh_liveness

TS = "2026-03-02T08:15:00+08:00"


@pytest.fixture(autouse=True)
def live(db, clock):
    yield fresh_liveness()
    liveness.reset()


@pytest.fixture
def events():
    recorder = Events()
    yield recorder
    recorder.close()


def alarm(device, event_id="a-1", **fields) -> DeviceMessage:
    payload = {"event_id": event_id, "ts": TS, "priority": 1, "method": 2, **fields}
    occurred = dt.datetime.fromisoformat(TS)
    return DeviceMessage(device.device_id, "alarm", event_id, occurred, payload, "mqtt")


def test_an_alarm_delivered_twice_is_stored_once(events, django_capture_on_commit_callbacks):
    device = DeviceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first = ingest(alarm(device, description="教学楼一键报警"))
        second = ingest(alarm(device, description="教学楼一键报警"))
    assert (first.outcome, second.outcome) == ("accepted", "duplicate")
    assert first.object_id == second.object_id
    stored = AlarmEvent.objects.get()
    assert (stored.school_id, stored.priority, stored.description) == (
        device.school_id,
        1,
        "教学楼一键报警",
    )
    assert events.names("alarm.") == ["alarm.event", "alarm.case_opened"]
    assert events.seen[0][1]["device_id"] == device.device_id


def test_device_messages_leave_no_audit_entries():
    device = DeviceFactory()
    entries = AuditEntry.objects.count()
    ingest(alarm(device))
    assert AuditEntry.objects.count() == entries


def test_a_heartbeat_writes_no_row_and_runs_no_query(live, django_assert_num_queries):
    device = DeviceFactory()
    live.directory.load()
    beat = DeviceMessage(device.device_id, "heartbeat", "", dt.datetime.now(dt.UTC), {}, "mqtt")
    with django_assert_num_queries(0):
        assert ingest(beat).outcome == "accepted"
    assert device.device_id in live.store.snapshot()[0]


def test_an_unknown_device_is_rejected_with_a_reason():
    DeviceFactory()
    ghost = DeviceFactory.build(device_id="37140200111347000999")
    result = ingest(alarm(ghost))
    assert (result.outcome, result.reason) == ("rejected", "unknown or unapproved device")
    assert not AlarmEvent.objects.exists()


def test_an_unapproved_device_is_rejected():
    result = ingest(alarm(DeviceFactory(is_approved=False)))
    assert result.outcome == "rejected"


def test_a_device_speaking_another_protocol_is_rejected():
    device = DeviceFactory(protocol="gb28181")
    result = ingest(alarm(device))
    assert (result.outcome, result.reason) == (
        "rejected",
        "device is registered for gb28181, not mqtt",
    )


def test_a_batch_keeps_the_good_events_when_one_is_bad():
    device = DeviceFactory()
    results = ingest_batch(
        [
            alarm(device, "a-1"),
            alarm(device, "a-2", priority=9),
            alarm(device, "a-3"),
            alarm(device, "a-1"),
        ]
    )
    assert [r.outcome for r in results] == ["accepted", "rejected", "accepted", "duplicate"]
    assert results[1].reason == "priority must be an integer from 1 to 4"
    assert sorted(AlarmEvent.objects.values_list("event_id", flat=True)) == ["a-1", "a-3"]


def test_a_patrol_scan_is_stored_once_and_announced(events, django_capture_on_commit_callbacks):
    device = DeviceFactory(kind="patrol_checkpoint")
    payload = {"event_id": "p-7", "ts": TS, "checkpoint_id": "CP-03", "card_id": "G0042"}
    scan = DeviceMessage(
        device.device_id, "patrol", "p-7", dt.datetime.fromisoformat(TS), payload, "mqtt"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert [r.outcome for r in ingest_batch([scan, scan])] == ["accepted", "duplicate"]
    assert DeviceEvent.objects.get().payload["checkpoint_id"] == "CP-03"
    assert events.names("patrol.") == ["patrol.scan"]


def test_a_fault_report_makes_the_device_faulty_until_it_reports_ok(
    events, django_capture_on_commit_callbacks
):
    device = DeviceFactory(status="online")

    def status(event_id, **fields):
        payload = {"event_id": event_id, "ts": TS, **fields}
        when = dt.datetime.fromisoformat(TS)
        return DeviceMessage(device.device_id, "status", event_id, when, payload, "mqtt")

    with django_capture_on_commit_callbacks(execute=True):
        ingest(status("s-1", state="fault", fault_code="E42", description="tamper"))
    assert Device.objects.get(pk=device.pk).status == "fault"
    with django_capture_on_commit_callbacks(execute=True):
        ingest(status("s-2", state="ok"))
    assert Device.objects.get(pk=device.pk).status == "online"
    assert events.names("device.") == ["device.fault", "device.online"]
    assert DeviceEvent.objects.filter(kind="status").count() == 2


@pytest.mark.django_db(transaction=True)
def test_ingest_refuses_to_run_inside_a_callers_transaction():
    """Otherwise "committed" would be a promise the caller could still break."""
    device = DeviceFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(alarm(device))


@pytest.mark.django_db(transaction=True)
def test_an_alarm_is_announced_only_once_committed(events):
    device = DeviceFactory()
    assert ingest(alarm(device)).outcome == "accepted"
    # on_commit has run: committed (the event, then the case it opened)
    assert events.names("alarm.") == ["alarm.event", "alarm.case_opened"]


def body(**fields) -> bytes:
    return json.dumps({"event_id": "e-1", "ts": TS, **fields}).encode()


def test_a_json_alarm_is_parsed_into_a_device_message():
    message = parse_json_event(
        "37140200111347000001", "alarm", body(priority=2, type="6"), "mqtt", "1.2.3.4"
    )
    assert (message.kind, message.event_id, message.payload["type"]) == ("alarm", "e-1", "6")
    assert message.occurred_at == dt.datetime(2026, 3, 2, 0, 15, tzinfo=dt.UTC)


def test_a_utc_z_timestamp_is_accepted():
    message = parse_json_event("x", "heartbeat", body(ts="2026-03-02T00:15:00Z"), "mqtt")
    assert message.occurred_at.utcoffset() == dt.timedelta(0)


def test_a_heartbeat_may_have_an_empty_body():
    assert parse_json_event("x", "heartbeat", b"", "mqtt").kind == "heartbeat"


@pytest.mark.parametrize(
    ("kind", "raw", "reason"),
    [
        ("alarm", b"\xff\xfe", "body is not valid UTF-8 JSON"),
        ("alarm", b"[1, 2]", "an event must be a JSON object"),
        ("alarm", b"[" * 5000 + b"]" * 5000, "body is not valid UTF-8 JSON"),
        ("alarm", body(priority=1, longitude=float("nan")), "JSON NaN is not allowed"),
        ("alarm", body(priority=0), "priority must be an integer from 1 to 4"),
        ("alarm", body(priority=True), "priority must be an integer from 1 to 4"),
        ("alarm", body(priority=1, latitude=95), "latitude must be within ±90"),
        ("alarm", json.dumps({"ts": TS, "priority": 1}).encode(), "event_id is required"),
        ("alarm", body(priority=1, event_id="x" * 65), "event_id is longer than 64 characters"),
        ("alarm", body(priority=1, ts="2026-03-02T08:15:00"), "ts needs a time-zone offset"),
        ("alarm", body(priority=1, ts="yesterday"), "ts must be an RFC 3339 date-time string"),
        ("alarm", body(priority=1, device_id="other"), "device_id in the body does not match"),
        ("status", body(state="broken"), 'state must be "ok" or "fault"'),
        ("patrol", body(checkpoint_id="CP-1"), "card_id or guard_id is required"),
        ("patrol", body(card_id="G1"), "checkpoint_id is required"),
        ("siren", body(), "kind must be one of heartbeat, alarm, patrol, status"),
    ],
)
def test_a_bad_event_is_refused_with_one_clear_reason(kind, raw, reason):
    with pytest.raises(InvalidEvent) as refused:
        parse_json_event("37140200111347000001", kind, raw, "mqtt")
    assert refused.value.reason.startswith(reason)


def test_an_event_over_the_size_limit_is_refused(settings):
    settings.INGEST_MAX_EVENT_BYTES = 1024
    with pytest.raises(InvalidEvent, match="body larger than 1024 bytes"):
        parse_json_event("x", "alarm", body(priority=1, description="x" * 1100), "mqtt")
