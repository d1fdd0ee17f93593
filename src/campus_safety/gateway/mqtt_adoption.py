"""A dead MQTT consumer's session is drained by a live one until it comes back.

Each consumer keeps a persistent session (``mqtt``: nothing the broker accepted is lost
while a consumer is away). The price, with a shared subscription: Mosquitto (and EMQX,
VerneMQ) go on giving an offline session its share of the group's messages and hold
them until that client ID connects again. A consumer killed mid-burst would leave half
the alarms waiting for its supervisor to start it again — seconds to minutes.

So each consumer announces itself on a presence topic, ``<MQTT_PRESENCE_TOPIC>/<client
ID>``: "online" (retained) when it connects, "offline" as its will — the broker
publishes that the moment the connection drops without a DISCONNECT, as on SIGKILL —
and "offline" again when it stops cleanly. Every consumer watches the topic. When one
goes offline, the live consumer with the lowest client ID connects *as the dead one*
(same client ID, clean session off): the broker hands it the dead session, queue and
in-flight messages included, and it ingests them like its own (commit, then PUBACK).
When the real consumer starts again it connects with its own ID, the broker takes the
session back (it disconnects the adopter), and the adopter ends without reconnecting.
A message the adopter had stored but not acknowledged is redelivered to the owner and
deduplicated by event ID, as any redelivery is.

An adopter is started once per "offline" announcement: one that was pushed off by the
owner is not started again until the owner goes offline again, so two clients never
take a session from each other in turn.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import paho.mqtt.client as paho
from django.conf import settings

from campus_safety.gateway import mqtt
from campus_safety.gateway.mqtt import MqttConfig, MqttSubscriber, start_mqtt

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"
MAX_PRESENCE_BYTES = 1024
NEVER = 10**6  # seconds: an adopter pushed off never reconnects on its own


def _announcement(state: str) -> bytes:
    return json.dumps({
        "state": state, "host": socket.gethostname(), "pid": os.getpid(),
        "at": round(time.time(), 3),
    }).encode()  # fmt: skip


def read_state(payload: bytes) -> str | None:
    """An announcement's state, or None for anything else (too long, not our JSON)."""
    if not payload or len(payload) > MAX_PRESENCE_BYTES:
        return None
    try:
        state = json.loads(payload).get("state")
    except (ValueError, AttributeError):
        return None
    return state if state in (ONLINE, OFFLINE) else None


def usable_client_id(client_id: str) -> bool:
    """A client ID that can be one topic level (no ``/``, ``+`` or ``#``)."""
    return bool(client_id) and not any(c in client_id for c in "/+#")


