"""An emergency alarm is never dropped for a cosmetic fault (issue #13, defect 4).

A device's alarm is stored whenever its device and its time can be read: control
characters, an SN of 40 digits, an unescaped ``&`` or a broken description are cleaned
or truncated, and the raw body is kept with the alarm (``payload.raw_base64``) with a
list of what was repaired (``payload.repairs``). Hypothesis checks the property on the
parser and the platform's normalisation; the end-to-end test sends such alarms over
real UDP to the real server bound to the real database.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import threading
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campus_safety.alarms.models import AlarmEvent
from campus_safety.devices import liveness
from campus_safety.devices.models import Device
from campus_safety.gateway import ingest
from campus_safety.gateway.gb28181 import manscdp, platform
from campus_safety.gateway.gb28181.server import ReceivedAlarm, Remote
from tests.devices.support import DeviceFactory, fresh_liveness
from tests.gateway.gb28181.harness import ALARM_INPUT_ID, NVR_ID
from tests.gateway.gb28181.peer import UdpPeer

REMOTE = Remote("udp", "10.20.30.40", 5060)
ALARM_TIME = "2024-03-01T08:00:00"
LONG_SN = "1234567890" * 4  # 40 digits, as the device sent


def alarm_bytes(
    *,
    sn: str = "5",
    description: str = "一键报警",
    alarm_time: str = ALARM_TIME,
    device_id: str = ALARM_INPUT_ID,
    escaped: bool = True,
    encoding: str = "GB2312",
) -> bytes:
    """An Alarm Notify as a device writes it, escaping its text or (as some do) not."""
    text = escape(description) if escaped else description
    sn_text = escape(sn) if escaped else sn
    body = (
        f'<?xml version="1.0" encoding="{encoding}"?>\r\n<Notify>\r\n'
        f"<CmdType>Alarm</CmdType>\r\n<SN>{sn_text}</SN>\r\n<DeviceID>{device_id}</DeviceID>\r\n"
        f"<AlarmPriority>1</AlarmPriority>\r\n<AlarmMethod>2</AlarmMethod>\r\n"
        f"<AlarmTime>{alarm_time}</AlarmTime>\r\n"
        f"<AlarmDescription>{text}</AlarmDescription>\r\n"
        f"<Info>\r\n<AlarmType>1</AlarmType>\r\n</Info>\r\n</Notify>\r\n"
    )
    codec = "gb18030" if encoding == "GB2312" else encoding
    return body.encode(codec, errors="xmlcharrefreplace")


# --- the parser ----------------------------------------------------------------------------


def test_an_alarm_whose_description_holds_a_control_character_is_read():
    notify = manscdp.parse(alarm_bytes(description="一键\x01报警\x1b"))
    assert isinstance(notify, manscdp.AlarmNotify)
    assert (notify.device_id, notify.sn, notify.alarm_time) == (ALARM_INPUT_ID, 5, ALARM_TIME)
    assert notify.description.replace(" ", "") == "一键报警"
    assert notify.repairs  # says what was cleaned


def test_an_alarm_whose_sn_has_40_digits_is_read_with_its_sn_kept_whole():
    notify = manscdp.parse(alarm_bytes(sn=LONG_SN))
    assert isinstance(notify, manscdp.AlarmNotify)
    assert notify.sn_text == LONG_SN
    assert notify.repairs
    # the platform's Response echoes the SN the device sent, so the device can match it
    response = manscdp.build_alarm_response(notify.sn_text, notify.device_id)
    assert f"<SN>{LONG_SN}</SN>".encode() in response


def test_an_alarm_with_an_unescaped_ampersand_or_a_broken_description_is_read():
    for description in ("A & B", "门<口>报警", "</AlarmDescription></Notify>", "&#1;&nbsp;"):
        notify = manscdp.parse(alarm_bytes(description=description, escaped=False))
        assert isinstance(notify, manscdp.AlarmNotify), description
        assert (notify.device_id, notify.occurred_at) == (
            ALARM_INPUT_ID,
            dt.datetime(2024, 3, 1, 8),
        )
        assert notify.repairs, description


def test_a_well_formed_alarm_is_read_without_repairs():
    notify = manscdp.parse(alarm_bytes())
    assert (notify.sn, notify.sn_text, notify.repairs) == (5, "", ())


def test_a_broken_body_that_is_not_an_alarm_is_still_refused():
    keepalive = manscdp.build_keepalive(3, NVR_ID).replace(b"OK", b"O\x01K")
    with pytest.raises(manscdp.ManscdpError):
        manscdp.parse(keepalive)
    with pytest.raises(manscdp.ManscdpError):  # an alarm whose device cannot be read
        manscdp.parse(alarm_bytes(device_id="37140200\x0101340000001", escaped=False))


# --- the property: readable device and time → a storable alarm -----------------------------

descriptions = st.text(max_size=400) | st.text(
    alphabet=st.sampled_from(list("<>&;#x/\x00\x01\x08\x0b\x1f\x7f\x85 ]]一键报警")), max_size=80
)
sns = (
    st.integers(0, 10**18 - 1).map(str)
    | st.text(alphabet="0123456789", min_size=19, max_size=90)
    | st.text(max_size=30)
)
times = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    description=descriptions,
    sn=sns,
    moment=times,
    escaped=st.booleans(),
    encoding=st.sampled_from(["GB2312", "UTF-8"]),
)
def test_any_alarm_whose_device_and_time_are_readable_becomes_a_storable_message(
    description, sn, moment, escaped, encoding
):
    alarm_time = moment.strftime("%Y-%m-%dT%H:%M:%S")
    body = alarm_bytes(
        sn=sn, description=description, alarm_time=alarm_time, escaped=escaped, encoding=encoding
    )
    notify = manscdp.parse(body)
    assert isinstance(notify, manscdp.AlarmNotify)
    assert notify.device_id == ALARM_INPUT_ID
    assert notify.occurred_at == moment.replace(microsecond=0)

    message = platform.alarm_message(ReceivedAlarm(ALARM_INPUT_ID, REMOTE, notify, raw=body))
    assert 1 <= len(message.event_id) <= 64
    ingest.validate_payload("alarm", message.payload)  # raises InvalidEvent if not storable
    text = json.dumps(message.payload, ensure_ascii=False)
    assert "\x00" not in text and "\\u0000" not in text  # PostgreSQL's jsonb refuses NUL
    if notify.repairs or message.payload.get("repairs"):
        assert base64.b64decode(message.payload["raw_base64"]) == body
    response = manscdp.parse_tree(  # well-formed, whatever SN it echoes
        manscdp.build_alarm_response(notify.sn_text or notify.sn, ALARM_INPUT_ID)
    )
    assert response.text_of("DeviceID") == ALARM_INPUT_ID


def test_a_resent_repaired_alarm_keeps_its_event_id():
    first = manscdp.parse(alarm_bytes(sn=LONG_SN))
    again = manscdp.parse(alarm_bytes(sn=LONG_SN))
    other = manscdp.parse(alarm_bytes(sn=LONG_SN[:-1] + "9"))
    assert platform.alarm_event_id(first) == platform.alarm_event_id(again)
    assert platform.alarm_event_id(first) != platform.alarm_event_id(other)


# --- end to end: real UDP, the real server, the real database -------------------------------


@pytest.fixture
def running_platform(settings):
    """``platform.start`` on its own loop thread, with the device registered for it."""
    settings.GB28181_PASSWORD = "Campus-2024"
    fresh_liveness()
    DeviceFactory(
        device_id=ALARM_INPUT_ID, kind=Device.Kind.ONE_KEY_ALARM, protocol=Device.Protocol.GB28181
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(platform.start("127.0.0.1", 0), loop).result(10)
    device = UdpPeer(server.port, ALARM_INPUT_ID)
    try:
        yield server, device
    finally:
        device.close()
        server.close()
        asyncio.run_coroutine_threadsafe(server.wait_closed(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        liveness.reset()


def alarm_response(device: UdpPeer) -> dict[str, str]:
    """The platform's Alarm Response as its fields (a Catalog query may come first:
    answered, skipped)."""
    for _ in range(3):
        request = device.platform_request(timeout=5)
        device.answer(request)
        tree = manscdp.parse_tree(request.body)
        if tree.tag == "Response" and tree.text_of("CmdType") == "Alarm":
            return {child.tag: child.text for child in tree.children}
    raise AssertionError("no Alarm Response")


@pytest.mark.django_db(transaction=True)
def test_alarms_with_cosmetic_faults_are_stored_over_udp_with_their_raw_body(running_platform):
    _server, device = running_platform
    assert device.register().status == 200
    faulty = {
        "control": alarm_bytes(sn="6", description="一键\x01报警"),
        "long_sn": alarm_bytes(sn=LONG_SN),
        "ampersand": alarm_bytes(sn="8", description="A & B <门口>", escaped=False),
    }
    sns = {"control": 6, "long_sn": LONG_SN, "ampersand": 8}
    for name, body in faulty.items():
        assert device.message(body).status == 200, name
        response = alarm_response(device)
        assert response["Result"] == "OK", name
        assert response["SN"] == str(sns[name]), name  # echoed as the device sent it
    stored = {e.payload["sn"]: e for e in AlarmEvent.objects.all()}
    assert set(stored) == set(sns.values())
    for name, body in faulty.items():
        event = stored[sns[name]]
        assert event.payload["repairs"], name
        assert base64.b64decode(event.payload["raw_base64"]) == body, name
    assert stored[6].description == "一键 报警"
    assert stored[LONG_SN].occurred_at.isoformat() == "2024-03-01T00:00:00+00:00"
    assert stored[8].description.startswith("A & B")
