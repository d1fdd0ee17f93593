"""Hazard figures for the summary report and dashboards: found, rectified, open and
overdue, inside and around the campuses (one GROUP BY)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet

from campus_safety import clock
from campus_safety.hazards.models import Hazard


def overdue_q(now: dt.datetime) -> Q:
    """Being fixed (assigned or rectifying) past the deadline; a submitted fix waits on
    the verifier, not on the responsible party."""
    return Q(status__in=Hazard.RUNNING_STATUSES, deadline__lt=now)


def summary_block(schools: QuerySet, now: dt.datetime | None = None) -> dict[str, Any]:
    """``{"internal": {found, rectified, open, overdue}, "surrounding": {…}}`` for the
    hazards of ``schools``. Dismissed reports (not hazards after all) are not "found"."""
    now = now or clock.now()
    rows = (
        Hazard.objects.filter(school__in=schools.order_by().values("pk"))
        .exclude(status=Hazard.Status.DISMISSED)
        .order_by()
        .values("kind")
        .annotate(
            found=Count("pk"),
            rectified=Count("pk", filter=Q(status__in=Hazard.RECTIFIED_STATUSES)),
            open=Count("pk", filter=Q(status__in=Hazard.OPEN_STATUSES)),
            overdue=Count("pk", filter=overdue_q(now)),
        )
    )
    block = {
        kind: {"found": 0, "rectified": 0, "open": 0, "overdue": 0} for kind in Hazard.Kind.values
    }
    for row in rows:
        block[row["kind"]] = {k: row[k] for k in ("found", "rectified", "open", "overdue")}
    return block


def status_counts(hazards: QuerySet, now: dt.datetime | None = None) -> dict[str, int]:
    """Counts per status of a (scoped, filtered) queryset, plus overdue and due soon."""
    now = now or clock.now()
    counts = dict.fromkeys(Hazard.Status.values, 0)
    for row in hazards.order_by().values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    counts["total"] = sum(counts.values())
    counts["found"] = counts["total"] - counts[Hazard.Status.DISMISSED]
    counts["open"] = sum(counts[s] for s in Hazard.OPEN_STATUSES)
    counts["rectified"] = sum(counts[s] for s in Hazard.RECTIFIED_STATUSES)
    counts["overdue"] = hazards.filter(overdue_q(now)).count()
    return counts
