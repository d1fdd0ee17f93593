"""How long the live log is kept (retention.py runs every app's ``RETENTION``): long
enough for a console to replay what it missed, no longer. On PostgreSQL the log is
partitioned by month (migration 0003): whole months past the period are dropped, the
coming months' partitions created, and the rest deleted row by row."""

from __future__ import annotations

import datetime as dt

from campus_safety import retention
from campus_safety.retention import Policy


def purge_live_events(now: dt.datetime) -> int:
    """Rows removed: those of the dropped months and those deleted one by one."""
    from campus_safety.live.models import LiveEvent

    cutoff = now - dt.timedelta(days=retention.days_for(RETENTION[0]))
    dropped = retention.drop_expired_months(LiveEvent, now, cutoff)
    deleted, _ = LiveEvent.objects.filter(at__lt=cutoff).delete()
    return dropped + deleted


RETENTION = [Policy("live_events", "live.LiveEvent", "at", 7, purge=purge_live_events)]
