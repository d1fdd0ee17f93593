"""Live device state (在线状态) that operators can trust.

The most common complaint about existing platforms is a device shown offline while its
keepalives arrive, or online after it died. So:

* a keepalive only touches memory or Redis (``last_seen.py``) after an in-memory
  directory check (``directory.py``): no query, no row;
* a sweeper, run every second, compares each device's last sign of life with
  ``min(registration expiry, interval × count)`` (GB/T 28181: 60 s × 3) and writes only
  transitions (``transitions.py``), announced on the bus after commit;
* after a restart nothing goes offline during a grace period (no offline storm);
* a device that flaps is announced once as flapping, then recorded but not announced
  until it has been stable for a while;
* inside a maintenance window changes are recorded but not announced; a device still
  down when the window closes is announced then;
* offline beyond ``LIVENESS_FAULT_AFTER_HOURS`` becomes a fault to repair;
* channels behind an NVR follow their parent when it goes down and comes back.

Last-seen times reach ``Device.last_seen_at`` in batches (``flush_last_seen``).
``run_liveness`` is the asyncio runner; ``campus-safety liveness`` runs it standalone.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models.signals import post_delete, post_save

from campus_safety import clock
from campus_safety.devices.directory import DeviceEntry, Directory, announce_change
from campus_safety.devices.last_seen import LastSeenStore, Registration, store_from_settings
from campus_safety.devices.models import Device
from campus_safety.devices.transitions import StatusTracker, Transition

log = logging.getLogger(__name__)

FLUSH_CHUNK = 1000


def _as_datetime(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


class Liveness:
    """Keepalive recording (any thread, no database) and sweeping (one thread)."""

    def __init__(
        self, store: LastSeenStore | None = None, directory: Directory | None = None
    ) -> None:
        self.store = store if store is not None else store_from_settings()
        self.directory = directory if directory is not None else Directory()
        self.tracker = StatusTracker(self.directory)
        self._flushed_seen: dict[str, float] = {}
        self._flushed_registrations: dict[str, Registration] = {}

    # --- the hot path: any thread, no database ---

    def lookup(self, device_id: str) -> DeviceEntry | None:
        """The approved device with this ID, from memory; None if unknown or unapproved."""
        return self.directory.get(device_id)

    def record_keepalive(
        self, device_id: str, at: dt.datetime | None = None, *, protocol: str | None = None
    ) -> bool:
        """A sign of life. False (and nothing recorded) for an unknown device or one that
        is registered for another protocol."""
        entry = self.directory.get(device_id)
        if entry is None or (protocol is not None and entry.protocol != protocol):
            return False
        self.store.touch(device_id, at.timestamp() if at is not None else clock.timestamp())
        return True

    def record_registration(
        self,
        device_id: str,
        expires: int,
        at: dt.datetime | None = None,
        *,
        remote: str = "",
        protocol: str | None = None,
    ) -> bool:
        """GB/T 28181 REGISTER: alive until ``expires`` seconds from now; 0 = unregister
        (offline at the next sweep). False for an unknown device."""
        entry = self.directory.get(device_id)
        if entry is None or (protocol is not None and entry.protocol != protocol):
            return False
        now = (at or clock.now()).timestamp()
        self.store.register(device_id, now, now + max(0, expires), remote)
        if expires > 0:
            self.store.touch(device_id, now)
        return True

    # --- the sweeper: one thread ---

    def start(self, now: dt.datetime | None = None) -> None:
        """Load every approved device and its state; the restart grace starts now."""
        self.tracker.start(now)

    def sweep(self, now: dt.datetime | None = None) -> list[Transition]:
        """Write and announce every due transition; returns what was recorded."""
        now = now or clock.now()
        if self.tracker.started_at is None:
            self.tracker.start(now)
        seen, registrations = self.store.snapshot()
        return self.tracker.sweep(now, seen, registrations)

    def tick(self) -> list[Transition]:
        """One round of the runner: reload the directory if stale, then sweep."""
        if self.tracker.started_at is not None and self.directory.is_stale():
            self.tracker.reload()
        return self.sweep()

    def record_reported_status(
        self, device_id: str, *, is_fault: bool, reason: str = "", at: dt.datetime | None = None
    ) -> Transition | None:
        """A device-reported fault (or recovery), written in the caller's transaction."""
        return self.tracker.record_reported_status(
            device_id, is_fault=is_fault, reason=reason, at=at
        )

    # --- batches to the database ---

    def flush_last_seen(self) -> int:
        """Copy changed last-seen times (and registrations) to the devices table."""
        seen, registrations = self.store.snapshot()
        entries = self.directory.entries
        flushed = self._flushed_seen
        changed = [
            (entries[d].pk, ts, d)
            for d, ts in seen.items()
            if flushed.get(d) != ts and d in entries
        ]
        for start in range(0, len(changed), FLUSH_CHUNK):
            chunk = changed[start : start + FLUSH_CHUNK]
            _update_last_seen([(pk, ts) for pk, ts, _ in chunk])
            for _, ts, device_id in chunk:
                flushed[device_id] = ts
        registered = [
            (d, r)
            for d, r in registrations.items()
            if self._flushed_registrations.get(d) != r and d in entries
        ]
        if registered:
            self.save_registrations(registered)
        return len(changed)

    def save_registrations(self, registrations: list[tuple[str, Registration]]) -> None:
        """Write registrations to the devices table now, in one transaction. GB/T 28181
        REGISTER calls this before its 200 OK (a restart right after must not forget
        the device, nor where it registered from); the flush then has nothing to redo."""
        with transaction.atomic():
            for start in range(0, len(registrations), FLUSH_CHUNK):
                _update_registrations(registrations[start : start + FLUSH_CHUNK])
        self._flushed_registrations.update(registrations)

    def close(self) -> None:
        self.directory.stop()
        self.store.close()


