"""Emulated MQTT devices: heartbeats, alarms and status reports on the platform's topics.

Topics and bodies are the external contract (ARCHITECTURE.md §5): ``campus/v1/{id}/{kind}``,
QoS 1, JSON with a device-unique ``event_id`` and an RFC 3339 ``ts``. A real device holds
its own connection; the simulator shares a few connections among many devices (the
demo broker does not restrict topics), which is what lets one process drive thousands.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import socket
import struct
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho

from campus_safety import clock
from campus_safety.gateway.contract import TOPIC_ROOT


def now_rfc3339() -> str:
    return clock.device_time().isoformat(timespec="milliseconds")


class _Fleet:
    """What both fleets share: the broker, client IDs, topics, event IDs, counters."""

    def __init__(
        self,
        url: str,
        *,
        connections: int = 2,
        client_prefix: str = "",
        topic_root: str = TOPIC_ROOT,
    ) -> None:
        parts = urlsplit(url)
        self.topic_root = topic_root
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1883
        self.username, self.password = parts.username, parts.password
        self.prefix = client_prefix or f"campus-sim-{secrets.token_hex(3)}"
        self.stats: Counter[str] = Counter()
        self._events = itertools.count(1)
        self._run = secrets.token_hex(3)
        self._next = itertools.cycle(range(connections))
        self._prepare(connections)

    def _prepare(self, connections: int) -> None:
        """The fleet's own set-up for this many connections (none is opened yet)."""
        raise NotImplementedError

    def topic(self, device_id: str, kind: str) -> str:
        return f"{self.topic_root}/{device_id}/{kind}"

    def event_id(self, kind: str) -> str:
        return f"sim-{self._run}-{kind[:2]}-{next(self._events)}"


class MqttFleet(_Fleet):
    """A few client connections publishing for many devices (QoS 1, acks counted)."""

    def _prepare(self, connections: int) -> None:
        self._lock = threading.Lock()
        self.clients = [self._client(i) for i in range(connections)]

    def _client(self, index: int) -> paho.Client:
        client = paho.Client(
            callback_api_version=paho.CallbackAPIVersion.VERSION2,
            client_id=f"{self.prefix}-{index}",
            clean_session=True,
            protocol=paho.MQTTv311,
        )
        if self.username:
            client.username_pw_set(self.username, self.password or None)
        client.max_inflight_messages_set(2000)
        client.max_queued_messages_set(0)
        client.on_publish = self._on_publish
        client.on_connect = lambda *args: self.stats.update(["connects"])
        return client

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self.stats["acked"] += 1

    def start(self) -> None:
        """Connect every client and start their network threads."""
        for client in self.clients:
            client.connect(self.host, self.port, keepalive=60)
            client.loop_start()

    def close(self) -> None:
        for client in self.clients:
            client.disconnect()
            client.loop_stop()

    def publish(self, device_id: str, kind: str, body: dict[str, Any] | None) -> None:
        """Publish one message for ``device_id`` (thread-safe, non-blocking)."""
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        client = self.clients[next(self._next)]
        client.publish(self.topic(device_id, kind), payload, qos=1)
        with self._lock:
            self.stats["published"] += 1
            self.stats[kind] += 1

    def heartbeat(self, device_id: str) -> None:
        self.publish(device_id, "heartbeat", {"event_id": self.event_id("hb"), "ts": now_rfc3339()})

    def alarm(self, device_id: str, *, description: str = "一键报警", priority: int = 1) -> None:
        self.publish(
            device_id,
            "alarm",
            {
                "event_id": self.event_id("alarm"),
                "ts": now_rfc3339(),
                "priority": priority,
                "method": 2,
                "description": description,
            },
        )

    def status(self, device_id: str, *, is_fault: bool = False, code: str = "") -> None:
        body = {"event_id": self.event_id("status"), "ts": now_rfc3339()}
        body |= {"state": "fault", "fault_code": code} if is_fault else {"state": "ok"}
        self.publish(device_id, "status", body)

    def unacknowledged(self) -> int:
        return self.stats["published"] - self.stats["acked"]


