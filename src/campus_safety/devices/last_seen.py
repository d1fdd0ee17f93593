"""Where last-seen times and registrations live: process memory, or Redis when scaled out.

A keepalive must not write a database row (ARCHITECTURE.md §3.2), so the hot path only
touches one of these stores. ``MemoryLastSeen`` serves the embedded single process.
``RedisLastSeen`` lets gateway processes record and a separate liveness process read:
keepalives are buffered locally and pushed in one pipelined ``HSET`` every 100 ms, so a
keepalive costs a dict assignment, not a network round trip. Times are Unix seconds.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)

# device_id → (registered_at, registered_until, remote address)
Registration = tuple[float, float, str]


class LastSeenStore(Protocol):
    def touch(self, device_id: str, ts: float) -> None: ...

    def register(self, device_id: str, at: float, until: float, remote: str) -> None: ...

    def snapshot(self) -> tuple[dict[str, float], dict[str, Registration]]: ...

    def close(self) -> None: ...


class MemoryLastSeen:
    """Embedded mode: the only process that hears devices also sweeps them."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._registrations: dict[str, Registration] = {}

    def touch(self, device_id: str, ts: float) -> None:
        self._seen[device_id] = ts

    def register(self, device_id: str, at: float, until: float, remote: str) -> None:
        self._registrations[device_id] = (at, until, remote)

    def snapshot(self) -> tuple[dict[str, float], dict[str, Registration]]:
        # dict.copy() is atomic under the GIL: safe against writers in other threads.
        return self._seen.copy(), self._registrations.copy()

    def close(self) -> None:
        pass


class RedisLastSeen:
    """Scaled out: two hashes in Redis shared by every gateway and the liveness process."""

    PUSH_SECONDS = 0.1
    CHUNK = 5000

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
        self.seen_key = f"{prefix}:last-seen"
        self.registration_key = f"{prefix}:registration"
        self._pending: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pusher: threading.Thread | None = None

    def touch(self, device_id: str, ts: float) -> None:
        with self._lock:
            self._pending[device_id] = ts
        if self._pusher is None:
            self._start_pusher()

    def _start_pusher(self) -> None:
        with self._lock:
            if self._pusher is not None:
                return
            self._pusher = threading.Thread(
                target=self._push_loop, name="last-seen-push", daemon=True
            )
            self._pusher.start()

    def _push_loop(self) -> None:
        while not self._stop.wait(self.PUSH_SECONDS):
            try:
                self.push()
            except Exception:  # Redis away: keep the batch, try again next round
                log.warning("could not push last-seen times to Redis", exc_info=True)

    def push(self) -> int:
        """Send buffered keepalives in one pipeline; on failure they stay buffered."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return 0
        try:
            pipe = self.client.pipeline(transaction=False)
            items = list(batch.items())
            for start in range(0, len(items), self.CHUNK):
                pipe.hset(self.seen_key, mapping=dict(items[start : start + self.CHUNK]))
            pipe.execute()
        except Exception:
            with self._lock:  # newer keepalives that arrived meanwhile win
                self._pending = {**batch, **self._pending}
            raise
        return len(batch)

    def register(self, device_id: str, at: float, until: float, remote: str) -> None:
        self.client.hset(self.registration_key, device_id, f"{at!r} {until!r} {remote}")

    def snapshot(self) -> tuple[dict[str, float], dict[str, Registration]]:
        self.push()
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(self.seen_key)
        pipe.hgetall(self.registration_key)
        raw_seen, raw_registrations = pipe.execute()
        seen = {key: float(value) for key, value in raw_seen.items()}
        registrations: dict[str, Registration] = {}
        for key, value in raw_registrations.items():
            at, until, remote = [*value.split(" ", 2), ""][:3]
            registrations[key] = (float(at), float(until), remote)
        return seen, registrations

    def close(self) -> None:
        self._stop.set()
        if self._pusher is not None:
            self._pusher.join(timeout=2)
        try:
            self.push()
        except Exception:
            log.warning("last-seen times not pushed to Redis at shutdown", exc_info=True)
        self.client.close()

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._pending = {}
        self.client.delete(self.seen_key, self.registration_key)


def store_from_settings() -> LastSeenStore:
    """Redis when ``REDIS_URL`` is set (several processes), else this process's memory."""
    from django.conf import settings

    if settings.REDIS_URL:
        return RedisLastSeen(settings.REDIS_URL, settings.LIVENESS_REDIS_PREFIX)
    return MemoryLastSeen()
