"""The linkage app's periodic jobs: sealing 训诫教育 records whose follow-up period is
over, and reminding schools that have not confirmed a notice before its deadline."""

from __future__ import annotations

import asyncio

from django.conf import settings

from campus_safety import clock, periodic


def run_linkage_sweep() -> dict[str, int]:
    from campus_safety.linkage import discipline, notices

    now = clock.now()
    return {"sealed": discipline.seal_due(now), "reminded": notices.remind_due(now)}


async def run_linkage_sweep_loop(stop: asyncio.Event, interval: float | None = None) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set."""
    await periodic.run_every(
        stop,
        interval or float(getattr(settings, "LINKAGE_SWEEP_SECONDS", 600)),
        run_linkage_sweep,
        "linkage-sweep",
    )


TASKS = [periodic.Task("linkage-sweep", run_linkage_sweep_loop)]
