"""Who is acting right now: set per request by the middleware, read by the audit log.

A context variable rather than a thread-local, so it follows ASGI requests correctly.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    user: Any = None
    source_ip: str | None = None
    channel: str = "system"  # ui, api, admin, cli, system, device


_NOBODY = Actor()
_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


def current() -> Actor:
    return _current.get() or _NOBODY


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Attribute every audited write inside the block to ``actor``."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def client_ip(request) -> str | None:
    """The peer address; X-Forwarded-For only counts behind a configured proxy."""
    return peer_address(
        request.META.get("HTTP_X_FORWARDED_FOR", ""), request.META.get("REMOTE_ADDR")
    )


def peer_address(forwarded_for: str, remote: str | None) -> str | None:
    """``client_ip`` from the raw header and socket peer (for ASGI apps outside Django)."""
    from django.conf import settings

    if getattr(settings, "TRUSTED_PROXY_COUNT", 0):
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        if len(hops) >= settings.TRUSTED_PROXY_COUNT:
            return hops[-settings.TRUSTED_PROXY_COUNT]
    return remote or None


def channel_of(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "ui"
