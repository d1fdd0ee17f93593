"""The one source of "now" for domain code, so tests can move time.

A demo can also start its clock at another hour (``CAMPUS_SAFETY_CLOCK_START``, demo
mode only): the whole process — platform and simulated devices — then lives at that
time, running on from it.
"""

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


def device_time() -> dt.datetime:
    """``now()`` in this machine's own zone: what a simulated device's clock shows."""
    return dt.datetime.fromtimestamp(timestamp()).astimezone()


def advance(**kwargs: float) -> None:
    """Move the clock forward (tests only)."""
    global _offset
    _offset += dt.timedelta(**kwargs)


def reset() -> None:
    global _offset
    _offset = dt.timedelta()


def start_at(moment: dt.datetime) -> None:
    """From now on the clock reads ``moment`` and runs on from it (a demo's start)."""
    global _offset
    _offset = moment - timezone.now()


def parse_start(value: str, zone: dt.tzinfo) -> dt.datetime:
    """``"07:00"`` (today at that local time) or an ISO date-time (local if naive);
    raises ValueError with a reason."""
    value = value.strip()
    try:
        at = dt.time.fromisoformat(value)
    except ValueError:
        pass
    else:
        return dt.datetime.combine(timezone.now().astimezone(zone).date(), at, zone)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f'{value!r} is neither a time like "07:00" nor an ISO date-time') from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
