"""The alarms app's periodic jobs (runtime.py runs every app's ``TASKS``): the alarm
timers — escalation when a case is not acknowledged in time or no unit arrives."""

from __future__ import annotations

import asyncio

from campus_safety import clock, periodic
from campus_safety.alarms.escalation import run_alarm_timers


async def run_alarm_timers_loop(stop: asyncio.Event, interval: float = 1.0) -> None:
    """Run the timers every ``interval`` seconds until ``stop`` is set."""
    await periodic.run_every(stop, interval, lambda: run_alarm_timers(clock.now()), "alarm-timers")


TASKS = [periodic.Task("alarm-timers", run_alarm_timers_loop)]
