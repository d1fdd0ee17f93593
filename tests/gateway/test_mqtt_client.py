"""The MQTT consumer's buffered reader on bytes: whatever way the broker's stream is cut
into reads, every PUBLISH comes out once, whole and in order, and the packets it does
not take itself (here PINGRESP) still reach paho. A real socket pair, no broker."""

from __future__ import annotations

import socket

import paho.mqtt.client as paho
from hypothesis import given, settings
from hypothesis import strategies as st

from campus_safety.gateway.mqtt_client import BufferedClient
from campus_safety.simulator.mqtt_devices import _remaining_length

PINGRESP = b"\xd0\x00"


def publish_packet(topic: bytes, payload: bytes, qos: int, mid: int) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"")
    body += payload
    return bytes([0x30 | qos << 1]) + _remaining_length(len(body)) + body


class Reader:
    """A ``BufferedClient`` reading one end of a socket pair; the test writes the other."""

    def __init__(self) -> None:
        self.got: list[tuple[int, int, bytes, bytes]] = []
        self.client = BufferedClient(
            paho.CallbackAPIVersion.VERSION2,
            protocol=paho.MQTTv311,
            manual_ack=True,
            on_publishes=self.got.extend,
        )
        self.ours, self.broker = socket.socketpair()
        self.ours.setblocking(False)
        self.client._sock = self.ours

    def feed(self, chunk: bytes) -> None:
        self.broker.sendall(chunk)
        assert self.client.loop_read() == paho.MQTT_ERR_SUCCESS

    def close(self) -> None:
        self.client._sock = None
        self.ours.close()
        self.broker.close()


payloads = st.one_of(
    st.binary(max_size=200),
    st.integers(0, 70_000).map(lambda n: bytes(range(256)) * (n // 256) + b"x" * (n % 256)),
)
messages = st.lists(
    st.tuples(
        st.text(st.characters(min_codepoint=33, max_codepoint=0x4E2D), min_size=1, max_size=60).map(
            str.encode
        ),
        payloads,
        st.sampled_from([0, 1]),
        st.integers(1, 65535),
        st.booleans(),  # a PINGRESP after it
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(messages, st.data())
def test_every_publish_comes_out_once_and_whole_however_the_stream_is_cut(sent, data):
    stream = b"".join(
        publish_packet(topic, payload, qos, mid) + (PINGRESP if ping else b"")
        for topic, payload, qos, mid, ping in sent
    )
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=12)))
    reader = Reader()
    try:
        for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            reader.feed(stream[start:end])
        assert reader.got == [
            (mid if qos else 0, qos, topic, payload) for topic, payload, qos, mid, _ in sent
        ]
        assert reader.client.buffered() == 0
    finally:
        reader.close()


def test_a_qos_2_publish_is_left_to_paho_and_reaches_on_message():
    reader = Reader()
    delivered = []
    reader.client.on_message = lambda client, userdata, message: delivered.append(message)
    try:
        reader.feed(publish_packet(b"a/b", b"x", 0, 0) + publish_packet(b"c/d", b"y", 2, 9))
        assert reader.got == [(0, 0, b"a/b", b"x")]
        assert delivered == []  # paho answers PUBREC and waits for PUBREL before on_message
        assert reader.client._in_messages[9].payload == b"y"
    finally:
        reader.close()


def test_a_truncated_publish_is_a_protocol_error():
    reader = Reader()
    try:
        reader.broker.sendall(b"\x32\x03\x00\x05a")  # QoS 1, topic length 5 in 3 bytes
        assert reader.client.loop_read() != paho.MQTT_ERR_SUCCESS
        assert reader.got == []
    finally:
        reader.close()
