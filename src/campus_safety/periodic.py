"""Periodic jobs on the runtime's event loop (runtime.py). Each app declares its own in
``<app>/tasks.py`` as ``TASKS`` (alarm timers, hazard deadlines, the patrol sweep,
liveness, import jobs …); ``serve`` runs every installed app's, and each app has a
command that runs its job alone (production worker processes).

Each job runs in a worker thread of its own — the ORM never runs on the loop — which
keeps its database connection from one run to the next and closes it on exit. A run
that fails is logged and its connection dropped: a database hiccup never ends a loop.

On PostgreSQL the jobs run once cluster-wide however many ``serve --role jobs``
processes run them (``cluster/leadership.py``): ``supervise`` runs a job's loop only
while this process leads it, and ``run_every`` claims each period in the ledger before
running it, so a period is run by one process, and a dead leader's job is taken over.
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

from campus_safety.cluster import leadership

log = logging.getLogger(__name__)


async def run_every(
    stop: asyncio.Event,
    interval: float,
    job: Callable[[], Any],
    name: str,
    *,
    per_process: bool = False,
) -> None:
    """Run ``job`` now and then every ``interval`` seconds until ``stop`` is set; in a
    cluster, once per period of ``interval`` seconds cluster-wide (``run_claimed``),
    unless the job is about this process's own resources (``per_process``)."""
    if leadership.is_clustered() and not per_process:
        await run_claimed(stop, interval, job, name)
        return
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


async def run_claimed(
    stop: asyncio.Event, interval: float, job: Callable[[], Any], name: str
) -> None:
    """``run_every`` in a cluster: each period (floor(Unix time / ``interval``)) is
    claimed in the ledger before it is run, and run only if the claim went in; the next
    run waits for the next period's start — or asks again in a moment while the period's
    claim is held by an unfinished run (a killed leader's database session can outlive
    it by the query in hand). A failed claim or run is logged; the loop goes on."""
    loop = asyncio.get_running_loop()

    def claimed_run() -> bool:
        """Run this period if the claim goes in; True when it is held by a run still
        going elsewhere (or whose session has not yet gone)."""
        try:
            period = leadership.period_of(interval)
            run_id = leadership.claim(name, interval, period)
            if run_id is None:  # another process ran this period, or is running it
                return leadership.is_running(name, period)
            ok = False
            try:
                job()
                ok = True
            finally:
                try:
                    leadership.finish(run_id, ok)
                except Exception:
                    log.warning("%s: could not record the end of run %s", name, run_id)
            return False
        finally:
            # back to the pool between runs: a jobs process runs a dozen loops, most of
            # them idle for minutes, and must not hold a connection for each
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as worker:
        try:
            while not stop.is_set():
                held_elsewhere = False
                try:
                    held_elsewhere = await loop.run_in_executor(worker, claimed_run)
                except Exception:
                    log.exception("%s failed", name)
                    await loop.run_in_executor(worker, connections.close_all)
                pause = max(leadership.seconds_to_next_period(interval), 0.001)
                if held_elsewhere:
                    pause = min(pause, leadership.STANDBY_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
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


async def supervise(task: Task, stop: asyncio.Event) -> None:
    """Run ``task`` until ``stop``: in a cluster only while this process leads it
    (PostgreSQL advisory lock), taking over when the leading process dies."""
    if leadership.is_clustered():
        await leadership.lead(task.name, task.run, stop)
    else:
        await task.run(stop)


def installed_tasks() -> list[Task]:
    """Every installed app's ``tasks.TASKS``."""
    return [task for module in app_modules("tasks") for task in getattr(module, "TASKS", ())]
