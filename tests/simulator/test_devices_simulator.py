"""The simulator against the real platform: the in-process GB/T 28181 server with the
real ingestion behind it, a real MQTT broker, and the signed HTTP endpoint."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
from django.db import OperationalError

from campus_safety import bus
from campus_safety.alarms.models import AlarmEvent
from campus_safety.devices import liveness
from campus_safety.devices.models import Device
from campus_safety.gateway.gb28181 import platform
from campus_safety.simulator.mqtt_devices import MqttFleet
from campus_safety.simulator.sip_devices import Channel, SipDevice, SipFleet, SipTarget
from tests.devices.support import DeviceFactory, fresh_liveness
from tests.factories import SchoolFactory

PASSWORD = "Campus-2024"
NVR_ID = "37140200111187000001"
BOX_ID = "37140200111347000001"


def eventually(check, timeout: float = 10.0):
    """Poll ``check``. The in-memory SQLite test database is shared between threads
    with table locks and no busy wait: a read while the platform's thread writes is
    "locked", which here only means "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except OperationalError as error:
            if "locked" not in str(error):
                raise
        time.sleep(0.05)
    return check()


@pytest.fixture
def live(clock):
    yield fresh_liveness()
    liveness.reset()


@pytest.fixture
def sip_platform(live, settings):
    """``gateway.gb28181.platform.start`` on a free port, on its own loop in a thread."""
    settings.GB28181_PASSWORD = PASSWORD
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(platform.start("127.0.0.1", 0), loop).result(10)
    yield server
    server.close()
    asyncio.run_coroutine_threadsafe(server.wait_closed(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def channels(count: int) -> list[Channel]:
    return [
        Channel(f"3714020011132700{i:04d}", f"校门口{i:02d}", "海康威视", "IPC", "校门口",
                "ON" if i != 3 else "OFF")
        for i in range(1, count + 1)
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_simulated_devices_register_bring_their_channels_and_an_alarm_is_stored_once(
    sip_platform, live
):
    school = SchoolFactory()
    DeviceFactory(device_id=NVR_ID, kind="nvr", protocol="gb28181", school=school, name="NVR")
    DeviceFactory(device_id=BOX_ID, kind="one_key_alarm", protocol="gb28181", school=school)
    nvr = SipDevice(NVR_ID, "", "NVR", channels=channels(45))  # three Catalog parts of ≤ 20
    box = SipDevice(BOX_ID, "")
    target = SipTarget("127.0.0.1", sip_platform.port, "37140000002000000001", "3714000000",
                       PASSWORD)  # fmt: skip

    async def run() -> dict:
        fleet = SipFleet(target, [nvr, box], devices_per_socket=1)
        await fleet.start()
        try:
            statuses = await fleet.register_all()
            keepalive = await fleet.keepalive(box)
            confirmed = await fleet.alarm(box, description="一键报警（测试）")
            # each registration's catalog query is sent after its 200, on the platform's
            # schedule: on a busy machine the box's may come after its alarm
            deadline = time.monotonic() + 10
            while fleet.stats["catalogs_sent"] < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)  # and no third one follows
            return {"statuses": statuses, "keepalive": keepalive, "confirmed": confirmed,
                    "stats": dict(fleet.stats)}  # fmt: skip
        finally:
            fleet.close()

    channels_stored = threading.Event()
    unsubscribe = bus.subscribe("device.channels", lambda name, payload: channels_stored.set())
    try:
        outcome = asyncio.run(run())
        assert channels_stored.wait(10)
        # the platform patches its device directory right after the commit: wait for
        # that (a memory look-up) before this thread touches the database
        assert eventually(lambda: live.directory.get("37140200111327000045") is not None)
    finally:
        unsubscribe()
    assert outcome["statuses"] == {200: 2}
    assert (outcome["keepalive"], outcome["confirmed"]) == (200, True)
    assert outcome["stats"]["catalogs_sent"] == 2  # each new registration is asked once
    channel_rows = Device.objects.filter(parent__device_id=NVR_ID)
    assert channel_rows.count() == 45
    assert set(channel_rows.values_list("school", flat=True)) == {school.pk}
    assert channel_rows.filter(status="online").count() == 44
    assert channel_rows.get(device_id="37140200111327000003").status == "offline"
    alarms = AlarmEvent.objects.filter(device__device_id=BOX_ID)
    assert alarms.count() == 1 and alarms.get().description == "一键报警（测试）"
    live.sweep()
    states = dict(Device.objects.filter(parent__isnull=True).values_list("device_id", "status"))
    assert states == {NVR_ID: "online", BOX_ID: "online"}


@pytest.mark.mqtt
@pytest.mark.django_db(transaction=True)
def test_simulated_mqtt_devices_reach_the_platform_through_the_broker(live):
    from campus_safety.gateway.mqtt import start_mqtt
    from tests.gateway.test_mqtt import MQTT_URL, purge_session

    tag = uuid.uuid4().hex[:8]
    root = f"sim-{tag}/campus/v1"
    device = DeviceFactory(protocol="mqtt", kind="one_key_alarm")
    subscriber = start_mqtt(MQTT_URL, client_id=f"cs-sim-{tag}", share_group=f"g{tag}",
                            topic_root=root)  # fmt: skip
    fleet = MqttFleet(MQTT_URL, connections=1, topic_root=root)
    try:
        assert subscriber.wait_subscribed(5), "MQTT broker unreachable"
        fleet.start()
        fleet.heartbeat(device.device_id)
        fleet.alarm(device.device_id, description="MQTT一键报警")
        assert eventually(lambda: AlarmEvent.objects.filter(device=device).exists())
        assert eventually(lambda: fleet.stats["acked"] == 2)
    finally:
        fleet.close()
        subscriber.stop(timeout=2)
        purge_session(MQTT_URL, f"cs-sim-{tag}")
    live.sweep()
    assert Device.objects.get(pk=device.pk).status == "online"
