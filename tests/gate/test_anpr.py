"""Plate reads from a gate ANPR camera arrive as device events of kind
``vehicle.plate`` through the ingestion path (HTTP here; MQTT shares it), become
passages matched to the school's list, and a watch-listed plate raises a hit."""

import json

import pytest

from campus_safety import clock
from campus_safety.alarms.models import AlarmCase
from campus_safety.devices import liveness
from campus_safety.gate import services
from campus_safety.gate.models import VehiclePassage
from campus_safety.gateway.contract import signature
from tests.devices.support import SECRET, DeviceFactory, fresh_liveness

pytestmark = pytest.mark.django_db


@pytest.fixture
def camera(school, clock):
    device = DeviceFactory(protocol="http", school=school, kind="camera")
    fresh_liveness()
    yield device
    liveness.reset()


def post(client, device, events):
    body = json.dumps({"device_id": device.device_id, "events": events}).encode()
    stamp = str(int(clock.now().timestamp()))
    return client.post(
        "/api/v1/ingest",
        data=body,
        content_type="application/json",
        HTTP_X_DEVICE_ID=device.device_id,
        HTTP_X_TIMESTAMP=stamp,
        HTTP_X_SIGNATURE=signature(SECRET, stamp, body),
    )


def read(event_id, plate, direction="in"):
    return {
        "kind": "vehicle.plate",
        "event_id": event_id,
        "ts": clock.now().isoformat(),
        "plate": plate,
        "direction": direction,
    }


def test_plate_reads_become_passages_once(client, camera, school, guard, entry):
    services.save_vehicle(school, by=guard, plate="鲁N12345", kind="staff")
    answer = post(
        client,
        camera,
        [
            read("p-1", "鲁N12345"),
            read("p-1", "鲁N12345"),
            read("p-2", "鲁N99999"),
            read("p-3", "XX"),
        ],
    ).json()
    assert [r["outcome"] for r in answer["results"]] == [
        "accepted",
        "duplicate",
        "accepted",
        "rejected",
    ]
    passages = VehiclePassage.objects.order_by("pk")
    assert [(p.plate, p.source, p.vehicle_id is not None) for p in passages] == [
        ("鲁N12345", "camera", True),
        ("鲁N99999", "camera", False),
    ]
    assert AlarmCase.objects.filter(police_only=True, alarm_type="watchlist").count() == 1


def test_an_unknown_plate_read_again_and_again_at_peak_time_opens_one_case(
    client, camera, school, clock
):
    """Through the ingestion path: the third read within the minutes, in the dismissal
    window, opens the school's (not police-only) loitering case; later reads do not."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from django.conf import settings

    clock.start_at(
        dt.datetime(2026, 12, 7, 16, 40, tzinfo=ZoneInfo(settings.TIME_ZONE))
    )  # a Monday
    for index in range(5):
        assert post(client, camera, [read(f"l-{index}", "鲁N5K321")]).status_code == 200
        clock.advance(minutes=1)
    case = AlarmCase.objects.get(alarm_type="vehicle_loiter")
    assert case.school == school and not case.police_only
