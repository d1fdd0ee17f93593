"""Periodic jobs exactly once cluster-wide, through PostgreSQL (issue #22).

* **Leadership.** Every jobs process runs every job's loop, but a loop only works while
  its process holds the job's session-level advisory lock (``pg_try_advisory_lock``) on
  the process's one lock session (a connection of its own, not the pool's). A process
  that dies — SIGKILL, a lost machine — loses its session and PostgreSQL releases its
  locks; a standby that asks every ``STANDBY_SECONDS`` takes over. No lease to
  expire, no clock to trust.
* **Claims.** Before each run the leader inserts (job, period) into the ledger
  (``JobRun``; period = floor(Unix time / interval)); the unique pair lets one process
  run a period, whatever two processes believe. A new leader's first run therefore
  never repeats the period its predecessor ran, and runs fall on period boundaries. A
  claim whose run never finished and whose database session is gone (its process was
  killed mid-run) is taken over, so a kill does not cost the job its period.

Both need PostgreSQL and are on with it (``PERIODIC_CLUSTER``); the embedded SQLite
process is alone and runs its jobs as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import math
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connection, connections

log = logging.getLogger(__name__)

STANDBY_SECONDS = 1.0  # how often a standby asks for the lock
CHECK_SECONDS = 0.5  # how often a leader checks its session still holds the lock
# A new leader waits this long before its first run: an old leader still alive whose
# session was cut (a network partition, not a dead process) notices at its next check
# and stops first. Takeover after a kill: at most STANDBY_SECONDS + HANDOVER_SECONDS.
HANDOVER_SECONDS = CHECK_SECONDS + 0.25
PROCESS = f"{socket.gethostname()}:{os.getpid()}"
# A lost machine sends no FIN: without keepalives PostgreSQL keeps its lock session (and
# every lock on it) until the operating system's TCP defaults give up — two hours idle,
# ~15 minutes with unacknowledged data. Both ends of the lock session give up in ~11 s.
DEAD_PEER_SECONDS = {"idle": 5, "interval": 2, "count": 3}
SESSION_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": DEAD_PEER_SECONDS["idle"],
    "keepalives_interval": DEAD_PEER_SECONDS["interval"],
    "keepalives_count": DEAD_PEER_SECONDS["count"],
    "tcp_user_timeout": 10_000,  # ms
}
SERVER_KEEPALIVES = (
    f"SET tcp_keepalives_idle = {DEAD_PEER_SECONDS['idle']}; "
    f"SET tcp_keepalives_interval = {DEAD_PEER_SECONDS['interval']}; "
    f"SET tcp_keepalives_count = {DEAD_PEER_SECONDS['count']}; "
    "SET tcp_user_timeout = 10000"
)


def is_clustered() -> bool:
    """True when periodic jobs coordinate through PostgreSQL (leadership and claims)."""
    wanted = getattr(settings, "PERIODIC_CLUSTER", "auto")
    if wanted in (True, "1", "true", "on"):
        return True
    if wanted in (False, "0", "false", "off"):
        return False
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for job ``name``."""
    digest = hashlib.blake2b(f"campus-safety:periodic:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Session:
    """This process's one database session for every job's advisory lock, on its own
    thread. It never comes from the pool and is never shared, so it — and every lock it
    holds — lives exactly as long as this process keeps it open, or seconds longer when
    the machine is lost (keepalives both ways). A dropped session (``generation`` moves
    on) has taken every lock of this process with it."""

    def __init__(self) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadership")
        self.db: Any = None
        self.generation = 0

    def cursor(self) -> Any:
        if self.db is None:
            self.db = connections.create_connection("default")
            options = self.db.settings_dict.get("OPTIONS", {})
            self.db.settings_dict = {
                **self.db.settings_dict,
                "OPTIONS": {
                    **{k: v for k, v in options.items() if k != "pool"},
                    **SESSION_KEEPALIVES,
                },
            }
            self.generation += 1
            with self.db.cursor() as cursor:
                cursor.execute(SERVER_KEEPALIVES)
        return self.db.cursor()

    def drop(self) -> None:
        if self.db is not None:
            with contextlib.suppress(Exception):
                self.db.close()
        self.db = None


_session: Session | None = None


def process_session() -> Session:
    global _session
    if _session is None:
        _session = Session()
    return _session


class AdvisoryLock:
    """One job's session-level advisory lock, held on ``session`` (this process's)."""

    def __init__(self, name: str, session: Session | None = None) -> None:
        self.name, self.key = name, lock_key(name)
        self.session = session or process_session()
        self.generation: int | None = None  # the session generation that holds it

    @property
    def held(self) -> bool:
        return self.generation is not None and self.generation == self.session.generation

    async def _call(self, func: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.session.thread, func)

    def _try(self) -> bool:
        if self.held:
            return True
        try:
            with self.session.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.key])
                acquired = bool(cursor.fetchone()[0])
            self.generation = self.session.generation if acquired else None
        except Exception:
            log.warning("leadership of %s: database unreachable", self.name, exc_info=True)
            self.session.drop()
            self.generation = None
        return self.held

    def _check(self) -> bool:
        """The session that took the lock is alive, so the lock is still ours."""
        if not self.held or self.session.db is None:
            return False
        try:
            with self.session.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception:
            log.warning("leadership of %s lost with its database session", self.name)
            self.session.drop()
        return self.held and self.session.db is not None

    def _release(self) -> None:
        if self.held and self.session.db is not None:
            with contextlib.suppress(Exception), self.session.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])
        self.generation = None

    async def try_acquire(self) -> bool:
        return await self._call(self._try)

    async def still_held(self) -> bool:
        return await self._call(self._check)

    async def release(self) -> None:
        await self._call(self._release)


