"""``POST /api/v1/ingest``: signed batches from one device, answered per event."""

import datetime as dt
import json
import math

import pytest
from django.test import Client

from campus_safety import clock
from campus_safety.alarms.models import AlarmEvent
from campus_safety.devices import liveness
from campus_safety.devices.models import DeviceEvent
from campus_safety.gateway.contract import signature
from tests.devices.support import SECRET, DeviceFactory, fresh_liveness

URL = "/api/v1/ingest"
TS = "2026-03-02T08:15:00+08:00"


@pytest.fixture(autouse=True)
def live(db, clock):
    yield fresh_liveness()
    liveness.reset()


@pytest.fixture
def device():
    return DeviceFactory(protocol="http")


def alarm(event_id: str | int, **fields) -> dict:
    return {"kind": "alarm", "event_id": event_id, "ts": TS, "priority": 1, **fields}


def post(client, device, events=None, *, body=None, secret=SECRET, timestamp=None, **headers):
    """Send a batch signed as ``device`` would (override any part to break it)."""
    if body is None:
        body = json.dumps({"device_id": device.device_id, "events": events}).encode()
    timestamp = timestamp or str(int(clock.now().timestamp()))
    meta = {
        "HTTP_X_DEVICE_ID": device.device_id,
        "HTTP_X_TIMESTAMP": timestamp,
        "HTTP_X_SIGNATURE": signature(secret, timestamp, body),
        **headers,
    }
    return client.post(URL, data=body, content_type="application/json", **meta)


def test_a_signed_batch_is_stored_and_answered_per_event(client, device):
    response = post(client, device, [alarm("h-1"), alarm("h-2", description="后门入侵")])
    assert response.status_code == 200
    answer = response.json()
    assert [r["outcome"] for r in answer["results"]] == ["accepted", "accepted"]
    assert (answer["accepted"], answer["rejected"]) == (2, 0)
    assert AlarmEvent.objects.filter(device=device, protocol="http").count() == 2


def test_a_numeric_event_id_is_stored_and_echoed_as_the_device_sent_it(client, device):
    response = post(client, device, [alarm(4711), alarm("4712")])
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["event_id"], r["outcome"]) for r in results] == [
        (4711, "accepted"),
        ("4712", "accepted"),
    ]
    stored = set(AlarmEvent.objects.filter(device=device).values_list("event_id", flat=True))
    assert stored == {"4711", "4712"}
    again = post(client, device, [alarm(4711)]).json()["results"][0]
    assert (again["event_id"], again["outcome"]) == (4711, "duplicate")


def test_the_same_batch_sent_again_is_answered_duplicate_and_stored_once(client, device):
    post(client, device, [alarm("h-1")])
    response = post(client, device, [alarm("h-1")])
    assert response.status_code == 200
    assert response.json()["results"][0]["outcome"] == "duplicate"
    assert AlarmEvent.objects.count() == 1


def test_a_mixed_batch_keeps_the_good_events(client, device):
    events = [
        alarm("m-1"),
        alarm("m-2", priority=9),
        {"kind": "patrol", "event_id": "m-3", "ts": TS, "checkpoint_id": "CP1", "card_id": "C9"},
        {"kind": "siren", "event_id": "m-4", "ts": TS},
        "not an object",
        {"kind": "heartbeat"},
    ]
    response = post(client, device, events)
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == [
        "accepted",
        "rejected",
        "accepted",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert results[1]["reason"] == "priority must be an integer from 1 to 4"
    assert results[1]["event_id"] == "m-2"
    assert AlarmEvent.objects.get().event_id == "m-1"
    assert DeviceEvent.objects.get().event_id == "m-3"


def test_a_bad_signature_is_refused(client, device):
    response = post(client, device, [alarm("x")], secret="not-the-secret")
    assert response.status_code == 401
    assert response.json() == {"error": "bad signature"}
    assert not AlarmEvent.objects.exists()


def test_a_tampered_body_is_refused(client, device):
    body = json.dumps({"device_id": device.device_id, "events": [alarm("x")]}).encode()
    timestamp = str(int(clock.now().timestamp()))
    response = client.post(
        URL,
        data=body.replace(b'"priority": 1', b'"priority": 2'),
        content_type="application/json",
        HTTP_X_DEVICE_ID=device.device_id,
        HTTP_X_TIMESTAMP=timestamp,
        HTTP_X_SIGNATURE=signature(SECRET, timestamp, body),
    )
    assert (response.status_code, response.json()["error"]) == (401, "bad signature")


def test_an_unknown_device_is_refused(client, device):
    ghost = DeviceFactory.build(device_id="37140200111347000999")
    response = post(client, ghost, [alarm("x")])
    assert (response.status_code, response.json()["error"]) == (401, "unknown or unapproved device")


def test_missing_signature_headers_are_refused(client, device):
    response = client.post(URL, data=b"{}", content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("HMAC-SHA256")


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_request_outside_the_replay_window_is_refused(client, device, skew):
    now = clock.now().timestamp()
    # whole seconds rounded away from now, so the skew is never less than it says
    timestamp = str(math.ceil(now) + skew if skew > 0 else math.floor(now) + skew)
    response = post(client, device, [alarm("x")], timestamp=timestamp)
    assert response.status_code == 401
    assert response.json()["error"] == "X-Timestamp is outside the 300 s replay window"


def test_a_request_inside_the_replay_window_is_accepted_with_an_rfc3339_timestamp(client, device):
    when = (clock.now() - dt.timedelta(seconds=290)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    response = post(client, device, [alarm("x")], timestamp=when.isoformat())
    assert response.status_code == 200


def test_an_oversize_body_is_refused_before_it_is_read(client, device, settings):
    settings.INGEST_HTTP_MAX_BYTES = 2048
    response = post(client, device, [alarm("big", description="x" * 200)] * 20)
    assert response.status_code == 413
    assert not AlarmEvent.objects.exists()


def test_too_many_events_in_one_batch_are_refused(client, device, settings):
    settings.INGEST_HTTP_MAX_EVENTS = 3
    response = post(client, device, [alarm(f"e-{n}") for n in range(4)])
    assert (response.status_code, response.json()["error"]) == (400, "at most 3 events per batch")


def test_the_body_must_name_the_signing_device(client, device):
    other = DeviceFactory(protocol="http")
    body = json.dumps({"device_id": other.device_id, "events": [alarm("x")]}).encode()
    response = post(client, device, body=body)
    assert response.status_code == 400


def test_no_session_or_csrf_token_is_needed(device):
    response = post(Client(enforce_csrf_checks=True), device, [alarm("csrf-free")])
    assert response.status_code == 200


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405


def test_a_heartbeat_batch_marks_the_device_seen_without_a_row(client, device, live):
    response = post(client, device, [{"kind": "heartbeat"}])
    assert response.status_code == 200
    assert device.device_id in live.store.snapshot()[0]
    assert not DeviceEvent.objects.exists()
