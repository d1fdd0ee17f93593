"""The inspections block of the summary report (reports/summary.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, Q

from campus_safety.hazards.models import Hazard
from campus_safety.inspections.daily import PASS_SCORE
from campus_safety.inspections.models import CameraQuality, DailyResult, Notice


def summary_block(schools) -> dict[str, Any]:
    """The latest inspected day of ``schools``: how many, mean score, how many below
    60; open notices; cameras whose last picture is faulty."""
    school_ids = schools.order_by().values("pk")
    results = DailyResult.objects.filter(school__in=school_ids)
    day = results.order_by("-day").values_list("day", flat=True).first()
    figures = (
        results.filter(day=day).aggregate(
            n=Count("id"), mean=Avg("score"), below=Count("id", filter=Q(score__lt=PASS_SCORE))
        )
        if day
        else {"n": 0, "mean": None, "below": 0}
    )
    return {
        "date": day.isoformat() if day else None,
        "schools_inspected": figures["n"],
        "mean_score": round(figures["mean"], 1) if figures["mean"] is not None else None,
        "schools_below_60": figures["below"],
        "open_notices": Notice.objects.filter(
            school__in=school_ids, hazard__status__in=Hazard.OPEN_STATUSES
        ).count(),
        "cameras_with_faults": CameraQuality.objects.filter(school__in=school_ids)
        .exclude(faults=[])
        .count(),
    }
