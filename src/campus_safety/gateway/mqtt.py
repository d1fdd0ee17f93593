"""MQTT subscriber (paho-mqtt 2.x): ``campus/v1/{device_id}/{kind}`` at QoS 1.

* Shared subscription ``$share/<group>/campus/v1/+/+`` so several gateway processes
  split the load (``MQTT_SHARED_SUBSCRIPTION=0`` for brokers without it).
* Manual acknowledgements: the PUBACK goes out only after ``ingest`` has committed,
  so a crash before the commit means redelivery, never loss; redelivery is harmless
  (deduplicated on (device, event_id)). PUBACKs keep the order messages came in.
* Persistent session (clean_session off, a client ID that stays the same across
  restarts): QoS 1 messages published while we were away are delivered on reconnect.
* MQTT 3.1.1, not 5: paho reads an MQTT 5 PUBLISH at about three times the cost (its
  properties are parsed for every message), and at thousands of keepalives a second
  that is what limits a consumer. The receive window is therefore the broker's
  ``max_inflight_messages``; see bench/README.md for the broker settings this needs.
* A bad topic or payload is logged (rate-limited), counted, acknowledged — so the
  broker does not redeliver it forever — and never stops the consumer.
* Reconnects with backoff after the broker restarts; a database outage holds the
  acknowledgements back and retries, it does not drop messages.

The network loop runs in paho's thread and only hands messages over (``mqtt_client``:
buffered reads, a PUBLISH handed over as bytes); ingestion runs in one worker thread
(sync ORM), which acknowledges a whole batch in one write. A heartbeat whose body is
certainly valid (``mqtt_heartbeat``) takes a short way: the device looked up in memory
and its last-seen time recorded, as ``ingest_batch`` would, without building an event;
any other message, or a heartbeat the short way is unsure of, takes the full path.
"""

from __future__ import annotations

import logging
import queue
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, close_old_connections, connection

from campus_safety.devices import liveness
from campus_safety.gateway import committer, contract, ingest
from campus_safety.gateway.contract import TOPIC_ROOT
from campus_safety.gateway.mqtt_client import BufferedClient, Publish
from campus_safety.gateway.mqtt_heartbeat import is_valid_heartbeat

log = logging.getLogger(__name__)

_PUBACK = struct.Struct("!BBH")  # fixed header 0x40, remaining length 2, packet ID
# what the network thread hands the worker: the PUBLISHes of one read, (packet ID, QoS,
# topic, payload) as the bytes came in, with the connection's generation
Incoming = tuple[int, list[Publish]]


