"""The gate's periodic job and retention (runtime.py runs every app's ``TASKS``;
retention.py every app's ``RETENTION``).

Retention (PIPL: no longer than the purpose needs): visitor records 180 days, pick-up
logs one school year, watch-list entries until their end plus a year (their hits with
them). ``DATA_RETENTION_DAYS`` overrides each kind.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from django.conf import settings

from campus_safety import clock, periodic
from campus_safety.gate.services import alert_overstays
from campus_safety.retention import Policy, days_for


async def run_overstays_loop(stop: asyncio.Event, interval: float | None = None) -> None:
    """Tell the gate about visitors who outstayed, every minute."""
    await periodic.run_every(
        stop,
        interval or float(getattr(settings, "GATE_OVERSTAY_SWEEP_SECONDS", 60)),
        lambda: alert_overstays(clock.now()),
        "gate-overstays",
    )


def purge_watchlist(now: dt.datetime) -> int:
    """Entries whose validity (or their ending by the police) is over by the period."""
    from django.db.models import Q

    from campus_safety.gate.models import WatchlistEntry

    cutoff = now - dt.timedelta(days=days_for(WATCHLIST))
    removed, _ = WatchlistEntry.objects.filter(
        Q(valid_until__lt=cutoff) | Q(ended_at__lt=cutoff)
    ).delete()
    return removed


WATCHLIST = Policy("gate_watchlist", default_days=365, minimum_days=1)

TASKS = [periodic.Task("gate-overstays", run_overstays_loop)]
RETENTION = [
    Policy("gate_visits", "gate.Visit", "checked_in_at", 180, 1),
    Policy("gate_invitations", "gate.VisitInvitation", "valid_until", 180, 1),
    Policy("gate_vehicle_passages", "gate.VehiclePassage", "at", 180, 1),
    Policy("gate_pickups", "gate.Pickup", "at", 365, 1),
    Policy("gate_watchlist", purge=purge_watchlist, default_days=365, minimum_days=1),
]
