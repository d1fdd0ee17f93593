"""How device pages reach the live gateway without importing it.

Apps never import ``gateway/`` (device I/O stays there), yet an operator wants to ask a
registered GB/T 28181 device for its DeviceStatus, DeviceInfo or Catalog from the
device page. So the gateway, when it starts in this process, connects a ``GatewayLink``
here; views ask ``current()`` and get ``None`` when no gateway runs in this process
(``serve --no-gateway``, a separate web process), which they say plainly.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

QUERIES = ("status", "info", "catalog")


class QueryError(Exception):
    """The device could not be asked or did not answer; the message is for the operator."""


class GatewayLink(Protocol):
    """What the running gateway offers the device pages."""

    def is_running(self) -> bool: ...

    def is_registered(self, device_id: str) -> bool: ...

    async def query(self, what: str, device_id: str) -> dict[str, Any]:
        """``what`` ∈ QUERIES; the answer as plain values. Raises QueryError."""
        ...

    def stats(self) -> dict[str, Any]:
        """Counters of the running adapters (registrations, keepalives, MQTT …)."""
        ...


_link: GatewayLink | None = None
_lock = threading.Lock()


def connect(link: GatewayLink) -> None:
    """Called by the gateway once it listens."""
    global _link
    with _lock:
        _link = link


def disconnect(link: GatewayLink | None = None) -> None:
    """Forget the link (``link``: only if it is still the connected one)."""
    global _link
    with _lock:
        if link is None or _link is link:
            _link = None


def current() -> GatewayLink | None:
    """The gateway running in this process, or None."""
    link = _link
    if link is None or not link.is_running():
        return None
    return link
