"""The patrols app's periodic jobs (runtime.py runs every app's ``TASKS``): the patrol
sweep — rounds created and evaluated, missed checkpoints alarmed, unacknowledged alarms
escalated, every settings.PATROL_SWEEP_SECONDS, in one worker thread."""

from __future__ import annotations

import asyncio

from django.conf import settings

from campus_safety import clock, periodic
from campus_safety.patrols import services
from campus_safety.retention import Policy


async def run_patrol_sweep_loop(stop: asyncio.Event, interval: float | None = None) -> None:
    """Sweep until ``stop`` is set; a failed sweep is logged and retried next time."""
    await periodic.run_every(
        stop,
        interval or settings.PATROL_SWEEP_SECONDS,
        lambda: services.sweep(clock.now()),
        "patrol-sweep",
    )


TASKS = [periodic.Task("patrol-sweep", run_patrol_sweep_loop)]

# Kept until DATA_RETENTION_DAYS["tour_scans"] sets a period (a term's patrol reports
# read them); on PostgreSQL the retention job still creates the coming months'
# partitions and then drops whole months past the period (retention.py).
RETENTION = [Policy("tour_scans", "patrols.TourScan", "occurred_at", None, minimum_days=366)]