def _update_last_seen(pairs: list[tuple[int, float]]) -> None:
    """One UPDATE … FROM (VALUES …) per chunk (PostgreSQL and SQLite ≥ 3.33 alike):
    no model instances, no signals, no audit entries."""
    if not pairs:
        return
    ops = connection.ops
    table = ops.quote_name(Device._meta.db_table)
    column = ops.quote_name("last_seen_at")
    values = ", ".join(["(%s, %s)"] * len(pairs))
    params: list = []
    for pk, ts in pairs:
        params += [pk, ops.adapt_datetimefield_value(_as_datetime(ts))]
    cast = "::timestamptz" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {table} SET {column} = v.column2{cast} FROM (VALUES {values}) AS v "  # noqa: S608
        f"WHERE {table}.id = v.column1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _update_registrations(registrations: list[tuple[str, Registration]]) -> None:
    """``registered_at``, ``register_expires_at`` and ``remote_address`` by device ID, one
    UPDATE … FROM (VALUES …) for the lot (as ``_update_last_seen``)."""
    if not registrations:
        return
    ops = connection.ops
    table = ops.quote_name(Device._meta.db_table)
    columns = [ops.quote_name(c) for c in ("registered_at", "register_expires_at")]
    remote, device_id = ops.quote_name("remote_address"), ops.quote_name("device_id")
    values = ", ".join(["(%s, %s, %s, %s)"] * len(registrations))
    params: list = []
    for device, (at, until, address) in registrations:
        params += [
            device,
            ops.adapt_datetimefield_value(_as_datetime(at)),
            ops.adapt_datetimefield_value(_as_datetime(until)),
            address[:64],
        ]
    cast = "::timestamptz" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {table} SET {columns[0]} = v.column2{cast}, "  # noqa: S608
        # an empty address (an unregistration) keeps the one on record
        f"{columns[1]} = v.column3{cast}, {remote} = COALESCE(NULLIF(v.column4, ''), {remote}) "
        f"FROM (VALUES {values}) AS v WHERE {table}.{device_id} = v.column1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- the process-wide instance and its module-level API ---

_default: Liveness | None = None
_default_lock = threading.Lock()


