"""Which platform processes are alive, with which roles — kept in Redis (issue #22).

Each ``serve`` process with ``REDIS_URL`` beats every ``BEAT_SECONDS``: one hash field
per process (``host:pid`` → roles, port, HTTP base URL, start, last beat) and a key that expires
``CLUSTER_MEMBER_TTL_SECONDS`` after the last beat. A process killed with SIGKILL stops
beating and drops out within that time; any process (a web page, ``campus-safety
cluster-status``, a test) reads the same answer. The devices' own liveness is shared the
same way (``devices/last_seen.py``: every SIP and MQTT process writes last-seen times and
registrations to one Redis hash, the one liveness sweeper of the cluster reads it).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)

BEAT_SECONDS = 2.0
PREFIX = "campus-safety:cluster"
MEMBER = f"{socket.gethostname()}:{os.getpid()}"

_beat: _Beat | None = None


def _client(url: str | None = None) -> Any:
    import redis

    return redis.Redis.from_url(url or settings.REDIS_URL, socket_timeout=2, decode_responses=True)


def advertised_url(host: str, port: int) -> str:
    """Where the other processes reach this one's HTTP port: ``CLUSTER_HTTP_URL``, else
    the address it is bound to (the host's own address when bound to all of them)."""
    if settings.CLUSTER_HTTP_URL:
        return settings.CLUSTER_HTTP_URL.rstrip("/")
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        try:
            host = socket.gethostbyname(socket.gethostname())
        except OSError:
            host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Beat:
    def __init__(self, roles: list[str], port: int, url: str = "") -> None:
        self.client = _client()
        self.record = {
            "member": MEMBER, "roles": roles, "port": port, "url": url, "started": time.time()
        }  # fmt: skip
        self.ttl = float(settings.CLUSTER_MEMBER_TTL_SECONDS)
        self.stopped = threading.Event()
        try:  # listed as soon as start() returns
            self.beat()
        except Exception:
            log.warning("cluster beat not sent to Redis", exc_info=True)
        self.thread = threading.Thread(target=self._run, name="cluster-beat", daemon=True)
        self.thread.start()

    def beat(self) -> None:
        record = json.dumps({**self.record, "beat": time.time()})
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(f"{PREFIX}:members", MEMBER, record)
        pipe.set(f"{PREFIX}:alive:{MEMBER}", "1", px=int(self.ttl * 1000))
        pipe.execute()

    def _run(self) -> None:
        while not self.stopped.wait(BEAT_SECONDS):
            try:
                self.beat()
            except Exception:  # Redis away: the next beat tries again
                log.warning("cluster beat not sent to Redis", exc_info=True)

    def stop(self) -> None:
        """A clean stop leaves at once (others need not wait for the expiry)."""
        self.stopped.set()
        self.thread.join(BEAT_SECONDS)
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hdel(f"{PREFIX}:members", MEMBER)
            pipe.delete(f"{PREFIX}:alive:{MEMBER}")
            pipe.execute()
        except Exception:
            log.warning("cluster member not removed from Redis", exc_info=True)


def start(roles: list[str], port: int, url: str = "") -> None:
    """Beat for this process from now on (``serve`` calls it once); ``url``: its HTTP
    base URL for the others (``advertised_url``)."""
    global _beat
    if _beat is None:
        _beat = _Beat(roles, port, url)


def stop() -> None:
    global _beat
    if _beat is not None:
        _beat.stop()
        _beat = None


def alive(url: str | None = None) -> list[dict[str, Any]]:
    """The processes whose last beat is younger than the TTL, by member name; entries of
    processes that expired are removed on the way."""
    client = _client(url)
    records = client.hgetall(f"{PREFIX}:members")
    if not records:
        return []
    names = sorted(records)
    flags = client.mget([f"{PREFIX}:alive:{name}" for name in names])
    found, dead = [], []
    for name, flag in zip(names, flags, strict=True):
        if flag is None:
            dead.append(name)
            continue
        try:
            found.append(json.loads(records[name]))
        except ValueError:
            dead.append(name)
    if dead:
        client.hdel(f"{PREFIX}:members", *dead)
    return found


def by_role(url: str | None = None) -> dict[str, list[str]]:
    """Role → the live members that run it (``cluster-status``, health pages)."""
    roles: dict[str, list[str]] = {}
    for record in alive(url):
        for role in record.get("roles", ()):
            roles.setdefault(role, []).append(record["member"])
    return roles
