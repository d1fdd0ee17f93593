"""The binding of the SIP server to the platform: registry, liveness, ingestion, channels."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campus_safety.alarms.models import AlarmEvent
from campus_safety.devices import liveness
from campus_safety.devices.models import Device
from campus_safety.gateway.gb28181 import manscdp, platform
from campus_safety.gateway.gb28181.server import ReceivedAlarm, Remote
from tests.devices.support import DeviceFactory, Events, fresh_liveness
from tests.gateway.gb28181.harness import ALARM_INPUT_ID, NVR_ID
from tests.gateway.gb28181.peer import UdpPeer

REMOTE = Remote("udp", "10.20.30.40", 5060)
CHANNEL_ID = "37140200001310000001"


@pytest.fixture(autouse=True)
def live(db, clock):
    yield fresh_liveness()
    liveness.reset()


@pytest.fixture
def events():
    recorder = Events()
    yield recorder
    recorder.close()


def gb_device(device_id: str = NVR_ID, **fields) -> Device:
    values = {
        "device_id": device_id,
        "kind": Device.Kind.NVR,
        "protocol": Device.Protocol.GB28181,
        **fields,
    }
    return DeviceFactory(**values)


def notify(device_id: str = NVR_ID, sn: int = 77, **fields) -> manscdp.AlarmNotify:
    body = manscdp.build_alarm_notify(
        sn, device_id, alarm_time="2024-03-01T08:00:00", description="一键报警", alarm_type="1"
    )
    return dataclasses.replace(manscdp.parse(body), **fields)


def test_credentials_are_the_device_password_or_else_the_platform_wide_one(settings):
    settings.GB28181_PASSWORD = "platform-wide"
    gb_device(password="own-password")
    gb_device(ALARM_INPUT_ID, kind=Device.Kind.ONE_KEY_ALARM)
    assert platform.device_credentials(NVR_ID) == ("own-password", True)
    assert platform.device_credentials(ALARM_INPUT_ID) == ("platform-wide", True)


def test_unknown_unapproved_and_other_protocol_devices_are_not_approved():
    gb_device(is_approved=False)
    gb_device(ALARM_INPUT_ID, protocol=Device.Protocol.MQTT)
    assert platform.device_credentials("37140200001180009999") == (None, False)
    assert platform.device_credentials(NVR_ID)[1] is False
    assert platform.device_credentials(ALARM_INPUT_ID)[1] is False


def test_a_known_devices_credentials_are_answered_from_memory_until_it_changes(
    live, settings, django_assert_num_queries
):
    """The first REGISTER reads (and caches) the password; the digest check of the
    second one — and every later REGISTER — runs on the event loop without a query,
    until a save tells the directory the device changed."""
    from campus_safety.personal_data import encrypt

    settings.GB28181_PASSWORD = "platform-wide"
    nvr = gb_device(password="own-password")
    gb_device(ALARM_INPUT_ID, kind=Device.Kind.ONE_KEY_ALARM, is_approved=False)
    live.directory.load()
    assert platform.cached_credentials(NVR_ID) is None  # not read yet: ask the database
    assert platform.device_credentials(NVR_ID) == ("own-password", True)
    with django_assert_num_queries(0):
        assert platform.cached_credentials(NVR_ID) == ("own-password", True)
        assert platform.cached_credentials(ALARM_INPUT_ID) is None  # pending: the database says
    Device.objects.filter(pk=nvr.pk).update(password=encrypt("changed-behind-our-back"))
    assert platform.cached_credentials(NVR_ID) == ("own-password", True)
    nvr.refresh_from_db()
    nvr.password = ""
    nvr.save()  # through the platform: the directory hears of it, the cache is dropped
    assert platform.cached_credentials(NVR_ID) is None
    assert platform.device_credentials(NVR_ID) == ("platform-wide", True)


def test_keepalives_reach_liveness_without_a_query_and_registrations_with_one(
    live, clock, django_assert_num_queries
):
    gb_device()
    live.directory.load()
    with CaptureQueriesContext(connection) as captured:  # durable before the 200 OK
        platform.save_registrations([(NVR_ID, 3600, str(REMOTE), clock.now())])
    assert [q["sql"].split()[0] for q in captured if "SAVEPOINT" not in q["sql"]] == ["UPDATE"]
    with django_assert_num_queries(0):
        for _ in range(3):
            platform.on_keepalive(NVR_ID, REMOTE)
    seen, registrations = live.store.snapshot()
    assert NVR_ID in seen
    assert registrations[NVR_ID][2] == str(REMOTE)
    assert Device.objects.get(device_id=NVR_ID).remote_address == str(REMOTE)


def test_a_resent_alarm_keeps_its_event_id_and_a_new_one_gets_another():
    first = platform.alarm_event_id(notify())
    assert platform.alarm_event_id(notify()) == first
    assert platform.alarm_event_id(notify(sn=78)) != first
    assert platform.alarm_event_id(notify(alarm_time="2024-03-01T08:00:05")) != first
    assert len(first) <= 64


def test_an_alarm_for_a_known_channel_is_booked_on_it_and_otherwise_on_the_sender(live):
    nvr = gb_device()
    gb_device(ALARM_INPUT_ID, kind=Device.Kind.ONE_KEY_ALARM, parent=nvr)
    live.directory.load()
    message = platform.alarm_message(ReceivedAlarm(NVR_ID, REMOTE, notify(ALARM_INPUT_ID)))
    assert message.device_id == ALARM_INPUT_ID
    unknown = "37140200001340000099"
    message = platform.alarm_message(ReceivedAlarm(NVR_ID, REMOTE, notify(unknown)))
    assert (message.device_id, message.payload["channel_id"]) == (NVR_ID, unknown)


def test_an_alarm_is_committed_once_with_its_fields_and_device_local_time(live):
    gb_device(ALARM_INPUT_ID, kind=Device.Kind.ONE_KEY_ALARM)
    live.directory.load()
    alarm = ReceivedAlarm(ALARM_INPUT_ID, REMOTE, notify(ALARM_INPUT_ID, priority=None))
    first, again = platform.ingest_alarm(alarm), platform.ingest_alarm(alarm)
    assert (first.outcome, again.outcome) == ("accepted", "duplicate")
    stored = AlarmEvent.objects.get()
    assert (stored.priority, stored.method, stored.alarm_type) == (1, 2, "1")
    assert stored.description == "一键报警"
    assert stored.occurred_at.isoformat() == "2024-03-01T00:00:00+00:00"  # 08:00 +08:00


def test_a_catalog_becomes_the_devices_channels_and_nothing_is_deleted(live, events):
    nvr = gb_device()
    items = [
        manscdp.CatalogItem(
            device_id=CHANNEL_ID,
            name="校门口",
            manufacturer="Hikvision",
            longitude=116.3,
            latitude=37.4,
        ),
        manscdp.CatalogItem(device_id=ALARM_INPUT_ID, name="一键报警"),
        manscdp.CatalogItem(device_id="371402", name="德城区"),  # a civil-code node
        manscdp.CatalogItem(device_id="37140200002150000001", name="业务分组"),
    ]
    assert platform.store_channels(NVR_ID, items) == 2
    channels = {d.device_id: d for d in nvr.channels.all()}
    assert set(channels) == {CHANNEL_ID, ALARM_INPUT_ID}
    assert channels[CHANNEL_ID].kind == Device.Kind.CAMERA
    assert channels[ALARM_INPUT_ID].kind == Device.Kind.ONE_KEY_ALARM
    assert channels[CHANNEL_ID].school_id == nvr.school_id
    assert live.directory.get(CHANNEL_ID) is not None  # known to the hot path at once

    renamed = [dataclasses.replace(items[0], name="校门口(新)")]
    assert platform.store_channels(NVR_ID, renamed) == 1
    assert nvr.channels.count() == 2  # a partial catalog deletes nothing
    assert Device.objects.get(device_id=CHANNEL_ID).name == "校门口(新)"
    assert platform.store_channels(NVR_ID, renamed) == 0


@pytest.mark.django_db(transaction=True)
def test_a_catalog_arriving_while_another_writer_holds_the_table_is_stored_after_it(live):
    """The device sends its catalog once: a write that meets another writer's lock
    (SQLite's shared cache answers "locked" at once) waits its turn, it is not dropped."""
    gb_device()
    holding, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        from django.db import connection as own
        from django.db import transaction

        try:
            with transaction.atomic():
                gb_device("37140200111187000099", name="另一台")
                holding.set()
                release.wait(5)
        finally:
            own.close()

    writer = threading.Thread(target=other_writer)
    writer.start()
    assert holding.wait(5)
    threading.Timer(0.15, release.set).start()
    try:
        item = manscdp.CatalogItem(device_id=CHANNEL_ID, name="校门口")
        stored = platform.store_channels(NVR_ID, [item])
    finally:
        release.set()
        writer.join(5)
    assert stored == 1
    assert Device.objects.get(device_id=CHANNEL_ID).parent.device_id == NVR_ID


def test_registrations_still_valid_over_udp_are_taken_back_after_a_restart(clock):
    now = clock.now()
    gb_device(
        register_expires_at=now + dt.timedelta(hours=1), remote_address="udp:10.20.30.40:5060"
    )
    gb_device(
        ALARM_INPUT_ID,
        register_expires_at=now - dt.timedelta(seconds=1),
        remote_address="udp:10.20.30.41:5060",
    )
    gb_device(
        "37140200001180000002",
        register_expires_at=now + dt.timedelta(hours=1),
        remote_address="tcp:10.20.30.42:40000",
    )
    [(device_id, remote, seconds)] = platform.restorable_registrations()
    assert (device_id, remote) == (NVR_ID, REMOTE)
    assert 3590 < seconds <= 3600


def test_an_unknown_device_asking_to_register_is_kept_unapproved(events):
    platform.on_pending(ALARM_INPUT_ID, REMOTE)
    platform.on_pending(ALARM_INPUT_ID, REMOTE)
    device = Device.objects.get(device_id=ALARM_INPUT_ID)
    assert (device.is_approved, device.kind, device.protocol) == (
        False,
        Device.Kind.ONE_KEY_ALARM,
        "gb28181",
    )
    assert platform.device_credentials(ALARM_INPUT_ID)[1] is False


@pytest.mark.django_db(transaction=True)
def test_a_registered_device_alarm_is_committed_before_result_ok_end_to_end(settings):
    """The real server and the real binding, with a scripted device on UDP."""
    settings.GB28181_PASSWORD = "Campus-2024"
    nvr = gb_device()
    gb_device(ALARM_INPUT_ID, kind=Device.Kind.ONE_KEY_ALARM, parent=nvr)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(platform.start("127.0.0.1", 0), loop).result(10)
    device = UdpPeer(server.port)
    try:
        assert device.register().status == 200
        assert (
            device.message(
                manscdp.build_alarm_notify(
                    5, ALARM_INPUT_ID, alarm_time="2024-03-01T08:00:00", alarm_type="1"
                )
            ).status
            == 200
        )
        catalog_or_response = [device.platform_request(timeout=3) for _ in range(2)]
        response = next(r for r in catalog_or_response if b"<Result>" in r.body)
        assert AlarmEvent.objects.filter(device__device_id=ALARM_INPUT_ID).exists()
        assert manscdp.parse(response.body).fields["Result"] == "OK"
        for request in catalog_or_response:
            device.answer(request)
    finally:
        device.close()
        server.close()
        asyncio.run_coroutine_threadsafe(server.wait_closed(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
