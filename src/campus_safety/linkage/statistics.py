"""The linkage block of the summary report: police rooms, counsellor coverage, drills
due and overdue this term, notices not confirmed, open 训诫 follow-ups (no names); and
police-room coverage per district (the linkage hub and the reports overview)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from campus_safety.linkage import discipline, notices, services
from campus_safety.linkage.models import DisciplineRecord, PoliceRoom


def summary_block(schools: QuerySet) -> dict[str, Any]:
    """``{"police_rooms", "counsellor_coverage_rate", "drills_due", "drills_overdue",
    "notices_unconfirmed", "discipline_open_followups"}`` for ``schools``."""
    ids = schools.order_by().values("pk")
    total = schools.count()
    rooms = PoliceRoom.objects.filter(school__in=ids)
    counsellors = rooms.filter(~Q(counsellor_name="")).count()
    counts = services.compliance_counts(services.drill_compliance(schools))
    records = DisciplineRecord.objects.filter(school__in=ids)
    return {
        "police_rooms": rooms.count(),
        "counsellor_coverage_rate": round(counsellors / total, 4) if total else 0.0,
        "drills_due": counts["due"],
        "drills_overdue": counts["overdue"],
        "notices_unconfirmed": notices.unconfirmed_count(schools),
        "discipline_open_followups": discipline.open_follow_ups(records),
    }


def coverage_by_district(schools) -> list[dict[str, Any]]:
    """Per district: schools, with a police room, with a legal counsellor (one GROUP BY)."""
    rows = (
        schools.order_by()
        .values("region__code", "region__name")
        .annotate(
            schools=Count("pk"),
            rooms=Count("police_room", distinct=True),
            counsellors=Count(
                "police_room", filter=~Q(police_room__counsellor_name=""), distinct=True
            ),
        )
        .order_by("region__code")
    )
    result = []
    for row in rows:
        total = row["schools"] or 1
        result.append(
            {
                "code": row["region__code"],
                "name": row["region__name"],
                "schools": row["schools"],
                "rooms": row["rooms"],
                "counsellors": row["counsellors"],
                "room_rate": row["rooms"] / total,
                "counsellor_rate": row["counsellors"] / total,
            }
        )
    return result