def heartbeat_all(fleet: MqttFleet, device_ids: Sequence[str]) -> None:
    for device_id in device_ids:
        fleet.heartbeat(device_id)


class RawMqttFleet(_Fleet):
    """Heartbeats over a few raw MQTT 3.1.1 connections at QoS 1, for load benches.

    paho costs a sender about as much per message as the platform spends consuming it
    (a message object, a wake-up of its network thread, a write, then three reads and a
    callback for the PUBACK); on a small machine the sender, not the platform, would set
    the rate. Here a PUBLISH is a few bytes joined and one write, and each connection's
    PUBACKs are counted from large reads on its own thread. Same topics and bodies as
    ``MqttFleet``; no keepalive (0: the broker never times us out), clean session.
    """

    def _prepare(self, connections: int) -> None:
        self._count = connections
        self._sockets: list[socket.socket] = []
        self._mids = [itertools.cycle(range(1, 65536)) for _ in range(connections)]
        self._acked = [0] * connections  # one writer each: its reader thread
        self._readers: list[threading.Thread] = []

    def start(self) -> None:
        """Connect (CONNECT, wait for CONNACK accepted) and start the PUBACK readers."""
        for index in range(self._count):
            sock = socket.create_connection((self.host, self.port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client_id = f"{self.prefix}-{index}".encode()
            variable = b"\x00\x04MQTT\x04\x02\x00\x00"  # 3.1.1, clean session, keepalive 0
            payload = struct.pack("!H", len(client_id)) + client_id
            sock.sendall(b"\x10" + _remaining_length(len(variable) + len(payload)) + variable
                         + payload)  # fmt: skip
            connack = _read_exactly(sock, 4)
            if connack[0] != 0x20 or connack[3] != 0:
                raise ConnectionError(f"MQTT broker refused the connection: {connack!r}")
            sock.settimeout(None)
            self._sockets.append(sock)
            reader = threading.Thread(target=self._read_acks, args=(index, sock), daemon=True)
            reader.start()
            self._readers.append(reader)
            self.stats["connects"] += 1

    def _read_acks(self, index: int, sock: socket.socket) -> None:
        buffer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            # only PUBACKs (0x40 0x02 + packet ID, 4 bytes) come to a publisher that
            # subscribes to nothing and sends no PINGREQ
            whole = len(buffer) - len(buffer) % 4
            self._acked[index] += whole // 4
            buffer = buffer[whole:]

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.sendall(b"\xe0\x00")  # DISCONNECT
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for reader in self._readers:
            reader.join(2)

    def publish(self, device_id: str, kind: str, payload: bytes) -> None:
        """One QoS 1 PUBLISH (from one thread at a time: the bench's loop)."""
        index = next(self._next)
        topic = self.topic(device_id, kind).encode()
        variable = (
            struct.pack("!H", len(topic)) + topic + struct.pack("!H", next(self._mids[index]))
        )
        self._sockets[index].sendall(
            b"\x32" + _remaining_length(len(variable) + len(payload)) + variable + payload
        )
        self.stats["published"] += 1

    def heartbeat(self, device_id: str) -> None:
        event_id = self.event_id("hb")
        self.publish(device_id, "heartbeat", b'{"event_id": "%s", "ts": "%s"}'
                     % (event_id.encode(), now_rfc3339().encode()))  # fmt: skip

    def unacknowledged(self) -> int:
        return self.stats["published"] - sum(self._acked)


def _remaining_length(length: int) -> bytes:
    """MQTT's variable-length integer."""
    out = bytearray()
    while True:
        length, digit = divmod(length, 128)
        out.append(digit | (0x80 if length else 0))
        if not length:
            return bytes(out)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("MQTT broker closed the connection")
        data += chunk
    return data
