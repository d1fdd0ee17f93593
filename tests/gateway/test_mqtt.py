"""MQTT end to end against a real Mosquitto (MQTT_TEST_URL, default 127.0.0.1:1883).

Each test gets its own topic root, client ID and share group, and its broker session
is purged afterwards. The broker-restart test starts a private Mosquitto of its own on
a free port (and stops only that one), so the shared broker is never disturbed.
These tests fail — they do not skip — when the broker cannot be reached.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from urllib.parse import urlsplit

import paho.mqtt.client as paho
import pytest
from django.db import OperationalError, transaction

from campus_safety.alarms.models import AlarmEvent
from campus_safety.devices import liveness
from campus_safety.devices.models import DeviceEvent
from campus_safety.gateway.mqtt import MqttSubscriber, metrics, parse_topic, start_mqtt
from campus_safety.simulator.ports import free_port
from tests.devices.support import DeviceFactory, fresh_liveness

MQTT_URL = os.environ.get("MQTT_TEST_URL", "mqtt://127.0.0.1:1883")
TS = "2026-03-02T08:15:00+08:00"

pytestmark = [pytest.mark.mqtt, pytest.mark.django_db(transaction=True)]


def eventually(check, timeout: float = 5.0) -> bool:
    """Poll ``check``. The in-memory SQLite test database is shared between threads
    with table locks and no busy wait: a read while the consumer's thread writes is
    "locked", which here only means "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except OperationalError as error:
            if "locked" not in str(error):
                raise
        time.sleep(0.02)
    return check()


