"""A gate ANPR camera on GB/T 28181 reports a plate read as an alarm of the vehicle
type, the plate (and direction) in vendor elements of ``<Info>``: the gateway carries
them into the payload, the ingestion validates the plate and makes the read a passage
of the camera's school — once, however often the camera resends — instead of an
alarm case; a watch-listed plate still raises its police-only hit.

The end-to-end tests run the real SIP server bound to the platform, with a scripted
device registering and sending MESSAGEs over UDP on 127.0.0.1; the same path
against a real peer, sipp, is ``test_plates_sipp.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import timezone

from campus_safety.alarms.models import AlarmCase, AlarmEvent
from campus_safety.devices import liveness
from campus_safety.devices.models import Device, DeviceEvent
from campus_safety.gate.models import VehiclePassage, WatchlistHit
from campus_safety.gateway import ingest
from campus_safety.gateway.gb28181 import manscdp, platform
from campus_safety.gateway.gb28181.server import ReceivedAlarm, Remote
from tests.devices.support import fresh_liveness
from tests.gate.sip_support import gate_camera_of, platform_sip_server
from tests.gateway.gb28181.harness import PASSWORD
from tests.gateway.gb28181.peer import UdpPeer

CAMERA_ID = "37140200001320000077"  # a gate IPC (type 132)
REMOTE = Remote("udp", "127.0.0.1", 5060)


def local_now() -> str:
    """The camera's clock: now, in the platform's zone (a watch-list entry is valid
    from the day before the test runs)."""
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S")


def plate_alarm(
    sn: int,
    plate: str | None,
    *,
    alarm_type: str = "vehicle",
    direction: str | None = "in",
    alarm_time: str | None = None,
    extra: tuple[tuple[str, object], ...] = (),
) -> bytes:
    """An alarm NOTIFY as a gate camera sends it (the plate element: its vendor's)."""
    info: list[tuple[str, object]] = [("AlarmType", alarm_type)]
    if plate is not None:
        info.append(("PlateNo", plate))
    if direction is not None:
        info.append(("Direction", direction))
    info += list(extra)
    return manscdp.build(
        "Notify",
        "Alarm",
        sn,
        CAMERA_ID,
        [
            ("AlarmPriority", "4"),
            ("AlarmMethod", "5"),
            ("AlarmTime", alarm_time or local_now()),
            ("AlarmDescription", "车牌识别"),
            ("Info", info),
        ],
    )


def payload(body: bytes) -> dict:
    notify = manscdp.parse(body)
    return platform.alarm_message(ReceivedAlarm(CAMERA_ID, REMOTE, notify)).payload


# --- the gateway: what it carries --------------------------------------------------------


@pytest.fixture
def no_liveness() -> Iterator[None]:
    fresh_liveness()
    yield
    liveness.reset()


@pytest.mark.usefixtures("no_liveness")
@pytest.mark.parametrize(
    ("direction", "expected"),
    [("in", "in"), ("OUT", "out"), ("1", "in"), ("2", "out"), ("出", "out"), (None, "in")],
)
def test_a_vehicle_alarm_carries_its_plate_and_direction(direction, expected):
    carried = payload(plate_alarm(1, "鲁N 5K321", direction=direction))
    assert (carried["plate"], carried["direction"], carried["type"]) == (
        "鲁N 5K321",  # normalised and validated by the ingestion, not here
        expected,
        "vehicle",
    )


@pytest.mark.usefixtures("no_liveness")
def test_the_direction_may_come_as_gb28181s_event_type_of_the_alarm_type_param():
    body = plate_alarm(
        1, "鲁N5K321", direction=None, extra=(("AlarmTypeParam", [("EventType", "2")]),)
    )
    assert payload(body)["direction"] == "out"


@pytest.mark.usefixtures("no_liveness")
def test_other_alarms_and_vehicle_alarms_without_a_plate_carry_none(settings):
    assert "plate" not in payload(plate_alarm(1, "鲁N5K321", alarm_type="2"))  # motion
    assert "plate" not in payload(plate_alarm(1, None))
    assert "plate" not in payload(plate_alarm(1, "  "))
    settings.GB28181_VEHICLE_ALARM_TYPES = ["13"]  # what this installer's cameras send
    assert "plate" not in payload(plate_alarm(1, "鲁N5K321"))
    assert payload(plate_alarm(1, "鲁N5K321", alarm_type="13"))["plate"] == "鲁N5K321"


@pytest.mark.usefixtures("no_liveness")
def test_an_unknown_direction_is_passed_on_for_the_ingestion_to_refuse():
    carried = payload(plate_alarm(1, "鲁N5K321", direction="sideways"))
    assert carried["direction"] == "sideways"


# --- over SIP, into the platform ---------------------------------------------------------


@pytest.fixture
def gate_camera(school, settings) -> Iterator[Device]:
    settings.GB28181_PASSWORD = PASSWORD
    with gate_camera_of(school, CAMERA_ID) as camera:
        yield camera


@pytest.fixture
def server(gate_camera) -> Iterator[int]:
    with platform_sip_server() as port:
        yield port


@pytest.fixture
def device(server) -> Iterator[UdpPeer]:
    peer = UdpPeer(server, CAMERA_ID)
    try:
        assert peer.register().status == 200
        yield peer
    finally:
        peer.close()


def send_alarm(device: UdpPeer, body: bytes) -> str:
    """MESSAGE the alarm (answered 200 at once), then the platform's Response once it
    committed: its Result. Other requests met on the way (the catalog query after the
    registration) are answered 200."""
    assert device.message(body).status == 200
    while True:
        request = device.platform_request(timeout=5)
        device.answer(request)
        if b"<Result>" in request.body:
            return manscdp.parse(request.body).fields["Result"]


@pytest.mark.django_db(transaction=True)
def test_a_plate_alarm_becomes_one_passage_of_the_school_however_often_it_is_resent(device, school):
    body = plate_alarm(41, "鲁N5K321")
    assert [send_alarm(device, body) for _ in range(3)] == ["OK", "OK", "OK"]
    passage = VehiclePassage.objects.get()
    assert (passage.school, passage.plate, passage.direction, passage.source) == (
        school,
        "鲁N5K321",
        "in",
        "camera",
    )
    assert passage.event_id == platform.alarm_event_id(manscdp.parse(body))
    assert DeviceEvent.objects.filter(kind="vehicle.plate").count() == 1
    assert not AlarmEvent.objects.exists() and not AlarmCase.objects.exists()
    # a new read (another SN) is another passage; the exit is one too
    assert send_alarm(device, plate_alarm(42, "鲁N5K321", direction="out")) == "OK"
    assert list(VehiclePassage.objects.order_by("pk").values_list("direction", flat=True)) == [
        "in",
        "out",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_watch_listed_plate_read_over_sip_raises_its_police_only_hit_once(device, entry):
    body = plate_alarm(43, "鲁N99999")
    assert [send_alarm(device, body) for _ in range(2)] == ["OK", "OK"]
    assert VehiclePassage.objects.count() == 1
    hit = WatchlistHit.objects.get()
    assert (hit.entry, hit.source) == (entry, WatchlistHit.Source.VEHICLE)
    case = AlarmCase.objects.get()
    assert (case.alarm_type, case.police_only) == ("watchlist", True)


@pytest.mark.django_db(transaction=True)
def test_a_malformed_plate_is_refused_and_nothing_is_stored(device):
    assert send_alarm(device, plate_alarm(44, "ABC123")) == "ERROR"
    assert send_alarm(device, plate_alarm(45, "鲁N5K321", direction="sideways")) == "ERROR"
    assert not VehiclePassage.objects.exists()
    assert not DeviceEvent.objects.exists() and not AlarmEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_alarm_of_another_type_still_opens_a_case_even_with_a_plate(device, school):
    assert send_alarm(device, plate_alarm(46, "鲁N5K321", alarm_type="6")) == "OK"  # intrusion
    assert not VehiclePassage.objects.exists()
    assert AlarmCase.objects.get().school == school


@pytest.mark.django_db
def test_only_gb28181_alarms_are_read_as_plates(no_liveness, clock):
    """MQTT and HTTP devices send ``vehicle.plate``; their alarms stay alarms."""
    message = ingest.DeviceMessage(
        CAMERA_ID, "alarm", "e-1", clock.now(), {"plate": "鲁N5K321"}, "http"
    )
    assert ingest.plate_read(message) is message
    gb = ingest.DeviceMessage(
        CAMERA_ID, "alarm", "e-1", clock.now(), {"plate": "鲁N5K321"}, "gb28181"
    )
    assert ingest.plate_read(gb).kind == "vehicle.plate"
