"""The demo uses a broker when one answers, and otherwise runs without its MQTT devices,
showing them offline with the reason — so every device shown has a state (issue #14
item 13: 87 one-key alarms and 60 intrusion detectors stayed 未知 all demo long)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading

import pytest

from campus_safety import cli
from campus_safety.devices.identifiers import make_device_id
from campus_safety.devices.models import Device, StatusChange
from campus_safety.simulator.broker_probe import broker_answers
from campus_safety.simulator.fleet import NO_BROKER, load_plan, set_aside_mqtt_devices
from campus_safety.simulator.ports import free_port
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory

MQTT_URL = os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")


def test_the_local_mosquitto_answers():
    assert broker_answers(MQTT_URL)


def test_a_closed_port_is_no_broker():
    assert not broker_answers(f"mqtt://127.0.0.1:{free_port()}", timeout=1)


def test_an_open_port_that_speaks_no_mqtt_is_no_broker():
    server = socket.create_server(("127.0.0.1", 0))

    def answer_nonsense() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(64)
            conn.sendall(b"-ERR unknown command\r\n")

    threading.Thread(target=answer_nonsense, daemon=True).start()
    try:
        assert not broker_answers(f"mqtt://127.0.0.1:{server.getsockname()[1]}", timeout=2)
    finally:
        server.close()


@pytest.fixture
def city_devices(db):
    """A school with a device of each protocol and kind the demo has, none heard from."""
    school = SchoolFactory()
    rows = [
        ("gb28181", "nvr", "118"), ("gb28181", "one_key_alarm", "134"),
        ("mqtt", "one_key_alarm", "134"), ("mqtt", "intrusion_detector", "134"),
        ("http", "one_key_alarm", "134"), ("http", "patrol_checkpoint", "139"),
    ]  # fmt: skip
    return [
        DeviceFactory(
            school=school, protocol=protocol, kind=kind,
            device_id=make_device_id("371402", type_code, 200 + n),
        )
        for n, (protocol, kind, type_code) in enumerate(rows)
    ]  # fmt: skip


def test_without_a_broker_every_device_is_simulated_or_shown_offline_with_the_reason(
    city_devices,
):
    devices, set_aside = set_aside_mqtt_devices()
    assert (devices, set_aside) == (2, 2)
    plan = load_plan(mqtt=False)  # what serve --simulate runs without a broker
    simulated = {d.device_id for d in plan.sip} | {d.device_id for d in plan.http}
    unknown = set(Device.objects.filter(status="unknown").values_list("device_id", flat=True))
    assert unknown <= simulated  # each gets its state at its first keepalive
    for device in Device.objects.filter(protocol="mqtt"):
        assert device.status == "offline"
        assert device.history.get().reason == NO_BROKER


def test_setting_aside_twice_writes_no_second_change(city_devices):
    set_aside_mqtt_devices()
    assert set_aside_mqtt_devices() == (2, 0)
    assert StatusChange.objects.count() == 2


def test_a_device_heard_within_its_deadline_is_left_to_the_liveness_sweeper(city_devices, clock):
    """A demo with a broker stopped a minute ago: the sweeper knows these devices were
    alive and takes them offline when their deadline passes (no keepalive); setting them
    aside now would only have the sweeper bring them back online at once."""
    heard = Device.objects.filter(protocol="mqtt").first()
    since = clock.now() - dt.timedelta(seconds=60)
    Device.objects.filter(pk=heard.pk).update(status="online", last_seen_at=since)
    assert set_aside_mqtt_devices() == (2, 1)
    assert Device.objects.get(pk=heard.pk).status == "online"
    clock.advance(seconds=120)  # its 180 s deadline has passed: now it is set aside
    assert set_aside_mqtt_devices() == (2, 1)
    assert Device.objects.get(pk=heard.pk).status == "offline"


def test_with_a_broker_the_mqtt_devices_are_simulated(city_devices):
    plan = load_plan(mqtt=True)
    assert len(plan.mqtt) == 2 and len(plan.sip) == 2 and len(plan.http) == 2


def test_serve_says_once_that_the_demo_runs_without_mqtt(city_devices, capsys):
    cli.say_demo_runs_without_mqtt()
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1
    assert "no broker" in printed and "2 MQTT devices" in printed and "127.0.0.1:1883" in printed