def purge_session(url: str, client_id: str) -> None:
    """Connect once with a clean session so the broker forgets ours."""
    parts = urlsplit(url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    try:
        client.connect(parts.hostname, parts.port or 1883, 10)
        client.loop_start()
        eventually(client.is_connected, 3)
        client.disconnect()
        client.loop_stop()
    except OSError:
        pass


class Publisher:
    """A device: a plain paho client publishing at QoS 1."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, clean_session=True)
        deadline = time.monotonic() + 5
        while True:
            try:
                self.client.connect(parts.hostname, parts.port or 1883, 10)
                break
            except OSError:
                assert time.monotonic() < deadline, f"MQTT broker at {url} unreachable"
                time.sleep(0.05)
        self.client.loop_start()
        assert eventually(self.client.is_connected, 5), f"MQTT broker at {url} unreachable"

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        info = self.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(5)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(autouse=True)
def live(clock):
    yield fresh_liveness()
    liveness.reset()


@pytest.fixture
def mqtt():
    """Start subscribers with a per-test root/client ID; stops and purges afterwards."""
    tag = uuid.uuid4().hex[:10]

    class Harness:
        root = f"test-{tag}/campus/v1"
        client_id = f"cs-test-{tag}"
        subscribers: list[MqttSubscriber] = []
        publishers: list[Publisher] = []

        def start(self, url: str = MQTT_URL, **overrides) -> MqttSubscriber:
            options = {
                "client_id": self.client_id,
                "share_group": f"g{tag}",
                "topic_root": self.root,
                "reconnect_min": 0.5,
                "reconnect_max": 2,
            }
            subscriber = start_mqtt(url, **{**options, **overrides})
            self.subscribers.append(subscriber)
            assert subscriber.wait_subscribed(5), f"MQTT broker at {url} unreachable"
            return subscriber

        def publisher(self, url: str = MQTT_URL) -> Publisher:
            publisher = Publisher(url)
            self.publishers.append(publisher)
            return publisher

        def topic(self, device, kind: str) -> str:
            return f"{self.root}/{device.device_id}/{kind}"

    harness = Harness()
    yield harness
    for publisher in harness.publishers:
        publisher.close()
    for subscriber in harness.subscribers:
        subscriber.stop(timeout=2)
    purge_session(MQTT_URL, harness.client_id)


def alarm_body(event_id: str = "a-1", **fields) -> str:
    return json.dumps({"event_id": event_id, "ts": TS, "priority": 1, "method": 2, **fields})


def test_an_alarm_published_twice_with_the_same_event_id_is_stored_once(mqtt):
    device = DeviceFactory(protocol="mqtt")
    subscriber = mqtt.start()
    publisher = mqtt.publisher()
    publisher.publish(mqtt.topic(device, "alarm"), alarm_body("a-1"))
    publisher.publish(mqtt.topic(device, "alarm"), alarm_body("a-1"))
    assert eventually(lambda: subscriber.metrics["acked"] == 2)
    assert AlarmEvent.objects.filter(device=device).count() == 1
    assert (subscriber.metrics["accepted"], subscriber.metrics["duplicate"]) == (1, 1)
    assert AlarmEvent.objects.get().protocol == "mqtt"


def test_a_heartbeat_over_mqtt_updates_last_seen_and_writes_no_row(mqtt, live):
    device = DeviceFactory(protocol="mqtt")
    subscriber = mqtt.start()
    mqtt.publisher().publish(mqtt.topic(device, "heartbeat"), b"")
    assert eventually(lambda: subscriber.metrics["acked"] == 1)
    assert device.device_id in live.store.snapshot()[0]
    assert not DeviceEvent.objects.exists() and not AlarmEvent.objects.exists()


def test_bad_payloads_are_counted_acknowledged_and_the_consumer_keeps_working(mqtt):
    device = DeviceFactory(protocol="mqtt")
    subscriber = mqtt.start()
    publisher = mqtt.publisher()
    publisher.publish(mqtt.topic(device, "alarm"), b"{not json")
    publisher.publish(mqtt.topic(device, "alarm"), alarm_body(priority=7))
    publisher.publish(mqtt.topic(device, "siren"), alarm_body())
    publisher.publish(f"{mqtt.root}/{device.device_id}/alarm/extra", alarm_body())
    publisher.publish(f"{mqtt.root}/37140200111347999999/alarm", alarm_body())  # unknown
    publisher.publish(mqtt.topic(device, "alarm"), alarm_body("good-1"))
    assert eventually(lambda: AlarmEvent.objects.filter(event_id="good-1").exists())
    assert eventually(lambda: subscriber.metrics["acked"] == 5)  # "+/+" skips the 5-level one
    counts = metrics()
    assert (counts["invalid"], counts["rejected"], counts["accepted"]) == (3, 1, 1)
    assert counts["connected"] is True


def test_the_topic_must_name_a_device_and_a_known_kind():
    assert parse_topic("campus/v1/37140200111347000001/alarm") == (
        "37140200111347000001",
        "alarm",
    )
    for bad in ("campus/v1/x/siren", "campus/v1//alarm", "campus/v2/x/alarm", "campus/v1/x"):
        with pytest.raises(ValueError):
            parse_topic(bad)


def test_heartbeats_are_counted_as_the_full_path_counts_them(mqtt, live):
    """The keepalive fast path accepts what ingestion accepts and leaves the rest to it:
    a bad body is invalid, an unknown device or one of another protocol is rejected,
    and only the good ones' devices are seen."""
    device = DeviceFactory(protocol="mqtt")
    sip_device = DeviceFactory(protocol="gb28181")
    subscriber = mqtt.start()
    publisher = mqtt.publisher()
    good = json.dumps({"event_id": "hb-1", "ts": TS})
    sent = [
        (mqtt.topic(device, "heartbeat"), good),
        (mqtt.topic(device, "heartbeat"), b""),
        (mqtt.topic(device, "heartbeat"), b"{not json"),
        (mqtt.topic(device, "heartbeat"), json.dumps({"device_id": sip_device.device_id})),
        (mqtt.topic(device, "heartbeat"), json.dumps({"ts": "2026-03-02T08:15:00"})),
        (mqtt.topic(sip_device, "heartbeat"), good),
        (f"{mqtt.root}/37140200111347999999/heartbeat", good),
    ]
    for topic, body in sent:
        publisher.publish(topic, body)
    assert eventually(lambda: subscriber.metrics["acked"] == len(sent))
    counts = subscriber.metrics.snapshot()
    assert (counts["accepted"], counts["invalid"], counts["rejected"]) == (2, 3, 2)
    assert set(live.store.snapshot()[0]) == {device.device_id}
    assert not DeviceEvent.objects.exists()


def test_a_burst_with_a_message_larger_than_a_read_is_taken_whole(mqtt, live):
    """Hundreds of PUBLISHes arrive in a few large reads, and one of 70 kB spans
    several: every one is parsed, counted and acknowledged, the alarm after it stored."""
    devices = DeviceFactory.create_batch(3, protocol="mqtt")
    subscriber = mqtt.start()
    publisher = mqtt.publisher()
    infos = [
        publisher.client.publish(
            mqtt.topic(devices[n % 3], "heartbeat"),
            json.dumps({"event_id": f"hb-{n}", "ts": TS}),
            qos=1,
        )
        for n in range(300)
    ]
    big = alarm_body("too-big", description="x" * 70_000)
    infos.append(publisher.client.publish(mqtt.topic(devices[0], "alarm"), big, qos=1))
    infos.append(publisher.client.publish(mqtt.topic(devices[1], "alarm"), alarm_body("after"), 1))
    for info in infos:
        info.wait_for_publish(10)
    assert eventually(lambda: subscriber.metrics["acked"] == 302, timeout=15)
    counts = subscriber.metrics.snapshot()
    assert (counts["received"], counts["accepted"], counts["invalid"]) == (302, 301, 1)
    assert AlarmEvent.objects.filter(event_id="after").count() == 1
    assert set(live.store.snapshot()[0]) == {d.device_id for d in devices}


def hold_alarm_inserts(device, event_id: str):
    """Keep the database from committing this alarm: an uncommitted row with the same
    key (PostgreSQL makes the second insert wait; SQLite reports the table locked)."""
    return AlarmEvent(
        device=device,
        school_id=device.school_id,
        event_id=event_id,
        occurred_at=device.created_at,
        received_at=device.created_at,
        protocol="mqtt",
    )


def test_no_puback_before_the_commit_an_uncommitted_alarm_is_redelivered(mqtt):
    """While the alarm cannot be committed, the consumer holds its PUBACK; when that
    consumer goes away, the broker delivers the alarm again to the next one."""
    device = DeviceFactory(protocol="mqtt")
    first = mqtt.start()
    with transaction.atomic():
        hold_alarm_inserts(device, "held-1").save()
        mqtt.publisher().publish(mqtt.topic(device, "alarm"), alarm_body("held-1"))
        assert eventually(lambda: first.metrics["received"] == 1)
        time.sleep(0.3)
        assert first.metrics["acked"] == 0  # not committed, so not acknowledged
        first.stop(timeout=0.5)  # the consumer dies with the alarm unacknowledged
        transaction.set_rollback(True)
    second = mqtt.start()
    assert eventually(lambda: second.metrics["acked"] >= 1, timeout=10)
    assert second.metrics["received"] >= 1  # redelivered: it had never been acked
    assert AlarmEvent.objects.filter(device=device, event_id="held-1").count() == 1


def test_messages_published_while_the_consumer_was_down_arrive_when_it_returns(mqtt):
    device = DeviceFactory(protocol="mqtt")
    mqtt.start().stop()
    mqtt.publisher().publish(mqtt.topic(device, "alarm"), alarm_body("while-down"))
    subscriber = mqtt.start()
    assert eventually(lambda: subscriber.metrics["acked"] == 1)
    assert AlarmEvent.objects.filter(event_id="while-down").exists()


class PrivateBroker:
    """A Mosquitto of this test's own, with persistence, started and stopped by PID."""

    def __init__(self, directory) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        assert os.path.exists(binary), "mosquitto is not installed"
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.config = directory / "mosquitto.conf"
        # As root, mosquitto would switch to its own user, who may not write here.
        user = "user root\n" if os.geteuid() == 0 else ""
        self.config.write_text(
            f"{user}listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {directory}/\nlog_dest none\n"
        )
        self.binary = binary
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert eventually(self._listening, 5), "private mosquitto did not start"

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: mosquitto saves its sessions to disk
            self.process.wait(5)


@pytest.fixture
def broker(tmp_path):
    private = PrivateBroker(tmp_path)
    private.start()
    yield private
    private.stop()


def test_after_a_broker_restart_the_consumer_reconnects_and_gets_what_was_published_meanwhile(
    mqtt, broker
):
    """Unshared subscription: the broker restores it from its persistence file and
    queues for us until we are back."""
    device = DeviceFactory(protocol="mqtt")
    subscriber = mqtt.start(broker.url, share_group="", reconnect_min=2, reconnect_max=4)
    broker.stop()
    assert eventually(lambda: not subscriber.is_connected, 5)
    broker.start()
    publisher = mqtt.publisher(broker.url)
    publisher.publish(mqtt.topic(device, "alarm"), alarm_body("during-restart"))
    assert not subscriber.is_connected  # published before the consumer was back
    assert eventually(lambda: AlarmEvent.objects.filter(event_id="during-restart").exists(), 10)
    assert eventually(lambda: subscriber.metrics["acked"] == 1)
    assert (subscriber.metrics["connects"], subscriber.metrics["disconnects"]) == (2, 1)


def test_a_shared_subscription_is_taken_up_again_after_a_broker_restart(mqtt, broker):
    """Mosquitto 2.0 does not restore shared subscriptions from its persistence file
    (what is published before we resubscribe is not queued, see docs/devices.md); we
    resubscribe on every connect, so the flow resumes."""
    device = DeviceFactory(protocol="mqtt")
    subscriber = mqtt.start(broker.url, reconnect_min=0.5, reconnect_max=1)
    broker.stop()
    assert eventually(lambda: not subscriber.is_connected, 5)
    broker.start()
    assert subscriber.wait_subscribed(10)
    mqtt.publisher(broker.url).publish(mqtt.topic(device, "alarm"), alarm_body("after"))
    assert eventually(lambda: AlarmEvent.objects.filter(event_id="after").exists(), 10)