def default() -> Liveness:
    """This process's liveness (store from settings: memory, or Redis with REDIS_URL)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Liveness()
    return _default


def reset(instance: Liveness | None = None) -> Liveness | None:
    """Replace this process's liveness (tests; after settings change). None = build a
    fresh one from settings on next use."""
    global _default
    with _default_lock:
        old, _default = _default, instance
    if old is not None and old is not instance:
        old.close()
    return instance


def lookup(device_id: str) -> DeviceEntry | None:
    """The approved device with this ID, from memory (no query); None if unknown."""
    return default().lookup(device_id)


def record_keepalive(
    device_id: str, at: dt.datetime | None = None, *, protocol: str | None = None
) -> bool:
    """A keepalive (or any message) from a device: O(1), no database. False if unknown."""
    return default().record_keepalive(device_id, at, protocol=protocol)


def record_registration(
    device_id: str,
    expires: int,
    at: dt.datetime | None = None,
    *,
    remote: str = "",
    protocol: str | None = None,
) -> bool:
    """GB/T 28181 REGISTER (``expires`` seconds; 0 = unregister). False if unknown."""
    return default().record_registration(device_id, expires, at, remote=remote, protocol=protocol)


def record_reported_status(
    device_id: str, *, is_fault: bool, reason: str = "", at: dt.datetime | None = None
) -> Transition | None:
    """A device-reported fault (or recovery), written in the caller's transaction."""
    return default().record_reported_status(device_id, is_fault=is_fault, reason=reason, at=at)


def sweep(now: dt.datetime | None = None) -> list[Transition]:
    """Write and announce every due transition (the runner calls this every second)."""
    return default().sweep(now)


def flush_last_seen() -> int:
    """Copy changed last-seen times to ``Device.last_seen_at``; returns how many."""
    return default().flush_last_seen()


def save_registrations(registrations: list[tuple[str, Registration]]) -> None:
    """Write (device ID, (registered at, until, remote)) to the devices table now."""
    default().save_registrations(registrations)


def keep_directory_fresh() -> None:
    """Gateway start-up: load the device directory now (a query: call it in a thread,
    not on an event loop) and reload it in the background whenever it goes stale."""
    default().directory.keep_fresh()


async def run_liveness(stop: asyncio.Event, liveness: Liveness | None = None) -> None:
    """Sweep every ``LIVENESS_SWEEP_SECONDS`` (reloading the directory when stale) and
    flush last-seen times every ``LIVENESS_FLUSH_SECONDS``, until ``stop`` is set.
    Database work runs in two dedicated threads, never on the event loop; the flush has
    its own so a slow flush never delays offline detection."""
    tracker = liveness or default()
    sweeper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liveness-sweep")
    flusher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liveness-flush")
    loop = asyncio.get_running_loop()

    def in_thread(executor, func):
        def job():
            close_old_connections()
            return func()

        return loop.run_in_executor(executor, job)

    async def flush_forever() -> None:
        while True:
            await asyncio.sleep(settings.LIVENESS_FLUSH_SECONDS)
            try:
                await in_thread(flusher, tracker.flush_last_seen)
            except Exception:
                log.exception("last-seen flush failed; retrying next round")

    sweep_every = settings.LIVENESS_SWEEP_SECONDS
    flushing = None
    try:
        await in_thread(sweeper, tracker.start)
        flushing = asyncio.create_task(flush_forever())
        log.info("liveness: sweeping every %g s", sweep_every)
        while not stop.is_set():
            began = time.monotonic()
            try:
                await in_thread(sweeper, tracker.tick)
            except Exception:
                log.exception("liveness sweep failed; a fresh grace period follows")
                tracker.tracker.require_grace()
            pause = max(0.0, sweep_every - (time.monotonic() - began))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
    finally:
        if flushing is not None:
            flushing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flushing
        try:
            await in_thread(flusher, tracker.flush_last_seen)  # what came in last
        except Exception:
            log.exception("final last-seen flush failed")
        for executor in (sweeper, flusher):
            await in_thread(executor, _close_connection)
            executor.shutdown(wait=True)


def _close_connection() -> None:
    connection.close()  # the calling thread's connection (thread-local)


def _device_saved(sender, instance: Device, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    if _default is not None:
        _default.directory.saved(instance)
    announce_change()


def _device_deleted(sender, instance: Device, **kwargs) -> None:
    if _default is not None:
        _default.directory.deleted(instance)
    announce_change()


def connect_signals() -> None:
    """Keep the directory in step with saves in this process (and others, via Redis)."""
    post_save.connect(_device_saved, sender=Device, dispatch_uid="liveness-device-saved")
    post_delete.connect(_device_deleted, sender=Device, dispatch_uid="liveness-device-deleted")


connect_signals()