async def lead(name: str, run: Any, stop: asyncio.Event, session: Session | None = None) -> None:
    """Run ``run(term)`` (a periodic loop) only while this process leads job ``name``;
    stand by otherwise, until ``stop`` is set. ``session``: this process's (tests pass
    one per simulated process)."""
    lock = AdvisoryLock(name, session)
    try:
        while not stop.is_set():
            if not await lock.try_acquire():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=STANDBY_SECONDS)
                continue
            log.info("periodic job %s: this process (%s) leads it", name, PROCESS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=HANDOVER_SECONDS)
            if stop.is_set():
                break
            term = asyncio.Event()
            runner = asyncio.create_task(run(term), name=f"{name}-leader")
            try:
                while not stop.is_set() and not runner.done():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(runner), timeout=CHECK_SECONDS)
                    if not runner.done() and not await lock.still_held():
                        break
            finally:
                term.set()
                with contextlib.suppress(Exception):
                    await runner
            await lock.release()
            if not stop.is_set():  # the loop ended or the lock was lost: stand by a moment
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=STANDBY_SECONDS)
    finally:
        await lock.release()


def period_of(interval: float, now: float | None = None) -> int:
    """The period a run at ``now`` (Unix seconds, real time) belongs to."""
    return math.floor((time.time() if now is None else now) / interval)


def seconds_to_next_period(interval: float, now: float | None = None) -> float:
    now = time.time() if now is None else now
    return max((period_of(interval, now) + 1) * interval - now, 0.0)


def claim(name: str, interval: float, period: int) -> int | None:
    """Claim ``period`` of job ``name`` in the ledger; its row id, or None when another
    process (or this one) ran it or is running it. Runs in the job's own thread, whose
    database session stays open for the run: a claim left unfinished by a session that
    no longer exists (a process killed mid-run) is taken over. A session that is still
    there — an old leader whose lock session was cut, finishing the run in hand — keeps
    its claim."""
    from campus_safety.cluster.models import JobRun

    table = connection.ops.quote_name(JobRun._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS run "  # noqa: S608
            "(job, period, interval, process, backend_pid, started_at, finished_at, ok) "
            "VALUES (%s, %s, %s, %s, pg_backend_pid(), %s, NULL, NULL) "
            "ON CONFLICT (job, period) DO UPDATE SET process = EXCLUDED.process, "
            "backend_pid = EXCLUDED.backend_pid, started_at = EXCLUDED.started_at "
            "WHERE run.finished_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM pg_stat_activity WHERE pid = run.backend_pid) "
            "RETURNING id",
            [name, period, interval, PROCESS, dt.datetime.now(dt.UTC)],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def is_running(name: str, period: int) -> bool:
    """``period`` of job ``name`` is claimed by a run that has not finished."""
    from campus_safety.cluster.models import JobRun

    return JobRun.objects.filter(job=name, period=period, finished_at__isnull=True).exists()


def finish(run_id: int, ok: bool) -> None:
    """Record how the claimed run ended."""
    from campus_safety.cluster.models import JobRun

    JobRun.objects.filter(pk=run_id).update(finished_at=dt.datetime.now(dt.UTC), ok=ok)