class Presence:
    """One consumer's presence and the sessions it adopts; ``stop()`` ends them and the
    consumer (``subscriber``) itself, in the order that leaves nothing behind."""

    def __init__(
        self,
        subscriber: MqttSubscriber,
        topic: str,
        make_subscriber: Callable[[MqttConfig], MqttSubscriber] = MqttSubscriber,
    ) -> None:
        self.subscriber = subscriber
        self.config = subscriber.config
        self.me = self.config.client_id
        self.topic = topic.rstrip("/")
        self._make_subscriber = make_subscriber
        self._lock = threading.Lock()
        self.states: dict[str, str] = {}
        self.adopted: dict[str, MqttSubscriber] = {}  # peer client ID → its adopter
        self._handled: set[str] = set()  # peers whose present absence is taken care of
        self._stopping = False
        self.client = self._make_client()

    @property
    def metrics(self):
        return self.subscriber.metrics

    def _make_client(self) -> paho.Client:
        config = self.config
        client = paho.Client(
            callback_api_version=paho.CallbackAPIVersion.VERSION2,
            client_id=f"{self.me}.presence",
            clean_session=True,
            protocol=paho.MQTTv311,
        )
        config.apply(client)
        client.will_set(self._own_topic, _announcement(OFFLINE), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        return client

    @property
    def _own_topic(self) -> str:
        return f"{self.topic}/{self.me}"

    def start(self) -> Presence:
        self.client.connect_async(self.config.host, self.config.port, self.config.keepalive)
        self.client.loop_start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """The consumer first (its batch in hand committed and acknowledged), then
        "offline" — so a peer adopts a session nobody holds — then the adopters."""
        with self._lock:
            self._stopping = True
            adopters = list(self.adopted.values())
            self.adopted.clear()
        self.subscriber.stop(timeout / 2)
        try:
            info = self.client.publish(self._own_topic, _announcement(OFFLINE), 1, retain=True)
            info.wait_for_publish(min(timeout / 4, 1.0))
        except (RuntimeError, ValueError, OSError) as exc:  # broker gone: the will says it
            log.warning("MQTT presence: could not announce the stop: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()
        for adopter in adopters:
            adopter.stop(timeout / 4)
            mqtt.fold_adopter(self.subscriber, adopter)

    # --- paho callbacks (the presence client's network thread) ---

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT presence refused by the broker: %s", reason_code)
            return
        # (re)connected: what was known before may be stale (a broker restart ends every
        # adopter's connection, and an adopter never reconnects): start from the retained
        # announcements the subscription brings again
        with self._lock:
            stale = list(self.adopted.items())
            self.adopted.clear()
            self._handled.clear()
            self.states.clear()
        for peer, adopter in stale:
            threading.Thread(target=self._release, args=(peer, adopter), daemon=True).start()
        client.publish(self._own_topic, _announcement(ONLINE), qos=1, retain=True)
        client.subscribe(f"{self.topic}/+", qos=1)

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        peer = message.topic.rpartition("/")[2]
        state = read_state(message.payload)
        if state is None:
            return
        with self._lock:
            if self._stopping:
                return
            self.states[peer] = state
            if state == ONLINE:
                self._handled.discard(peer)
            to_adopt = self._to_adopt()
            for peer_id in to_adopt:
                self._handled.add(peer_id)
        for peer_id in to_adopt:
            self._adopt(peer_id)

    def _to_adopt(self) -> list[str]:
        """Offline peers not yet taken care of, if this consumer is the one to adopt
        them: the live consumer with the lowest client ID (every consumer sees the same
        retained states, so they agree)."""
        online = sorted(p for p, s in self.states.items() if s == ONLINE)
        if not online or online[0] != self.me:
            return []
        return sorted(
            p
            for p, s in self.states.items()
            if s == OFFLINE and p != self.me and p not in self._handled
        )

    # --- adopters ---

    def _adopt(self, peer: str) -> None:
        config = replace(self.config, client_id=peer, reconnect_min=NEVER, reconnect_max=NEVER)
        adopter = self._make_subscriber(config)
        original = adopter.client.on_disconnect

        def on_disconnect(client, userdata, flags, reason_code, properties) -> None:
            original(client, userdata, flags, reason_code, properties)
            if adopter._stopping.is_set():
                return
            log.info("MQTT session %s handed back (%s): adopter ends", peer, reason_code)
            threading.Thread(target=self._release, args=(peer, adopter), daemon=True).start()

        adopter.client.on_disconnect = on_disconnect
        with self._lock:
            if self._stopping:
                return
            self.adopted[peer] = adopter
        with mqtt.adopters_lock:
            mqtt.adopters.add(adopter)
        log.warning("MQTT consumer %s is offline: %s drains its session", peer, self.me)
        adopter.start()

    def _release(self, peer: str, adopter: MqttSubscriber) -> None:
        with self._lock:
            if self.adopted.get(peer) is adopter:
                del self.adopted[peer]
        adopter.stop(2.0)
        mqtt.fold_adopter(self.subscriber, adopter)


def start(subscriber: MqttSubscriber, topic: str) -> Presence | None:
    """Watch and announce presence for ``subscriber`` (None if its client ID cannot be
    a topic level, with a warning: the consumer then runs without adoption)."""
    if not usable_client_id(subscriber.config.client_id):
        log.warning(
            "MQTT_CLIENT_ID %r contains / + or #: session adoption is off",
            subscriber.config.client_id,
        )
        return None
    return Presence(subscriber, topic).start()


def start_consumer(url: str | None = None) -> MqttSubscriber | Presence:
    """``start_mqtt`` plus presence and adoption when the settings ask for them (a shared
    subscription and MQTT_SESSION_ADOPTION): the handle's ``stop()`` ends both."""
    subscriber = start_mqtt(url)
    group = subscriber.config.share_group
    if not (settings.MQTT_SESSION_ADOPTION and group):
        return subscriber
    topic = settings.MQTT_PRESENCE_TOPIC or f"campus-safety/consumers/{group}"
    return start(subscriber, topic) or subscriber
