"""Devices' HTTP signing secrets, decrypted once and kept in memory beside the device
directory, so the lean ingest route checks a signature without a query.

The cache follows the directory: any reload or local device change empties it, so a
new secret or a revoked device takes effect as soon as the directory learns of it — at
once in this process, through Redis or the periodic reload in others. Only approved
devices (those in the directory) are ever looked up, which also bounds its size.
"""

from __future__ import annotations

import threading
from typing import Final

from campus_safety.devices import liveness
from campus_safety.devices.models import Device

MISSING: Final = object()  # not cached: call ``load`` (a query) off the event loop
_lock = threading.Lock()
_secrets: dict[str, str] = {}
_generation: tuple[float, int] | None = None


def cached(device_id: str) -> str | object | None:
    """The secret ("" if the device has none), None for an unknown or unapproved
    device, or MISSING when only ``load`` can tell. Never queries."""
    directory = liveness.default().directory
    if not directory.loaded:
        return MISSING
    if directory.entries.get(device_id) is None:
        return None
    with _lock:
        _follow(directory.generation)
        return _secrets.get(device_id, MISSING)


def load(device_id: str) -> str | None:
    """Read (and cache) the secret of an approved device; None if there is none."""
    directory = liveness.default().directory
    entry = directory.get(device_id)  # loads the directory the first time
    if entry is None:
        return None
    generation = directory.generation
    secret = (
        Device.objects.filter(pk=entry.pk, is_approved=True)
        .values_list("secret", flat=True)
        .first()
    )
    if secret is None:  # removed or unapproved since the directory was read
        return None
    with _lock:
        current = directory.generation
        _follow(current)
        if generation == current:  # no change raced the read
            _secrets[device_id] = secret
    return secret


def _follow(generation: tuple[float, int]) -> None:
    global _generation
    if generation != _generation:
        _secrets.clear()
        _generation = generation
