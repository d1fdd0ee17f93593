"""The approved devices, held in memory so a keepalive is checked without a query.

Unknown or unapproved IDs are turned away by a dict look-up (a flood of made-up IDs
never reaches the database). The directory is loaded once, patched in place when a
device is saved or deleted in this process, reloaded every
``LIVENESS_DIRECTORY_REFRESH_SECONDS``, and — with Redis — reloaded soon after any other
process changes a device (a version counter bumped on every save).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import NamedTuple

from django.conf import settings
from django.db import close_old_connections, connection

from campus_safety.devices.models import Device

log = logging.getLogger(__name__)

STATE_FIELDS = ("status", "status_since", "is_flapping", "last_seen_at", "register_expires_at")


class DeviceEntry(NamedTuple):
    """What the hot path needs to know about one approved device."""

    pk: int
    school_id: int | None
    protocol: str
    interval: int
    count: int
    parent_id: int | None
    kind: str = ""  # what an alarm's case needs, without a query per alarm
    key_area: str = ""

    @property
    def offline_after(self) -> int:
        """GB/T 28181: offline after interval × count without a keepalive."""
        return self.interval * self.count


ENTRY_FIELDS = (
    "pk",
    "school_id",
    "protocol",
    "keepalive_interval",
    "keepalive_count",
    "parent_id",
    "kind",
    "key_area",
)
STATE_AT = 1 + len(ENTRY_FIELDS)  # where STATE_FIELDS start in a load(with_state) row


def entry_of(device: Device) -> DeviceEntry:
    return DeviceEntry(
        device.pk,
        device.school_id,
        device.protocol,
        device.keepalive_interval,
        device.keepalive_count,
        device.parent_id,
        device.kind,
        device.key_area,
    )


def version_key() -> str:
    return f"{settings.LIVENESS_REDIS_PREFIX}:directory-version"


class Directory:
    """device_id → DeviceEntry for approved devices; safe to read from any thread."""

    def __init__(self) -> None:
        self.entries: dict[str, DeviceEntry] = {}
        self.loaded = False
        self.loaded_at = 0.0
        self._changes = 0  # bumped by local saves, so a reload racing one is redone
        self._parents: set[int] = set()
        self._parents_key: tuple[float, int] = (-1.0, -1)
        self._redis_version: bytes | None = None
        self._refresher: threading.Thread | None = None
        self._stop = threading.Event()

    def get(self, device_id: str) -> DeviceEntry | None:
        if not self.loaded:
            self.load()
        return self.entries.get(device_id)

    def load(self, *, with_state: bool = False) -> list[tuple]:
        """Read every approved device; with_state also returns their live-state columns."""
        fields = ("device_id", *ENTRY_FIELDS, *(STATE_FIELDS if with_state else ()))
        for _attempt in range(3):
            changes = self._changes
            rows = list(Device.objects.filter(is_approved=True).values_list(*fields))
            if changes == self._changes:
                break
        self.entries = {row[0]: DeviceEntry(*row[1:STATE_AT]) for row in rows}
        self.loaded, self.loaded_at = True, time.monotonic()
        return rows

    @property
    def generation(self) -> tuple[float, int]:
        """Changes whenever an entry may have: what is derived from it is stale then."""
        return (self.loaded_at, self._changes)

    def parents(self) -> set[int]:
        """Primary keys of devices that have channels (NVRs, lower platforms)."""
        key = self.generation
        if self._parents_key != key:
            self._parents = {e.parent_id for e in self.entries.values() if e.parent_id}
            self._parents_key = key
        return self._parents

    def saved(self, device: Device) -> None:
        self._changes += 1
        if device.is_approved:
            self.entries[device.device_id] = entry_of(device)
        else:
            self.entries.pop(device.device_id, None)

    def deleted(self, device: Device) -> None:
        self._changes += 1
        self.entries.pop(device.device_id, None)

    def is_stale(self) -> bool:
        """Due for the periodic reload, or another process changed a device (Redis)."""
        if time.monotonic() - self.loaded_at >= settings.LIVENESS_DIRECTORY_REFRESH_SECONDS:
            return True
        client = _redis()
        if client is None:
            return False
        try:
            version = client.get(version_key())
        except Exception:
            return False
        if version != self._redis_version:
            first = self._redis_version is None
            self._redis_version = version
            return not first
        return False

    def keep_fresh(self) -> None:
        """Load now if never loaded (call it from a thread, not an event loop), then
        reload in a background thread whenever stale."""
        if not self.loaded:
            self.load()
        if self._refresher is not None and self._refresher.is_alive():
            return
        self._stop.clear()
        self._refresher = threading.Thread(
            target=self._refresh_loop, name="device-directory", daemon=True
        )
        self._refresher.start()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                if self.is_stale():
                    close_old_connections()
                    self.load()
            except Exception:
                log.exception("device directory reload failed; keeping the old one")
        connection.close()  # this thread's connection

    def stop(self) -> None:
        self._stop.set()
        if self._refresher is not None and self._refresher is not threading.current_thread():
            self._refresher.join(timeout=3)


_redis_client = None


def _redis():
    global _redis_client
    if not settings.REDIS_URL:
        return None
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    return _redis_client


def announce_change() -> None:
    """Tell other processes (through Redis) that a device changed."""
    client = _redis()
    if client is None:
        return
    try:
        client.incr(version_key())
    except Exception:
        log.warning("could not announce a device change to other processes", exc_info=True)
