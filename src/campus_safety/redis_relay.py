"""The one thread per process that listens on Redis pub/sub for the other processes.

Both the event bus (``bus.CHANNEL``) and the live fan-out (``live.fanout.CHANNEL``) hear
other processes through it. A pub/sub connection breaks whenever Redis restarts, fails
over or a network blip closes it; a relay that ended on its first error left every
console of that process deaf to every other gateway until the process restarted. This
one reconnects (backing off up to ``MAX_BACKOFF`` seconds) and subscribes again to every
channel it was asked for. Messages published while it was disconnected are lost to it,
as pub/sub is fire-and-forget: the live log (``LiveEvent``) is what consoles replay.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MessageHandler = Callable[[Any], None]
MAX_BACKOFF = 5.0  # seconds between reconnection attempts, at most
POLL = 0.5  # seconds one wait for a message lasts: new channels are joined this often

_lock = threading.Lock()
_relays: dict[str, Relay] = {}


class Relay:
    """Listens on one Redis server's channels and calls each channel's handlers with the
    raw message data, from its own daemon thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._handlers: dict[str, list[MessageHandler]] = {}
        self._subscribed: set[str] = set()
        self._lock = threading.Lock()
        self._ready = threading.Event()  # subscribed to every channel asked for so far
        self.connections = 0  # how many times it has (re)connected: tests and counters
        self._closed = threading.Event()
        self.thread = threading.Thread(target=self._run, name="redis-relay", daemon=True)
        self.thread.start()

    def listen(self, channel: str, handler: MessageHandler) -> None:
        """Call ``handler(data)`` for each message on ``channel`` from now on."""
        with self._lock:
            handlers = self._handlers.setdefault(channel, [])
            if handler not in handlers:
                handlers.append(handler)
            if channel not in self._subscribed:
                self._ready.clear()

    def wait_until_listening(self, timeout: float) -> bool:
        """True once every channel asked for is subscribed on a live connection."""
        return self._ready.wait(timeout)

    def _run(self) -> None:
        import redis

        backoff = 0.1
        while not self._closed.is_set():
            pubsub = None
            try:
                client = redis.Redis.from_url(self.url, socket_keepalive=True)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                with self._lock:
                    self._subscribed = set()
                self.connections += 1
                while not self._closed.is_set():
                    self._join_new_channels(pubsub)
                    message = pubsub.get_message(timeout=POLL)
                    backoff = 0.1  # a working connection
                    if message is not None:
                        self._hand_over(message)
            except Exception as exc:  # every failure of the connection: start over
                self._ready.clear()
                log.warning(
                    "Redis relay lost %s (%s); reconnecting in %.1f s", self.url, exc, backoff
                )
                self._closed.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # the connection is already gone
                        pubsub.close()

    def _join_new_channels(self, pubsub: Any) -> None:
        with self._lock:
            wanted = set(self._handlers) - self._subscribed
        if wanted:
            pubsub.subscribe(*sorted(wanted))
            with self._lock:
                self._subscribed |= wanted
            pubsub.ping()  # Redis answers it after the subscriptions are in place

    def _hand_over(self, message: dict[str, Any]) -> None:
        if message.get("type") == "pong":
            with self._lock:
                if set(self._handlers) <= self._subscribed:
                    self._ready.set()
            return
        if message.get("type") != "message":
            return
        channel = message.get("channel")
        if isinstance(channel, bytes):
            channel = channel.decode()
        with self._lock:
            handlers = list(self._handlers.get(channel, ()))
        for handler in handlers:
            try:
                handler(message.get("data"))
            except Exception:  # one broken handler must not end the relay
                log.exception("Redis relay handler failed on %s", channel)


def close(url: str) -> None:
    """Stop listening to the server at ``url`` (a test's own Redis that it is done with)."""
    with _lock:
        found = _relays.pop(url, None)
    if found is not None:
        found._closed.set()
        found.thread.join(POLL * 4)


def relay(url: str) -> Relay:
    """This process's relay for the Redis server at ``url`` (started on first use)."""
    with _lock:
        found = _relays.get(url)
        if found is None:
            found = _relays[url] = Relay(url)
        return found


def is_relay_thread() -> bool:
    """True inside a handler called by a relay (for another process's message)."""
    current = threading.current_thread()
    with _lock:
        return any(found.thread is current for found in _relays.values())
