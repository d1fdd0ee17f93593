"""Devices' credentials — the HTTP signing secret and the GB/T 28181 password —
decrypted once and kept in memory beside the device directory, so a signed HTTP
request or a REGISTER is checked without a query (and, for SIP, on the event loop).

The cache follows the directory: any reload or local device change empties it, so a
new secret or a revoked device takes effect as soon as the directory learns of it — at
once in this process, through Redis or the periodic reload in others. Only approved
devices (those in the directory) are ever cached, which also bounds its size.
"""

from __future__ import annotations

import threading
from typing import Final, NamedTuple

from campus_safety.devices import liveness
from campus_safety.devices.models import Device

MISSING: Final = object()  # not cached: call ``load`` (a query) off the event loop


class Credentials(NamedTuple):
    secret: str  # HTTP signing secret ("" = none set)
    password: str  # GB/T 28181 digest password ("" = the platform-wide default)


_lock = threading.Lock()
_cache: dict[str, Credentials] = {}
_generation: tuple[float, int] | None = None


def cached(device_id: str) -> Credentials | object | None:
    """The device's credentials, None for an unknown or unapproved device, or MISSING
    when only ``load`` can tell. Never queries."""
    directory = liveness.default().directory
    if not directory.loaded:
        return MISSING
    if directory.entries.get(device_id) is None:
        return None
    with _lock:
        _follow(directory.generation)
        return _cache.get(device_id, MISSING)


def load(device_id: str) -> Credentials | None:
    """Read (and cache) an approved device's credentials; None if it is not one."""
    directory = liveness.default().directory
    entry = directory.get(device_id)  # loads the directory the first time
    if entry is None:
        return None
    generation = directory.generation
    row = (
        Device.objects.filter(pk=entry.pk, is_approved=True)
        .values_list("secret", "password")
        .first()
    )
    if row is None:  # removed or unapproved since the directory was read
        return None
    found = Credentials(row[0] or "", row[1] or "")
    with _lock:
        current = directory.generation
        _follow(current)
        if generation == current:  # no change raced the read
            _cache[device_id] = found
    return found


def _follow(generation: tuple[float, int]) -> None:
    global _generation
    if generation != _generation:
        _cache.clear()
        _generation = generation
