"""Hand each recorded live event to the streams open in this process and — with
``REDIS_URL`` — to the streams of every other web process, over one Redis channel.

The event is written once, by the process that published it (recording.py); this module
only moves the written row. Streams run on an event loop, the bus calls from other
threads: each stream owns an asyncio queue and is fed with ``loop.call_soon_threadsafe``,
only with what its user hears (the filter runs before the queue, so a station's console
is not filled by a city-wide storm it would discard). A delivery's SSE frame is encoded
once per process, however many streams send it.

A stream that falls ``QUEUE_SIZE`` behind (a 1,000-alarm earthquake on a busy process) is
not closed: its listener drops what comes while it is behind, remembers the lowest id it
dropped, and the stream reads everything from that id on from the live log in pages
(views.py) before it goes back to the queue — no reconnect, and no ``live.gap`` however
large the burst (within ``LIVE_REPLAY_MINUTES``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from campus_safety import redis_relay
from campus_safety.live import addressing

log = logging.getLogger(__name__)

CHANNEL = "campus-safety:live"
QUEUE_SIZE = 1000  # a stream this far behind catches up from the log (views.py)
_origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
_lock = threading.Lock()
_listeners: set[Listener] = set()
_clients: dict[str, Any] = {}
_is_stopping = False  # end_streams() was called: this process is stopping
# ids delivered here lately: Redis and the catch-up (catch_up.py) may both bring one
DELIVERED_KEPT = 50_000
_delivered: set[int] = set()
_delivered_order: collections.deque[int] = collections.deque()


@dataclass(frozen=True)
class Delivery:
    """A written LiveEvent as it travels to streams (and over Redis)."""

    id: int
    at: str
    name: str
    school_id: int | None
    region_code: str
    police_station_id: int | None
    payload: dict[str, Any]
    # addressed to a list (addressing.py), as stored; "" = by scope. Defaulted, so a
    # message from a process started before the column existed still parses.
    recipients: str = ""

    @classmethod
    def from_row(cls, row: Any) -> Delivery:
        return cls(
            id=row.pk,
            at=row.at.isoformat(),
            name=row.name,
            school_id=row.school_id,
            region_code=row.region_code,
            police_station_id=row.police_station_id,
            payload=json.loads(json.dumps(row.payload, cls=DjangoJSONEncoder)),
            recipients=getattr(row, "recipients", "") or "",
        )

    @functools.cached_property
    def addressees(self) -> frozenset[str]:
        """The recipients as a set, parsed once per process however many streams ask."""
        return addressing.decode(self.recipients)

    @functools.cached_property
    def frame(self) -> str:
        """The SSE frame, encoded once per process however many streams send it."""
        return sse_frame(
            self.id,
            self.name,
            {
                "id": self.id,
                "name": self.name,
                "at": self.at,
                "school_id": self.school_id,
                "region_code": self.region_code,
                "police_station_id": self.police_station_id,
                "payload": self.payload,
            },
        )


def sse_frame(event_id: int | None, name: str, data: Any) -> str:
    """One SSE frame (JSON has no raw newlines, so ``data`` is one line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"{head}event: {name}\ndata: {body}\n\n"


class Listener:
    """One open stream's mailbox. Everything on it runs on the stream's loop.

    ``None`` in the queue wakes the stream for something other than a delivery: the
    server is stopping (``is_stopping``: close), or the stream fell behind
    (``behind_from`` is the lowest id dropped since: read the log from there, then
    ``resume``)."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, hears: Callable[[Delivery], bool] | None = None
    ) -> None:
        self.loop = loop
        self.hears = hears
        self.queue: asyncio.Queue[Delivery | None] = asyncio.Queue(QUEUE_SIZE)
        self.behind_from: int | None = None
        self.is_stopping = False

    @property
    def has_overflowed(self) -> bool:
        return self.behind_from is not None

    def offer(self, delivery: Delivery) -> None:
        if self.is_stopping or (self.hears is not None and not self.hears(delivery)):
            return
        if self.behind_from is not None:
            self.behind_from = min(self.behind_from, delivery.id)
            return
        try:
            self.queue.put_nowait(delivery)
        except asyncio.QueueFull:
            queued = [self.queue.get_nowait() for _ in range(self.queue.qsize())]
            self.behind_from = min([delivery.id, *(d.id for d in queued if d is not None)])
            self.queue.put_nowait(None)

    def resume(self) -> int:
        """Take deliveries into the queue again; returns the lowest id dropped, which the
        stream reads from the log (every dropped row was committed before it was offered)."""
        behind_from, self.behind_from = self.behind_from, None
        assert behind_from is not None
        return behind_from

    def stop(self) -> None:
        self.is_stopping = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


def attach(
    loop: asyncio.AbstractEventLoop, hears: Callable[[Delivery], bool] | None = None
) -> Listener:
    """A mailbox for a stream on ``loop`` that takes what ``hears`` accepts (all when
    None); call ``detach`` when the stream ends."""
    listener = Listener(loop, hears)
    with _lock:
        _listeners.add(listener)
        is_stopping = _is_stopping
    if is_stopping:
        loop.call_soon_threadsafe(listener.stop)
    _ensure_relay()
    return listener


def end_streams() -> None:
    """The server is stopping (runtime.py): end every stream of this process now, and any
    opened from now on. A stream otherwise lasts up to ``LIVE_STREAM_MAX_SECONDS`` and
    the web server waits for every open response before it exits; the browsers
    reconnect to the next process and replay what they missed from the log."""
    global _is_stopping
    with _lock:
        _is_stopping = True
        listeners = list(_listeners)
    for listener in listeners:
        with contextlib.suppress(RuntimeError):  # its loop has closed: the stream is gone
            listener.loop.call_soon_threadsafe(listener.stop)


def accept_streams() -> None:
    """Streams may open again after ``end_streams``: a server started anew in the same
    process (the tests restart uvicorn in-process; ``serve`` never does)."""
    global _is_stopping
    with _lock:
        _is_stopping = False


def detach(listener: Listener) -> None:
    with _lock:
        _listeners.discard(listener)


def deliver_locally(delivery: Delivery) -> None:
    """Offer ``delivery`` to every stream of this process (thread-safe)."""
    with _lock:
        _delivered.add(delivery.id)
        _delivered_order.append(delivery.id)
        if len(_delivered_order) > DELIVERED_KEPT:
            _delivered.discard(_delivered_order.popleft())
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener.loop.call_soon_threadsafe(listener.offer, delivery)
        except RuntimeError:  # its loop has closed: the stream is gone
            detach(listener)


def was_delivered(event_id: int) -> bool:
    with _lock:
        return event_id in _delivered


def forget_delivered() -> None:
    """Start the delivered-ids memory afresh (a test database reuses rolled-back ids)."""
    with _lock:
        _delivered.clear()
        _delivered_order.clear()


def has_listeners() -> bool:
    with _lock:
        return bool(_listeners)


def announce(delivery: Delivery) -> None:
    """Deliver here, and to the other web processes when Redis is configured."""
    deliver_locally(delivery)
    client = _client()
    if client is None:
        return
    message = json.dumps({"origin": _origin, "event": asdict(delivery)}, ensure_ascii=False)
    try:
        client.publish(CHANNEL, message)
    except Exception:  # the event is in the log: streams elsewhere catch up on reconnect
        log.exception("could not relay live event %s to Redis", delivery.id)


def wait_until_relaying(timeout: float) -> bool:
    """True once this process listens on Redis (tests and start-up checks)."""
    url = settings.REDIS_URL
    return bool(url) and redis_relay.relay(url).wait_until_listening(timeout)


def _client() -> Any:
    url = settings.REDIS_URL
    if not url:
        return None
    if url not in _clients:
        import redis

        _clients[url] = redis.Redis.from_url(url, socket_timeout=5)
    return _clients[url]


def _ensure_relay() -> None:
    """Other processes' live events reach this process's streams through the relay, and
    what the relay missed through the catch-up from the live log (catch_up.py)."""
    if settings.REDIS_URL:
        from campus_safety.live import catch_up

        redis_relay.relay(settings.REDIS_URL).listen(CHANNEL, _relay_message)
        catch_up.ensure_started()


def _relay_message(data: Any) -> None:
    try:
        message = json.loads(data)
        if message.get("origin") == _origin:
            return
        deliver_locally(Delivery(**message["event"]))
    except (TypeError, ValueError, KeyError):
        log.warning("ignoring a malformed live message")
