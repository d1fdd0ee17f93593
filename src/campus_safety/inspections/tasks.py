"""The inspections app's periodic jobs (runtime.py runs every app's ``TASKS``): the
daily inspection at ``INSPECTIONS_DAILY_HOUR`` (local) for the day just ended, and the
VQD snapshot sweep every ``INSPECTIONS_VQD_SWEEP_MINUTES`` (0 = off)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from campus_safety import clock, periodic, retention

log = logging.getLogger(__name__)
CHECK_SECONDS = 300.0


def run_daily_if_due(now: dt.datetime | None = None) -> bool:
    """Inspect yesterday once it is past the set hour and no run covers it yet."""
    from campus_safety.inspections.daily import run_daily_inspection
    from campus_safety.inspections.models import InspectionRun

    now = now or clock.now()
    local = timezone.localtime(now)
    if local.hour < int(getattr(settings, "INSPECTIONS_DAILY_HOUR", 1)):
        return False
    day = local.date() - dt.timedelta(days=1)
    if InspectionRun.objects.filter(day=day).exists():
        return False
    summary = run_daily_inspection(day, now)
    log.info(
        "daily inspection %s: %s schools in %.1f s, %s notices issued",
        day,
        summary.schools,
        summary.seconds,
        summary.notices,
    )
    return True


def run_sweep() -> None:
    from campus_safety.inspections.quality import sweep

    result = sweep()
    log.info(
        "VQD sweep: %s cameras, %s faulty, %s errors in %.1f s",
        result.cameras,
        result.faulty,
        result.errors,
        result.seconds,
    )


async def daily_loop(stop: asyncio.Event) -> None:
    await periodic.run_every(stop, CHECK_SECONDS, run_daily_if_due, "inspections-daily")


async def sweep_loop(stop: asyncio.Event) -> None:
    minutes = float(getattr(settings, "INSPECTIONS_VQD_SWEEP_MINUTES", 0))
    if minutes <= 0:
        await stop.wait()
        return
    await periodic.run_every(stop, minutes * 60, run_sweep, "inspections-vqd")


TASKS = [
    periodic.Task("inspections-daily", daily_loop),
    periodic.Task("inspections-vqd", sweep_loop),
]


def purge_quality_checks(now: dt.datetime) -> int:
    """Quality checks (and their pictures) older than the period, except the one each
    camera's state points at."""
    from campus_safety.inspections.models import CameraQuality, QualityCheck

    policy = next(p for p in RETENTION if p.kind == "inspection_quality_checks")
    cutoff = now - dt.timedelta(days=retention.days_for(policy))
    kept = CameraQuality.objects.exclude(last_check=None).values("last_check")
    old = QualityCheck.objects.filter(at__lt=cutoff).exclude(pk__in=kept)
    removed = 0
    for check in old.exclude(picture="").only("pk", "picture").iterator():
        check.picture.delete(save=False)
    removed, _ = old.delete()
    return removed


# Results, patrols and notices are the inspection's history and stay; quality checks
# (with the pictures of faulty snapshots) a quarter.
RETENTION = [
    retention.Policy(
        "inspection_quality_checks", default_days=90, minimum_days=7, purge=purge_quality_checks
    )
]
