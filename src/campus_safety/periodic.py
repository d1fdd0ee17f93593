"""Periodic database jobs on the runtime's event loop (runtime.py): alarm timers,
hazard deadlines, the patrol sweep, SQLite checkpoints.

Each job runs in a worker thread of its own — the ORM never runs on the loop — which
keeps its database connection from one run to the next and closes it on exit. A run
that fails is logged and its connection dropped: a database hiccup never ends a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections

log = logging.getLogger(__name__)


async def run_every(
    stop: asyncio.Event, interval: float, job: Callable[[], Any], name: str
) -> None:
    """Run ``job`` now and then every ``interval`` seconds until ``stop`` is set."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as worker:
        try:
            while not stop.is_set():
                try:
                    await loop.run_in_executor(worker, job)
                except Exception:
                    log.exception("%s failed", name)
                    await loop.run_in_executor(worker, connections.close_all)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
        finally:
            await loop.run_in_executor(worker, connections.close_all)
