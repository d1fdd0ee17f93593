"""The intel app's periodic jobs: the daily early-warning scan and group detection."""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.utils import timezone

from campus_safety import clock, periodic


def _daily_job() -> None:
    """Once per local day, after INTEL_SCAN_HOUR: alarm cases closed as real that have
    no incident yet (a crash between closing and converting), then scan and look for
    groups."""
    from campus_safety.intel.early_warning import run_daily_scan
    from campus_safety.intel.from_alarms import sweep_closed_cases
    from campus_safety.intel.groups import detect_groups
    from campus_safety.intel.models import ScanRun

    now = clock.now()
    local = timezone.localtime(now)
    if local.hour < int(getattr(settings, "INTEL_SCAN_HOUR", 6)):
        return
    if ScanRun.objects.filter(day=local.date()).exists():
        return
    swept = sweep_closed_cases(now)
    summary = run_daily_scan(now)
    groups = detect_groups(now)
    ScanRun.objects.get_or_create(
        day=local.date(),
        defaults={
            "finished_at": clock.now(),
            "summary": f"{summary}; {groups} new groups; {swept} from alarms"[:200],
        },
    )


async def run_daily_loop(stop: asyncio.Event, interval: float | None = None) -> None:
    await periodic.run_every(
        stop,
        interval or float(getattr(settings, "INTEL_SCAN_CHECK_SECONDS", 900)),
        _daily_job,
        "intel-daily-scan",
    )


TASKS = [periodic.Task("intel-daily-scan", run_daily_loop)]
