"""The intel block of the summary (reports/summary.py): figures for a set of schools."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone

from campus_safety import clock
from campus_safety.intel.models import Alert, Group, Incident, Lead, Operation
from campus_safety.scoping import is_police


def summary_block(schools, reader: Any = None) -> dict[str, Any]:
    """Incidents near these schools in the last 90 days, open leads, open alerts, groups
    and special operations running today (all counted by the record's nearest school;
    an operation also by its schools and districts). A police-only incident (from a
    watch-list hit's alarm case) counts only for a police ``reader``; no reader (the
    command line) counts everything."""
    ids = schools.order_by().values("pk")
    regions = schools.order_by().values("region_id")
    now = clock.now()
    today = timezone.localtime(now).date()
    incidents = Incident.objects.all()
    if reader is not None and not is_police(reader):
        incidents = incidents.filter(police_only=False)
    return {
        "incidents_90d": incidents.filter(
            school__in=ids, occurred_at__gte=now - dt.timedelta(days=90)
        ).count(),
        "open_leads": Lead.objects.filter(school__in=ids, status__in=Lead.OPEN_STATUSES).count(),
        "alerts_open": Alert.objects.filter(school__in=ids, status__in=Alert.OPEN_STATUSES).count(),
        "groups": Group.objects.filter(school__in=ids).count(),
        "operations_active": Operation.objects.filter(
            Q(school__in=ids) | Q(schools__in=ids) | Q(regions__in=regions),
            starts_on__lte=today,
            ends_on__gte=today,
        )
        .distinct()
        .count(),
    }
