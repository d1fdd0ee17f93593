"""Escalation timers (升级): unacknowledged cases go up a level every N seconds, and a
dispatched case with no arrival inside its response circle is escalated and flagged.

The timers are deadlines stored on the case, so a restart loses none; the runner is
idempotent (a conditional UPDATE claims each deadline once, even with several workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor

from django.db import connections, transaction

from campus_safety import bus, clock
from campus_safety.alarms.models import AlarmCase, AlarmEscalation
from campus_safety.alarms.workflow import ack_seconds
from campus_safety.orgs.models import Organisation

log = logging.getLogger(__name__)
Level = AlarmEscalation.Level


def level_organisation(case: AlarmCase, level: int) -> Organisation | None:
    """station → its sub-bureau → the city bureau's command centre, as far as known."""
    org = case.school.police_station if case.school_id else None
    for _ in range(level):
        org = org.parent if org is not None else None
    return org


def _escalate(case: AlarmCase, reason: str, level: int, now: dt.datetime) -> AlarmEscalation:
    row = AlarmEscalation.objects.create(
        case=case, at=now, reason=reason, level=level, organisation=level_organisation(case, level)
    )
    bus.publish_on_commit(
        "alarm.escalated",
        case_id=case.pk,
        school_id=case.school_id,
        reason=reason,
        level=level,
        organisation_id=row.organisation_id,
    )
    return row


def run_alarm_timers(now: dt.datetime | None = None) -> list[AlarmEscalation]:
    """Fire every due deadline once; returns the escalations written."""
    now = now or clock.now()
    written: list[AlarmEscalation] = []
    unacknowledged = AlarmCase.objects.filter(
        state=AlarmCase.State.RECEIVED, is_test=False, next_escalation_at__lte=now
    ).select_related("school__police_station__parent__parent")
    for case in unacknowledged:
        level = min(case.escalation_level + 1, Level.COMMAND_CENTRE)
        with transaction.atomic():
            claimed = AlarmCase.objects.filter(
                pk=case.pk,
                state=AlarmCase.State.RECEIVED,
                next_escalation_at=case.next_escalation_at,
            ).update(
                escalation_level=level,
                next_escalation_at=now + dt.timedelta(seconds=ack_seconds()),
            )
            if claimed:  # repeated at the top level until a person acknowledges
                written.append(_escalate(case, AlarmEscalation.Reason.UNACKNOWLEDGED, level, now))
    overdue = AlarmCase.objects.filter(
        state=AlarmCase.State.DISPATCHED, is_breach=False, arrival_deadline__lte=now
    ).select_related("school__police_station__parent__parent")
    for case in overdue:
        level = min(case.escalation_level + 1, Level.COMMAND_CENTRE)
        with transaction.atomic():
            claimed = AlarmCase.objects.filter(
                pk=case.pk, state=AlarmCase.State.DISPATCHED, is_breach=False
            ).update(is_breach=True, escalation_level=level)
            if claimed:
                written.append(_escalate(case, AlarmEscalation.Reason.ARRIVAL_BREACH, level, now))
    return written


async def run_alarm_timers_loop(stop: asyncio.Event, interval: float = 1.0) -> None:
    """Run the timers every ``interval`` seconds until ``stop`` is set (runtime.py).

    One worker thread keeps one database connection across runs and closes it on exit.
    """
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alarm-timers") as worker:
        try:
            while not stop.is_set():
                try:
                    await loop.run_in_executor(worker, run_alarm_timers, clock.now())
                except Exception:  # a database hiccup must not end the loop
                    log.exception("alarm timers failed")
                    await loop.run_in_executor(worker, connections.close_all)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
        finally:
            await loop.run_in_executor(worker, connections.close_all)
