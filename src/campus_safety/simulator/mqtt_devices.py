"""Emulated MQTT devices: heartbeats, alarms and status reports on the platform's topics.

Topics and bodies are the external contract (ARCHITECTURE.md §5): ``campus/v1/{id}/{kind}``,
QoS 1, JSON with a device-unique ``event_id`` and an RFC 3339 ``ts``. A real device holds
its own connection; the simulator shares a few connections among many devices (the
demo broker does not restrict topics), which is what lets one process drive thousands.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import secrets
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho

TOPIC_ROOT = "campus/v1"


def now_rfc3339() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


class MqttFleet:
    """A few client connections publishing for many devices (QoS 1, acks counted)."""

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
        self._lock = threading.Lock()
        self._events = itertools.count(1)
        self._run = secrets.token_hex(3)
        self._next = itertools.cycle(range(connections))
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
        client.publish(f"{self.topic_root}/{device_id}/{kind}", payload, qos=1)
        with self._lock:
            self.stats["published"] += 1
            self.stats[kind] += 1

    def event_id(self, kind: str) -> str:
        return f"sim-{self._run}-{kind[:2]}-{next(self._events)}"

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