@dataclass(frozen=True)
class MqttConfig:
    """Where and how to subscribe; ``from_settings`` reads MQTT_URL and friends."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = field(default="", repr=False)
    use_tls: bool = False
    client_id: str = "campus-safety"
    share_group: str = "campus-safety"  # empty: a plain (unshared) subscription
    topic_root: str = TOPIC_ROOT
    keepalive: int = 30
    reconnect_min: float = 1
    reconnect_max: float = 30
    batch_size: int = 500
    # a batch that is not full waits this long for company: at 10,000 keepalives a second
    # one PUBACK write (and the two wake-ups of paho's thread it costs) per ~20 messages
    # instead of per one or two; it is 2 ms more before a PUBACK, never before a commit
    batch_wait: float = 0.002

    @classmethod
    def from_settings(cls, url: str | None = None, **overrides: Any) -> MqttConfig:
        url = url if url is not None else settings.MQTT_URL
        if not url:
            raise ImproperlyConfigured("MQTT_URL is not set (e.g. mqtt://127.0.0.1:1883)")
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ImproperlyConfigured(f"MQTT_URL scheme must be mqtt or mqtts, not {url!r}")
        use_tls = parts.scheme in ("mqtts", "ssl")
        config = cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if use_tls else 1883),
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            use_tls=use_tls,
            client_id=settings.MQTT_CLIENT_ID,
            share_group=settings.MQTT_SHARE_GROUP if settings.MQTT_SHARED_SUBSCRIPTION else "",
            topic_root=settings.MQTT_TOPIC_ROOT,
            keepalive=settings.MQTT_KEEPALIVE_SECONDS,
            reconnect_max=settings.MQTT_RECONNECT_MAX_SECONDS,
        )
        return replace(config, **overrides)

    def apply(self, client: paho.Client) -> None:
        """Credentials, TLS and reconnect backoff on a client made for this broker."""
        if self.username:
            client.username_pw_set(self.username, self.password or None)
        if self.use_tls:
            client.tls_set()
        client.reconnect_delay_set(self.reconnect_min, self.reconnect_max)

    @property
    def subscription(self) -> str:
        topic = f"{self.topic_root}/+/+"
        return f"$share/{self.share_group}/{topic}" if self.share_group else topic


class Metrics:
    """Counters for the operations page: what came in and what became of it."""

    NAMES = (
        "received",
        "accepted",
        "duplicate",
        "rejected",
        "invalid",
        "acked",
        "errors",
        "database_retries",
        "connects",
        "disconnects",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.NAMES, 0)
        self.is_connected = False
        self.last_error = ""

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            self._counts[name] += count

    def add_all(self, counts: Counter[str]) -> None:
        """Several counters at once (a batch's outcomes): one lock, not one per message."""
        with self._lock:
            for name, count in counts.items():
                self._counts[name] += count

    def count_received(self, count: int = 1) -> None:
        """``received`` + count, lock-free: only paho's network thread writes it (a dict
        item with one writer loses no update under the GIL), once per read."""
        self._counts["received"] += count

    def __getitem__(self, name: str) -> int:
        return self._counts[name]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {**self._counts, "connected": self.is_connected, "last_error": self.last_error}


class _QuietLog:
    """At most ``limit`` warnings per ``seconds``: a flood of garbage must not flood logs."""

    def __init__(self, limit: int = 10, seconds: float = 10.0) -> None:
        self.limit, self.seconds = limit, seconds
        self.window_start, self.count, self.suppressed = 0.0, 0, 0

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self.window_start >= self.seconds:
            if self.suppressed:
                log.warning("… %d more bad MQTT messages not logged", self.suppressed)
            self.window_start, self.count, self.suppressed = now, 0, 0
        if self.count < self.limit:
            self.count += 1
            log.warning(message, *args)
        else:
            self.suppressed += 1


def parse_topic(name: str, root: str = TOPIC_ROOT) -> tuple[str, str]:
    """``campus/v1/{device_id}/{kind}`` → (device_id, kind); raises InvalidEvent."""
    try:
        return contract.parse_topic(name, root)
    except contract.ContractError as exc:
        raise ingest.InvalidEvent(exc.reason) from exc


class MqttSubscriber:
    """One MQTT client plus one ingestion worker; ``stop()`` to end both."""

    def __init__(self, config: MqttConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self._queue: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self._generation = 0  # bumped per connection: stale message IDs are never acked
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._stopping = threading.Event()
        self._quiet_log = _QuietLog()
        self._worker = threading.Thread(target=self._work, name="mqtt-ingest", daemon=True)
        self.client = self._make_client()

    def _make_client(self) -> paho.Client:
        config = self.config
        client = BufferedClient(
            callback_api_version=paho.CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            clean_session=False,
            protocol=paho.MQTTv311,
            manual_ack=True,
            on_publishes=self._on_publishes,
        )
        config.apply(client)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    # --- lifecycle ---

    def start(self) -> MqttSubscriber:
        """Connect in the background (retrying until the broker answers) and consume."""
        liveness.keep_directory_fresh()
        self._worker.start()
        self.client.connect_async(self.config.host, self.config.port, self.config.keepalive)
        self.client.loop_start()
        return self

    def wait_subscribed(self, timeout: float) -> bool:
        """True once connected and subscribed (tests, start-up checks)."""
        return self._subscribed.wait(timeout)

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        """Let the worker finish the batch in hand (committed, then acknowledged), then
        disconnect (the broker keeps our session): what it had not taken is redelivered on
        the next connect. ``timeout`` bounds the wait for the worker."""
        self._stopping.set()
        self._worker.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()
        self.metrics.is_connected = False

    # --- paho callbacks (network thread) ---

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.metrics.last_error = f"connect refused: {reason_code}"
            log.warning("MQTT broker refused the connection: %s", reason_code)
            return
        self._generation += 1
        self._connected.set()
        self.metrics.is_connected = True
        self.metrics.add("connects")
        log.info(
            "MQTT connected to %s:%s (session present: %s); subscribing %s",
            self.config.host,
            self.config.port,
            flags.session_present,
            self.config.subscription,
        )
        client.subscribe(self.config.subscription, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            self.metrics.last_error = f"subscription refused: {reason_codes}"
            log.error("MQTT broker refused %s: %s", self.config.subscription, reason_codes)
            return
        self._subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        self._subscribed.clear()
        self.metrics.is_connected = False
        if not self._stopping.is_set():
            self.metrics.add("disconnects")
            log.warning("MQTT connection lost (%s); reconnecting with backoff", reason_code)

    def _on_publishes(self, publishes: list[Publish]) -> None:
        """The QoS 0/1 PUBLISHes of one read (``BufferedClient``): counted, handed over."""
        self.metrics.count_received(len(publishes))
        self._queue.put((self._generation, publishes))

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        """What paho itself delivers (QoS 2, which devices do not use)."""
        self._on_publishes([(message.mid, message.qos, message._topic, message.payload)])

    # --- the worker (one thread, in order) ---

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = [self._queue.get(timeout=0.2)]
            except queue.Empty:
                continue
            size = len(batch[0][1])
            if size < self.config.batch_size and self.config.batch_wait:
                time.sleep(self.config.batch_wait)
            while size < self.config.batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
                size += len(batch[-1][1])
            try:
                self._handle(batch)
            except Exception:  # a bug must not kill the consumer
                log.exception("MQTT batch failed; acknowledging to avoid endless redelivery")
                self.metrics.add("errors", size)
                self._ack(batch)
        connection.close()  # this thread's connection

    def _handle(self, batch: list[Incoming]) -> None:
        messages = []
        root = self.config.topic_root
        invalid = accepted = 0
        limit = settings.INGEST_MAX_EVENT_BYTES
        live = liveness.default()
        for _mid, _qos, raw_topic, payload in (p for _gen, publishes in batch for p in publishes):
            try:
                topic = raw_topic.decode()
            except UnicodeDecodeError:
                topic = raw_topic.decode(errors="replace")
                invalid += 1
                self._quiet_log.warning("bad MQTT message on %s: topic is not UTF-8", topic)
                continue
            try:
                device_id, kind = parse_topic(topic, root)
                if (
                    kind == "heartbeat"
                    and is_valid_heartbeat(device_id, payload, limit)
                    and live.record_keepalive(device_id, protocol="mqtt")
                ):
                    accepted += 1  # as ingest_batch: last-seen recorded, nothing stored
                    continue
                messages.append(ingest.parse_json_event(device_id, kind, payload, "mqtt"))
            except ingest.InvalidEvent as exc:
                invalid += 1
                self._quiet_log.warning("bad MQTT message on %s: %s", topic, exc.reason)
        if invalid:
            self.metrics.add("invalid", invalid)
        outcomes: Counter[str] = Counter()
        if accepted:
            outcomes[ingest.ACCEPTED] = accepted
        if messages:
            results = self._ingest(messages)
            if results is None:
                return  # stopping while the database was away: leave it to redelivery
            for result in results:
                outcomes[result.outcome] += 1
                if result.outcome == ingest.REJECTED:
                    self._quiet_log.warning("MQTT event rejected: %s", result.reason)
        self.metrics.add_all(outcomes)
        self._ack(batch)

    def _ingest(self, messages: list[ingest.DeviceMessage]) -> list[ingest.Result] | None:
        """ingest_batch, retried while the database is unreachable; None if stopping
        (nothing then is acknowledged: the broker redelivers it)."""
        delay = 0.5
        while True:
            close_old_connections()
            try:
                return committer.commit(messages)
            except committer.WriterStopped:
                return None  # the process is stopping: redelivered to the next one
            except DatabaseError as exc:
                self.metrics.add("database_retries")
                self.metrics.last_error = f"database: {exc}"
                log.warning(
                    "database unavailable (%s); holding MQTT acks, retry in %gs", exc, delay
                )
                connection.close()
                if self._stopping.wait(delay):
                    return None
                delay = min(delay * 2, 10.0)

    def _ack(self, batch: list[Incoming]) -> None:
        """PUBACK the batch, in the order it came in. ``client.ack`` writes each PUBACK
        on its own and wakes paho's thread for it (a send per message); here the batch's
        PUBACKs go out as one write. QoS 2 (not used by devices) keeps ``client.ack``."""
        generation = self._generation  # stale message IDs are never acked
        pubacks = bytearray()
        count = 0
        for message_generation, publishes in batch:
            if message_generation != generation:
                continue
            for mid, qos, _topic, _payload in publishes:
                if qos == 1:
                    pubacks += _PUBACK.pack(paho.PUBACK, 2, mid)
                elif qos == 2:
                    self.client.ack(mid, qos)
                else:
                    continue
                count += 1
        if pubacks:
            self._send_raw(bytes(pubacks))
        if count:
            self.metrics.add("acked", count)

    def _send_raw(self, packets: bytes) -> None:
        """Queue ready-made packets on paho's connection, as its own ``ack`` does (one
        entry of its out-queue, written by its network thread)."""
        queue_packet = getattr(self.client, "_packet_queue", None)
        if queue_packet is None:  # a paho without it: one ack at a time
            for offset in range(0, len(packets), _PUBACK.size):
                self.client.ack(_PUBACK.unpack_from(packets, offset)[2], 1)
            return
        queue_packet(paho.PUBACK, packets, 0, 0)


_current: MqttSubscriber | None = None


def start_mqtt(url: str | None = None, **overrides: Any) -> MqttSubscriber:
    """Start subscribing (settings: MQTT_URL, MQTT_CLIENT_ID, MQTT_SHARE_GROUP, …);
    returns the handle — ``.stop()`` ends it, ``.metrics.snapshot()`` reports."""
    global _current
    subscriber = MqttSubscriber(MqttConfig.from_settings(url, **overrides)).start()
    _current = subscriber
    return subscriber


# sessions of dead peers this process drains (mqtt_adoption): their counts are ours
adopters: set[MqttSubscriber] = set()
adopters_lock = threading.Lock()


def metrics() -> dict[str, Any]:
    """The running subscriber's counters, those of the sessions it adopted included
    (empty when MQTT is not running here)."""
    if _current is None:
        return {}
    snapshot = _current.metrics.snapshot()
    with adopters_lock:
        for adopter in adopters:
            counts = adopter.metrics.snapshot()
            for name in Metrics.NAMES:
                snapshot[name] += counts[name]
    return snapshot


def fold_adopter(subscriber: MqttSubscriber, adopter: MqttSubscriber) -> None:
    """An adopter has ended: its counts become ``subscriber``'s, so no total goes back."""
    with adopters_lock:
        if adopter in adopters:
            adopters.discard(adopter)
            counts = adopter.metrics.snapshot()
            subscriber.metrics.add_all(Counter({name: counts[name] for name in Metrics.NAMES}))
