"""Deadline reminders and overdue escalation (逾期督办) for hazards.

A hazard being fixed gets one reminder ``HAZARD_REMINDER_HOURS`` before its deadline;
once the deadline passes it escalates to the supervisor of the responsible party (a
school → its county education bureau, a police station → its sub-bureau, another
department → the police sub-bureau around the campus or the education bureau inside),
and again to that supervisor's own superior after ``HAZARD_ESCALATION_REPEAT_DAYS``.

The clocks are database columns (``deadline``, ``reminded_at``, ``next_escalation_at``),
so a restart loses none; each step is claimed by a conditional UPDATE, so two workers
never send the same reminder or escalation twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campus_safety import bus, clock
from campus_safety.hazards.models import Hazard, HazardEvent
from campus_safety.orgs.models import Organisation, School

MAX_LEVEL = 2


@dataclass(frozen=True)
class SweepResult:
    reminded: list[int]
    escalated: list[int]


def reminder_hours() -> float:
    return float(getattr(settings, "HAZARD_REMINDER_HOURS", 48))


def repeat_days() -> float:
    return float(getattr(settings, "HAZARD_ESCALATION_REPEAT_DAYS", 7))


def sweep_seconds() -> float:
    return float(getattr(settings, "HAZARD_SWEEP_SECONDS", 300))


def _education_bureau(school: School, *, city: bool = False) -> Organisation | None:
    region = school.region.parent if city and school.region.parent_id else school.region
    return (
        Organisation.objects.filter(kind=Organisation.Kind.EDUCATION_BUREAU, region=region)
        .order_by("pk")
        .first()
    )


def supervisor(hazard: Hazard, level: int) -> Organisation | None:
    """Who is told at escalation ``level`` (1 = the responsible party's supervisor, 2 =
    the supervisor's superior), as far as the registry knows."""
    school = hazard.school
    kind = hazard.responsible_kind
    if kind == Hazard.Responsible.POLICE_STATION or (
        kind == Hazard.Responsible.DEPARTMENT and hazard.kind == Hazard.Kind.SURROUNDING
    ):
        station = hazard.responsible_organisation or school.police_station
        org = station
        for _step in range(level):
            org = org.parent if org is not None else None
        return org
    # The school, or a department inside the campus: the education side supervises.
    if level <= 1:
        return _education_bureau(school)
    return _education_bureau(school, city=True) or _education_bureau(school)


def run_hazard_deadlines(now: dt.datetime | None = None) -> SweepResult:
    """Send due reminders and escalate overdue hazards, each once."""
    now = now or clock.now()
    running = Hazard.objects.filter(status__in=Hazard.RUNNING_STATUSES)
    reminded: list[int] = []
    window = dt.timedelta(hours=reminder_hours())
    due_soon = running.filter(
        reminded_at__isnull=True, deadline__gt=now, deadline__lte=now + window
    ).select_related("school", "responsible_organisation")
    for hazard in due_soon:
        with transaction.atomic():
            claimed = Hazard.objects.filter(
                pk=hazard.pk, reminded_at__isnull=True, status__in=Hazard.RUNNING_STATUSES
            ).update(reminded_at=now)
            if claimed:
                HazardEvent.objects.create(
                    hazard=hazard,
                    at=now,
                    step=HazardEvent.Step.REMINDED,
                    note=_("Deadline %(deadline)s: %(who)s is reminded.")
                    % {
                        "deadline": f"{timezone.localtime(hazard.deadline):%Y-%m-%d %H:%M}",
                        "who": hazard.responsible_label,
                    },
                    organisation=hazard.responsible_organisation,
                )
                bus.publish_on_commit(
                    "hazard.reminder",
                    hazard_id=hazard.pk,
                    school_id=hazard.school_id,
                    deadline=hazard.deadline.isoformat(),
                    responsible=str(hazard.responsible_label),
                )
                reminded.append(hazard.pk)
    escalated: list[int] = []
    overdue = running.filter(next_escalation_at__lte=now, deadline__lt=now).select_related(
        "school__region__parent",
        "school__police_station__parent__parent",
        "responsible_organisation__parent__parent",
    )
    for hazard in overdue:
        level = min(hazard.escalation_level + 1, MAX_LEVEL)
        target = supervisor(hazard, level)
        following = now + dt.timedelta(days=repeat_days()) if level < MAX_LEVEL else None
        with transaction.atomic():
            claimed = Hazard.objects.filter(
                pk=hazard.pk,
                next_escalation_at=hazard.next_escalation_at,
                status__in=Hazard.RUNNING_STATUSES,
            ).update(escalation_level=level, next_escalation_at=following, escalated_to=target)
            if claimed:
                days = (now - hazard.deadline).days
                HazardEvent.objects.create(
                    hazard=hazard,
                    at=now,
                    step=HazardEvent.Step.ESCALATED,
                    note=_("Overdue by %(days)s days: escalated to %(to)s (level %(level)s).")
                    % {"days": days, "to": target or _("no supervisor on file"), "level": level},
                    organisation=target,
                )
                bus.publish_on_commit(
                    "hazard.escalated",
                    hazard_id=hazard.pk,
                    school_id=hazard.school_id,
                    level=level,
                    escalated_to=str(target) if target else "",
                    overdue_days=days,
                )
                escalated.append(hazard.pk)
    return SweepResult(reminded=reminded, escalated=escalated)
