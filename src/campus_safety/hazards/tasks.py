"""The hazards app's periodic jobs (runtime.py runs every app's ``TASKS``): deadline
reminders and the escalation of overdue hazards."""

from __future__ import annotations

import asyncio

from campus_safety import clock, periodic
from campus_safety.hazards.deadlines import run_hazard_deadlines, sweep_seconds


async def run_hazard_deadlines_loop(stop: asyncio.Event, interval: float | None = None) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set."""
    await periodic.run_every(
        stop,
        interval or sweep_seconds(),
        lambda: run_hazard_deadlines(clock.now()),
        "hazard-deadlines",
    )


TASKS = [periodic.Task("hazard-deadlines", run_hazard_deadlines_loop)]
