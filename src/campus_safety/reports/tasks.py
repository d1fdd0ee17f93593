"""The reports app's periodic jobs (runtime.py runs every app's ``TASKS``): scheduled
weekly, monthly and term reports, generated when due (``scheduled.run_due``), and the
big screen's kept figures for the scopes viewed lately (``screen_snapshot.refresh_due``),
so a screen's first paint never waits for the city's sums."""

from __future__ import annotations

import asyncio

from django.conf import settings

from campus_safety import clock, periodic
from campus_safety.reports import screen_snapshot
from campus_safety.reports.scheduled import run_due


def interval_seconds() -> float:
    return float(getattr(settings, "REPORTS_SCHEDULE_SECONDS", 600))


async def run_scheduled_reports_loop(stop: asyncio.Event, interval: float | None = None) -> None:
    """Look for due reports every ``interval`` seconds until ``stop`` is set."""
    await periodic.run_every(
        stop, interval or interval_seconds(), lambda: run_due(clock.now()), "scheduled-reports"
    )


async def refresh_screen_snapshots_loop(stop: asyncio.Event, interval: float | None = None) -> None:
    """Refresh the big screens' kept figures every ``interval`` seconds."""
    await periodic.run_every(
        stop,
        interval or screen_snapshot.refresh_seconds(),
        lambda: screen_snapshot.refresh_due(clock.now()),
        "screen-snapshots",
    )


TASKS = [
    periodic.Task("scheduled-reports", run_scheduled_reports_loop),
    periodic.Task("screen-snapshots", refresh_screen_snapshots_loop),
]
