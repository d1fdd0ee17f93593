"""A GB/T 28181 registration is durable before its 200 OK (issue #13, defect 3), and an
alarm from a known device whose registration the server does not hold is judged by the
address of its last durable registration.

Registrations are written by the platform's binding (``platform.RegistrationSaver``)
in a thread of their own, REGISTERs arriving together in one transaction; keepalives
stay in memory. These tests use the real database from that thread, hence
``transaction=True``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest

from campus_safety.alarms.models import AlarmEvent
from campus_safety.devices import liveness
from campus_safety.devices.models import Device
from campus_safety.gateway.gb28181 import manscdp, platform
from campus_safety.gateway.gb28181.server import ReceivedAlarm, Remote, SenderCheck
from tests.devices.support import DeviceFactory, fresh_liveness
from tests.gateway.gb28181.harness import ALARM_BOX_ID, NVR_ID
from tests.gateway.gb28181.peer import UdpPeer

pytestmark = pytest.mark.django_db(transaction=True)

REMOTE = Remote("udp", "10.20.30.40", 5060)


@pytest.fixture(autouse=True)
def live():
    yield fresh_liveness()
    liveness.reset()


def gb_device(device_id: str = NVR_ID, **fields) -> Device:
    values = {"device_id": device_id, "kind": Device.Kind.NVR, "protocol": "gb28181", **fields}
    return DeviceFactory(**values)


def test_a_registration_is_in_the_database_when_the_server_may_answer_200(live):
    gb_device()
    live.directory.load()
    interface = platform.build_interface()
    before = dt.datetime.now(dt.UTC)
    asyncio.run(interface.on_registered(NVR_ID, 3600, REMOTE))
    device = Device.objects.get(device_id=NVR_ID)
    assert device.remote_address == str(REMOTE)
    assert before <= device.registered_at <= dt.datetime.now(dt.UTC)
    assert device.register_expires_at - device.registered_at == dt.timedelta(seconds=3600)
    # what a platform restarted now takes back
    [(device_id, remote, seconds)] = platform.restorable_registrations()
    assert (device_id, remote) == (NVR_ID, REMOTE) and seconds > 3590
    # and in memory, for liveness, as before
    assert live.store.snapshot()[1][NVR_ID][2] == str(REMOTE)


def test_registrations_arriving_together_are_written_in_one_transaction(live):
    ids = [f"371402000013400{n:05d}" for n in range(40)]
    for device_id in ids:
        gb_device(device_id, kind=Device.Kind.ONE_KEY_ALARM)
    live.directory.load()
    interface = platform.build_interface()

    async def register_all() -> None:
        await asyncio.gather(*(interface.on_registered(d, 3600, REMOTE) for d in ids))

    asyncio.run(register_all())
    assert Device.objects.filter(remote_address=str(REMOTE)).count() == len(ids)
    saver = interface.on_registered.__self__  # the binding's RegistrationSaver
    assert saver.batches == 1


def test_an_unregister_is_written_too(live):
    gb_device()
    live.directory.load()
    interface = platform.build_interface()
    asyncio.run(interface.on_registered(NVR_ID, 3600, REMOTE))
    asyncio.run(interface.on_unregistered(NVR_ID))
    assert platform.restorable_registrations() == []


def test_the_address_a_device_last_registered_from_vouches_for_its_alarms():
    gb_device(remote_address="tcp:10.20.30.40:40001")
    gb_device(ALARM_BOX_ID, kind=Device.Kind.ONE_KEY_ALARM)  # never registered
    gb_device("37140200001180000002", is_approved=False)
    gb_device("37140200001180000003", protocol="mqtt")
    assert platform.sender_check(NVR_ID, REMOTE) is SenderCheck.LAST_REGISTRATION
    assert platform.sender_check(NVR_ID, Remote("udp", "10.0.0.9", 5060)) is (SenderCheck.ELSEWHERE)
    assert platform.sender_check(ALARM_BOX_ID, REMOTE) is SenderCheck.UNVERIFIED
    for device_id in ("37140200001180000002", "37140200001180000003", "37140200001189999999"):
        assert platform.sender_check(device_id, REMOTE) is SenderCheck.UNKNOWN, device_id


def test_an_alarm_without_a_live_registration_is_stored_with_how_its_sender_was_checked(live):
    gb_device(ALARM_BOX_ID, kind=Device.Kind.ONE_KEY_ALARM)
    live.directory.load()
    for sn, check in ((1, SenderCheck.REGISTERED), (2, SenderCheck.UNVERIFIED)):
        body = manscdp.build_alarm_notify(sn, ALARM_BOX_ID, alarm_time="2024-03-01T08:00:00")
        alarm = ReceivedAlarm(ALARM_BOX_ID, REMOTE, manscdp.parse(body), body, check)
        assert platform.ingest_alarm(alarm).outcome == "accepted"
    flags = {e.payload["sn"]: e.payload.get("sender_check") for e in AlarmEvent.objects.all()}
    assert flags == {1: None, 2: "unverified"}


def test_after_a_restart_an_alarm_from_the_last_address_is_stored_and_the_device_re_registers(
    settings, live
):
    """Real server, real binding, real UDP: the device last registered over TCP (which a
    restart cannot take back); its alarm is stored, its keepalive is refused until it
    registers again, and that registration is in the database at once."""
    settings.GB28181_PASSWORD = "Campus-2024"
    gb_device(
        ALARM_BOX_ID,
        kind=Device.Kind.ONE_KEY_ALARM,
        remote_address="tcp:127.0.0.1:40000",
        register_expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(platform.start("127.0.0.1", 0), loop).result(10)
    device = UdpPeer(server.port, ALARM_BOX_ID)
    try:
        body = manscdp.build_alarm_notify(3, ALARM_BOX_ID, alarm_time="2024-03-01T08:00:00")
        assert device.message(body).status == 200
        response = device.platform_request(timeout=5)
        device.answer(response)
        assert manscdp.parse(response.body).fields["Result"] == "OK"
        event = AlarmEvent.objects.get(device__device_id=ALARM_BOX_ID)
        assert event.payload["sender_check"] == "last_registration"

        assert device.message(manscdp.build_keepalive(4, ALARM_BOX_ID)).status == 403
        assert device.register().status == 200
        row = Device.objects.get(device_id=ALARM_BOX_ID)
        assert row.remote_address == f"udp:127.0.0.1:{device.port}"
        assert device.message(manscdp.build_keepalive(5, ALARM_BOX_ID)).status == 200
    finally:
        device.close()
        server.close()
        asyncio.run_coroutine_threadsafe(server.wait_closed(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
