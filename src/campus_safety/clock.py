"""The one source of "now" for domain code, so tests can move time."""

import datetime as dt
import time

from django.utils import timezone

_offset = dt.timedelta()


def now() -> dt.datetime:
    """Aware current time, shifted by whatever tests advanced it by."""
    return timezone.now() + _offset


def timestamp() -> float:
    """``now().timestamp()`` without building a date-time: the keepalive hot path."""
    return time.time() + _offset.total_seconds()


def advance(**kwargs: float) -> None:
    """Move the clock forward (tests only)."""
    global _offset
    _offset += dt.timedelta(**kwargs)


def reset() -> None:
    global _offset
    _offset = dt.timedelta()
