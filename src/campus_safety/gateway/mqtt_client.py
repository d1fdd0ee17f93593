"""paho-mqtt's client with a cheaper receive path for a consumer of many small PUBLISHes.

paho 2.x reads each packet with three ``recv`` calls (one byte of command, the length a
byte at a time, then the rest) after a ``select`` of its own, then builds an
``MQTTMessage`` (with an ``MQTTMessageInfo`` and its ``Condition``), formats a debug line
and matches the topic against the callbacks under two locks. At 10,000 keepalives a
second that was most of the consumer's network thread. ``BufferedClient``:

* reads the socket in large chunks and hands paho its one-byte and rest-of-packet reads
  from that buffer, draining every complete packet before going back to ``select``;
* gives each MQTT 3.1.1 PUBLISH at QoS 0 or 1 straight to ``on_publish_raw(topic bytes,
  payload bytes, qos, packet ID)`` — no message object, no callback matching.

Everything else (CONNACK, SUBACK, PINGRESP, QoS 2, MQTT 5, reconnects, TLS, the
keepalive timer) stays paho's own code. Acknowledging is the caller's (``manual_ack``).
Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Callable

import paho.mqtt.client as paho

READ_SIZE = 1 << 16
RawPublish = Callable[[bytes, bytes, int, int], None]


class BufferedClient(paho.Client):
    """A paho ``Client`` with buffered reads and a direct PUBLISH hand-off."""

    def __init__(self, *args, on_publish_raw: RawPublish, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.on_publish_raw = on_publish_raw
        self._read_buffer = b""
        self._read_at = 0
        self._read_socket: object = None  # the socket the buffer's bytes came from

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._read_socket is not self._sock:  # a new connection: old bytes are void
            self._read_socket, self._read_buffer, self._read_at = self._sock, b"", 0
        at, buffer = self._read_at, self._read_buffer
        if at >= len(buffer):
            buffer = super()._sock_recv(READ_SIZE)  # raises BlockingIOError when empty
            if not buffer:
                return buffer  # closed by the broker
            self._read_buffer, at = buffer, 0
        self._read_at = at + bufsize
        return buffer[at : at + bufsize]

    def buffered(self) -> int:
        """Bytes read from the socket that paho has not taken yet."""
        if self._read_socket is not self._sock:
            return 0
        return max(0, len(self._read_buffer) - self._read_at)

    def loop_read(self, max_packets: int = 1) -> paho.MQTTErrorCode:
        """paho's, repeated while whole packets wait in the buffer: ``select`` cannot
        see them."""
        rc = super().loop_read(max_packets)
        while rc == paho.MQTT_ERR_SUCCESS and self._sock is not None and self.buffered():
            rc = super().loop_read(max_packets)
        return rc

    def _handle_publish(self) -> paho.MQTTErrorCode:
        command = self._in_packet["command"]
        qos = (command & 0x06) >> 1
        if self._protocol == paho.MQTTv5 or qos > 1:
            return super()._handle_publish()
        packet = self._in_packet["packet"]
        end = 2 + int.from_bytes(packet[:2], "big")
        if len(packet) < 2 or len(packet) < end + 2 * qos:
            return paho.MQTT_ERR_PROTOCOL  # a truncated PUBLISH (paho: MalformedPacket)
        mid = int.from_bytes(packet[end : end + 2], "big") if qos else 0
        self.on_publish_raw(bytes(packet[2:end]), bytes(packet[end + 2 * qos :]), qos, mid)
        return paho.MQTT_ERR_SUCCESS
