"""A killed MQTT consumer's share of the alarms is drained by the live one, not held by
the broker until the dead one is started again (gateway/mqtt_adoption.py).

Two ``campus-safety serve --role mqtt`` processes share one subscription on the local
Mosquitto, each with its persistent session. One is killed with SIGKILL; alarms
published afterwards are all stored while it is still dead (without adoption Mosquitto
queues about half of them for the dead session). Started again, it takes its session
back, the adopter ends, and the two split the load again; nothing is stored twice.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus_safety.gateway import mqtt_adoption
from campus_safety.gateway.mqtt_adoption import OFFLINE, ONLINE, read_state
from tests.gateway.serve_process import MqttDevices, Process, manage, set_up_devices

COUNT = """
import json
from campus_safety.alarms.models import AlarmEvent
rows = list(AlarmEvent.objects.values_list("event_id", flat=True))
print(json.dumps(rows))
"""


@given(st.binary(max_size=2048))
def test_any_presence_payload_is_a_state_or_nothing(payload):
    assert read_state(payload) in (ONLINE, OFFLINE, None)


@pytest.mark.parametrize(
    ("payload", "state"),
    [
        (b'{"state": "online", "pid": 1}', ONLINE),
        (b'{"state": "offline"}', OFFLINE),
        (b'{"state": "gone"}', None),
        (b'["online"]', None),
        (b"online", None),
        (b"", None),
        (b'{"state": "online", "pad": "' + b"x" * 2000 + b'"}', None),
    ],
)
def test_a_presence_announcement_is_read_only_when_it_is_ours(payload, state):
    assert read_state(payload) == state


@pytest.mark.parametrize(
    ("client_id", "usable"),
    [("cs-mqtt1", True), ("a/b", False), ("a+b", False), ("a#", False), ("", False)],
)
def test_a_client_id_must_be_one_topic_level_to_be_announced(client_id, usable):
    assert mqtt_adoption.usable_client_id(client_id) is usable


def _stored(env: dict[str, str]) -> list[str]:
    return json.loads(manage(env, "shell", "-c", COUNT).strip().splitlines()[-1])


def _wait_stored(env: dict[str, str], expected: set[str], seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        rows = _stored(env)
        if expected <= set(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


@pytest.mark.mqtt
def test_a_killed_consumers_share_is_stored_by_the_live_one_until_it_is_back(
    platform_env, tmp_path
):
    devices = set_up_devices(platform_env, 4)["devices"]["mqtt"]
    consumers = []
    for n in (1, 2):
        env = {**platform_env, "MQTT_CLIENT_ID": f"{platform_env['MQTT_SHARE_GROUP']}-c{n}"}
        consumers.append(Process(f"mqtt{n}", "mqtt", env, tmp_path))
    publisher = MqttDevices(devices, platform_env["MQTT_TOPIC_ROOT"])
    try:
        for consumer in consumers:
            consumer.start()
        for consumer in consumers:
            consumer.wait_healthy(time.monotonic() + 90)
        time.sleep(1.0)  # both subscribed, each has seen the other announced
        warm = {f"warm-{n}" for n in range(8)}
        for n, event_id in enumerate(sorted(warm)):
            publisher.publish(devices[n % len(devices)], event_id)
        assert warm <= set(_wait_stored(platform_env, warm, 30))

        consumers[0].kill()
        while_dead = {f"dead-{n}" for n in range(40)}
        for n, event_id in enumerate(sorted(while_dead)):
            publisher.publish(devices[n % len(devices)], event_id)
        rows = _wait_stored(platform_env, while_dead, 30)
        missing = while_dead - set(rows)
        assert not missing, f"{len(missing)} alarms wait for the dead consumer"
        survivor_log = consumers[1].log.read_text()
        assert f"MQTT consumer {consumers[0].env['MQTT_CLIENT_ID']} is offline" in survivor_log

        consumers[0].start()  # its supervisor starts it again: it takes its session back
        consumers[0].wait_healthy(time.monotonic() + 90)
        deadline = time.monotonic() + 20
        while "handed back" not in consumers[1].log.read_text():
            assert time.monotonic() < deadline, consumers[1].tail()
            time.sleep(0.3)
        back = {f"back-{n}" for n in range(40)}
        for n, event_id in enumerate(sorted(back)):
            publisher.publish(devices[n % len(devices)], event_id)
        rows = _wait_stored(platform_env, back, 30)
        assert back <= set(rows)
        assert len(rows) == len(set(rows)), "an alarm was stored twice"
        assert publisher.pending == 0
        # adopted once, handed back once: the two never took the session from each other
        survivor_log = consumers[1].log.read_text()
        assert survivor_log.count("drains its session") == 1, survivor_log[-3000:]
        assert survivor_log.count("handed back") == 1, survivor_log[-3000:]
    finally:
        publisher.close()
        for consumer in consumers:
            consumer.stop()


def test_an_adopted_sessions_counts_are_the_processs_and_stay_when_it_ends(monkeypatch):
    from campus_safety.gateway import mqtt

    own = mqtt.MqttSubscriber(mqtt.MqttConfig(client_id="own"))
    adopter = mqtt.MqttSubscriber(mqtt.MqttConfig(client_id="peer"))
    monkeypatch.setattr(mqtt, "_current", own)
    monkeypatch.setattr(mqtt, "adopters", {adopter})
    own.metrics.add("accepted", 5)
    adopter.metrics.add("accepted", 3)
    adopter.metrics.add("acked", 3)
    assert (mqtt.metrics()["accepted"], mqtt.metrics()["acked"]) == (8, 3)
    mqtt.fold_adopter(own, adopter)
    mqtt.fold_adopter(own, adopter)  # ended twice (stop and hand-back): counted once
    assert mqtt.adopters == set()
    assert (mqtt.metrics()["accepted"], mqtt.metrics()["acked"]) == (8, 3)


def test_presence_that_connects_again_forgets_its_adopters_and_what_it_knew(monkeypatch):
    """After a broker restart every adopter's connection is gone for good (it never
    reconnects): the presence client starts again from the retained announcements."""
    import threading

    import paho.mqtt.client as paho

    from campus_safety.gateway import mqtt

    ended = threading.Event()
    own = mqtt.MqttSubscriber(mqtt.MqttConfig(client_id="cs-a"))
    presence = mqtt_adoption.Presence(own, "test/presence")
    adopter = mqtt.MqttSubscriber(mqtt.MqttConfig(client_id="cs-b"))
    monkeypatch.setattr(adopter, "stop", lambda timeout=5.0: ended.set())
    presence.adopted["cs-b"] = adopter
    presence._handled.add("cs-b")
    presence.states.update({"cs-a": ONLINE, "cs-b": OFFLINE})
    sent = []
    monkeypatch.setattr(presence.client, "publish", lambda *a, **k: sent.append(a))
    monkeypatch.setattr(presence.client, "subscribe", lambda *a, **k: sent.append(a))
    success = paho.ReasonCode(paho.PacketTypes.CONNACK, identifier=0)
    presence._on_connect(presence.client, None, None, success, None)
    assert ended.wait(5)
    assert presence.adopted == {} and presence._handled == set() and presence.states == {}
    assert [a[0] for a in sent] == ["test/presence/cs-a", "test/presence/+"]
    # the retained announcements then bring the dead peer again: adopted again
    adopted = []
    monkeypatch.setattr(presence, "_adopt", adopted.append)
    for peer, state in (("cs-a", b'{"state": "online"}'), ("cs-b", b'{"state": "offline"}')):
        message = paho.MQTTMessage(topic=f"test/presence/{peer}".encode())
        message.payload = state
        presence._on_message(presence.client, None, message)
    assert adopted == ["cs-b"]
