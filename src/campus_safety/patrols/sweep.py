"""The patrol sweep on the runtime's event loop (runtime.py): rounds created and
evaluated, missed checkpoints alarmed, unacknowledged alarms escalated, every
settings.PATROL_SWEEP_SECONDS, in one worker thread (the ORM never runs on the loop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connections

from campus_safety import clock
from campus_safety.patrols import services

log = logging.getLogger(__name__)


async def run_patrol_sweep_loop(stop: asyncio.Event, interval: float | None = None) -> None:
    """Sweep until ``stop`` is set; a failed sweep is logged and retried next time."""
    interval = interval or settings.PATROL_SWEEP_SECONDS
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="patrol-sweep") as worker:
        try:
            while not stop.is_set():
                try:
                    await loop.run_in_executor(worker, services.sweep, clock.now())
                except Exception:  # a database hiccup must not end the loop
                    log.exception("patrol sweep failed")
                    await loop.run_in_executor(worker, connections.close_all)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
        finally:
            await loop.run_in_executor(worker, connections.close_all)
