"""The MQTT consumer acknowledges a batch in one write, and the bench's raw publisher
speaks MQTT's length encoding. No broker needed: paho's out-queue is captured."""

from __future__ import annotations

import struct

import paho.mqtt.client as paho
import pytest

from campus_safety.gateway.mqtt import MqttConfig, MqttSubscriber
from campus_safety.simulator.mqtt_devices import _remaining_length

TOPIC = b"campus/v1/37140200111347000001/heartbeat"


def read(generation: int, *messages: tuple[int, int]) -> tuple[int, list]:
    """What the network thread hands the worker (``mqtt.Incoming``): the PUBLISHes of one
    read, (packet ID, QoS) here, with the connection's generation."""
    return (generation, [(mid, qos, TOPIC, b"") for mid, qos in messages])


@pytest.fixture
def subscriber(monkeypatch):
    subscriber = MqttSubscriber(MqttConfig())
    queued = []
    monkeypatch.setattr(
        subscriber.client, "_packet_queue", lambda *packet: queued.append(packet), raising=False
    )
    subscriber.queued = queued
    return subscriber


def test_a_batch_is_acknowledged_in_one_write_in_arrival_order(subscriber):
    subscriber._generation = 3
    subscriber._ack([read(3, (7, 1), (5, 1)), read(3, (9, 0)), read(2, (1, 1))])
    assert len(subscriber.queued) == 1
    command, packets, _mid, _qos = subscriber.queued[0]
    assert command == paho.PUBACK
    # QoS 0 needs none; an ID from an earlier connection is never acknowledged
    assert [struct.unpack_from("!BBH", packets, i) for i in range(0, len(packets), 4)] == [
        (0x40, 2, 7),
        (0x40, 2, 5),
    ]
    assert subscriber.metrics["acked"] == 2


def test_a_batch_with_nothing_to_acknowledge_writes_nothing(subscriber):
    subscriber._ack([read(subscriber._generation, (3, 0))])
    assert subscriber.queued == [] and subscriber.metrics["acked"] == 0


@pytest.mark.parametrize(
    ("length", "encoded"),
    [(0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16_383, b"\xff\x7f"),
     (16_384, b"\x80\x80\x01")],
)  # fmt: skip
def test_the_remaining_length_is_mqtts_variable_length_integer(length, encoded):
    assert _remaining_length(length) == encoded
