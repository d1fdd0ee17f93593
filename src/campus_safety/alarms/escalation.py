"""Escalation timers (升级): unacknowledged cases go up a level every N seconds, and a
dispatched case with no arrival inside its response circle is escalated and flagged.

The timers are deadlines stored on the case, so a restart loses none; the runner is
idempotent (a conditional UPDATE claims each deadline once, even with several workers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from campus_safety import bus, clock
from campus_safety.alarms.models import AlarmCase, AlarmEscalation
from campus_safety.alarms.workflow import ack_seconds
from campus_safety.orgs.models import Organisation

Level = AlarmEscalation.Level


def level_organisation(case: AlarmCase, level: int) -> Organisation | None:
    """station → its sub-bureau → the city bureau's command centre, as far as known."""
    org = case.school.police_station if case.school_id else None
    for _ in range(level):
        org = org.parent if org is not None else None
    return org


CHUNK = 50  # cases per transaction: a storm of escalations never holds the writer long


def _escalation(case: AlarmCase, reason: str, level: int, now: dt.datetime) -> AlarmEscalation:
    return AlarmEscalation(
        case=case, at=now, reason=reason, level=level, organisation=level_organisation(case, level)
    )


def _write(rows: list[AlarmEscalation]) -> list[AlarmEscalation]:
    """The chunk's escalations in one INSERT, announced together after the commit."""
    if not rows:
        return []
    AlarmEscalation.objects.bulk_create(rows)
    bus.publish_many_on_commit(
        [
            (
                "alarm.escalated",
                {
                    "case_id": row.case.pk,
                    "school_id": row.case.school_id,
                    "reason": row.reason,
                    "level": row.level,
                    "organisation_id": row.organisation_id,
                    "police_only": row.case.police_only,  # a watch-list hit's case (#17)
                },
            )
            for row in rows
        ]
    )
    return rows


def _chunks(queryset: QuerySet) -> Iterator[list[AlarmCase]]:
    cases = list(queryset.order_by("pk"))
    for start in range(0, len(cases), CHUNK):
        yield cases[start : start + CHUNK]


def _claim(chunk: list[AlarmCase], **still: Any) -> set[int]:
    """The chunk's cases that are still due, locked for this transaction: a runner in
    another process skips them (PostgreSQL ``SKIP LOCKED``; SQLite's writer lock,
    taken at BEGIN, serialises runners anyway) and, once this commits, finds them no
    longer due — so no case is escalated twice. One SELECT for the chunk, not an
    UPDATE per case."""
    return set(
        AlarmCase.objects.select_for_update(skip_locked=True)
        .filter(pk__in=[case.pk for case in chunk], **still)
        .values_list("pk", flat=True)
    )


def _by_next_level(chunk: list[AlarmCase], claimed: set[int]) -> dict[int, list[AlarmCase]]:
    """Claimed cases by the level they go up to: one UPDATE per level."""
    levels: dict[int, list[AlarmCase]] = {}
    for case in chunk:
        if case.pk in claimed:
            level = min(case.escalation_level + 1, Level.COMMAND_CENTRE)
            levels.setdefault(level, []).append(case)
    return levels


def run_alarm_timers(now: dt.datetime | None = None) -> list[AlarmEscalation]:
    """Fire every due deadline once; returns the escalations written.

    Each case is claimed by a conditional UPDATE (so several runners never escalate it
    twice); claims, escalation rows and console events go in transactions of ``CHUNK``
    cases, so a burst of unacknowledged alarms escalates without starving ingestion."""
    now = now or clock.now()
    written: list[AlarmEscalation] = []
    related = "school__police_station__parent__parent"
    unacknowledged = AlarmCase.objects.filter(
        state=AlarmCase.State.RECEIVED, is_test=False, next_escalation_at__lte=now
    ).select_related(related)
    for chunk in _chunks(unacknowledged):
        with transaction.atomic():
            claimed = _claim(chunk, state=AlarmCase.State.RECEIVED, next_escalation_at__lte=now)
            rows = []
            for level, cases in _by_next_level(chunk, claimed).items():
                AlarmCase.objects.filter(pk__in=[c.pk for c in cases]).update(
                    escalation_level=level,
                    next_escalation_at=now + dt.timedelta(seconds=ack_seconds()),
                )  # repeated at the top level until a person acknowledges
                reason = AlarmEscalation.Reason.UNACKNOWLEDGED
                rows += [_escalation(case, reason, level, now) for case in cases]
            written += _write(rows)
    overdue = AlarmCase.objects.filter(
        state=AlarmCase.State.DISPATCHED, is_breach=False, arrival_deadline__lte=now
    ).select_related(related)
    for chunk in _chunks(overdue):
        with transaction.atomic():
            claimed = _claim(chunk, state=AlarmCase.State.DISPATCHED, is_breach=False)
            rows = []
            for level, cases in _by_next_level(chunk, claimed).items():
                AlarmCase.objects.filter(pk__in=[c.pk for c in cases]).update(
                    is_breach=True, escalation_level=level
                )
                reason = AlarmEscalation.Reason.ARRIVAL_BREACH
                rows += [_escalation(case, reason, level, now) for case in cases]
            written += _write(rows)
    return written
