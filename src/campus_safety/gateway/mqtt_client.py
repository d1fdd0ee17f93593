"""paho-mqtt's client with a cheaper receive path for a consumer of many small PUBLISHes.

paho 2.x reads each packet with three ``recv`` calls (one byte of command, the length a
byte at a time, then the rest) after a ``select`` of its own, then builds an
``MQTTMessage`` (with an ``MQTTMessageInfo`` and its ``Condition``), formats a debug line
and matches the topic against the callbacks under two locks. At 10,000 keepalives a
second that was most of the consumer's network thread. ``BufferedClient``:

* reads the socket in large chunks and drains every complete packet in the chunk before
  going back to ``select``;
* takes the whole MQTT 3.1.1 PUBLISHes at QoS 0 or 1 out of that buffer itself and gives
  them, as many as were read together, to ``on_publishes([(packet ID, qos, topic bytes,
  payload bytes), …])`` in arrival order — no message object, no callback matching, no
  packet state, one hand-over per read;
* lets paho read any other packet, or one cut by the end of a read, through the same
  buffer (its one-byte and rest-of-packet reads are served from it).

Everything else (CONNACK, SUBACK, PINGRESP, QoS 2, MQTT 5, reconnects, TLS, the
keepalive timer) stays paho's own code. Acknowledging is the caller's (``manual_ack``).
Pure: no Django.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho

READ_SIZE = 1 << 16
Publish = tuple[int, int, bytes, bytes]  # packet ID (0 at QoS 0), QoS, topic, payload


class BufferedClient(paho.Client):
    """A paho ``Client`` with buffered reads and a direct PUBLISH hand-off."""

    def __init__(
        self, *args: Any, on_publishes: Callable[[list[Publish]], None], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_publishes = on_publishes
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
        """paho's, then the buffer drained (``select`` cannot see what is in it): whole
        PUBLISHes taken here, anything else read by paho."""
        rc = super().loop_read(max_packets)
        while rc == paho.MQTT_ERR_SUCCESS and self._sock is not None and self.buffered():
            if self._in_packet["command"] == 0 and self._protocol != paho.MQTTv5:
                self._take_publishes()
                if not self.buffered():
                    break
            rc = super().loop_read(max_packets)
        return rc

    def _take_publishes(self) -> None:
        """Hand over the whole QoS 0/1 PUBLISHes at the front of the buffer; stop at
        anything else (another packet type, QoS 2, one not wholly read yet, a malformed
        one) and leave it to paho. MQTT 3.1.1 §2.2 and §3.3: a fixed header byte, the
        remaining length (1–4 bytes of 7 bits), the topic (2-byte length), the packet ID
        at QoS > 0, then the payload."""
        buffer, at, size = self._read_buffer, self._read_at, len(self._read_buffer)
        start, taken = at, []
        while at + 2 <= size:
            command = buffer[at]
            if command & 0xF0 != 0x30 or command & 0x06 > 2:  # not PUBLISH at QoS 0/1
                break
            length, shift, pos = 0, 0, at + 1
            while pos < size and shift < 28:
                byte = buffer[pos]
                pos += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    break
            else:
                break  # the length not wholly read yet, or longer than 4 bytes
            end = pos + length
            if end > size or length < 2:
                break
            qos = (command & 0x06) >> 1
            topic_end = pos + 2 + (buffer[pos] << 8 | buffer[pos + 1])
            if topic_end + 2 * qos > end:
                break  # malformed: paho refuses it
            mid = (buffer[topic_end] << 8 | buffer[topic_end + 1]) if qos else 0
            taken.append((mid, qos, buffer[pos + 2 : topic_end], buffer[topic_end + 2 * qos : end]))
            at = end
        if at != start:
            self._read_at = at
            self.on_publishes(taken)
            with self._msgtime_mutex:  # paho's keepalive timer: bytes came in
                self._last_bytes_received = time.monotonic()

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
        self.on_publishes([(mid, qos, bytes(packet[2:end]), bytes(packet[end + 2 * qos :]))])
        return paho.MQTT_ERR_SUCCESS
