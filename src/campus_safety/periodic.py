"""Periodic jobs on the runtime's event loop (runtime.py). Each app declares its own in
``<app>/tasks.py`` as ``TASKS`` (alarm timers, hazard deadlines, the patrol sweep,
liveness, import jobs …); ``serve`` runs every installed app's, and each app has a
command that runs its job alone (production worker processes).

Each job runs in a worker thread of its own — the ORM never runs on the loop — which
keeps its database connection from one run to the next and closes it on exit. A run
that fails is logged and its connection dropped: a database hiccup never ends a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.apps import apps
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


@dataclass(frozen=True)
class Task:
    """One app's periodic loop: ``run(stop)`` returns once ``stop`` is set."""

    name: str
    run: Callable[[asyncio.Event], Awaitable[None]]


def app_modules(name: str) -> list[ModuleType]:
    """Every installed app's module ``name`` (``tasks``), in INSTALLED_APPS order: the
    runtime and the retention job find what each app declares without a list that every
    new app must edit."""
    found = []
    for config in apps.get_app_configs():
        qualified = f"{config.name}.{name}"
        if importlib.util.find_spec(qualified) is not None:
            found.append(importlib.import_module(qualified))
    return found


def installed_tasks() -> list[Task]:
    """Every installed app's ``tasks.TASKS``."""
    return [task for module in app_modules("tasks") for task in getattr(module, "TASKS", ())]
