"""The registry's own figures for a set of schools — schools, students, guards by kind,
guards required and the gap under a staffing rule, protective equipment — in total and
per county-level division. The staffing page reads these alone; the dashboards
(``reports.summary``) add devices, alarms, hazards and patrols beside them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.db.models import QuerySet, Sum

from campus_safety.orgs.models import Region, School
from campus_safety.workforce.models import Equipment
from campus_safety.workforce.staffing import StaffingRule, annotate_staffing, get_rule

GUARD_KINDS = ("professional", "full_time", "part_time")


def _blank_row() -> dict[str, Any]:
    return {
        "schools": 0,
        "students": 0,
        "guards": dict.fromkeys(GUARD_KINDS, 0),
        "required": 0,
        "schools_short": 0,
        "gap": 0,
        "equipment": 0,
    }


def _add_school(row: dict[str, Any], school: dict[str, Any]) -> None:
    row["schools"] += 1
    row["students"] += school["students"]
    for kind in GUARD_KINDS:
        row["guards"][kind] += school[f"guards_{kind}"]
    row["required"] += school["required_guards"]
    row["gap"] += school["guard_gap"]
    row["schools_short"] += school["guard_gap"] > 0


def registry_figures(
    schools: QuerySet[School] | None = None, rule: StaffingRule | None = None
) -> dict[str, Any]:
    """Figures for ``schools`` (normally ``School.objects.visible_to(user)``; default
    all), with ``districts`` holding the same figures per county-level division."""
    rule = rule or get_rule()
    schools = School.objects.all() if schools is None else schools
    rows = annotate_staffing(schools.order_by(), rule).values(
        "region_id",
        "kind",
        "students",
        "required_guards",
        "guard_gap",
        *(f"guards_{k}" for k in GUARD_KINDS),
    )
    total = _blank_row()
    by_region: dict[int, dict[str, Any]] = defaultdict(_blank_row)
    by_kind: Counter[str] = Counter()
    for school in rows:
        _add_school(total, school)
        _add_school(by_region[school["region_id"]], school)
        by_kind[school["kind"]] += 1

    equipment_rows = (
        Equipment.objects.filter(school__in=schools.order_by().values("pk"))
        .values("kind", "school__region_id")
        .annotate(n=Sum("quantity"))
        .order_by()
    )
    equipment_by_kind: Counter[str] = Counter()
    for row in equipment_rows:
        equipment_by_kind[row["kind"]] += row["n"]
        if row["school__region_id"] in by_region:
            by_region[row["school__region_id"]]["equipment"] += row["n"]
    total["equipment"] = sum(equipment_by_kind.values())

    regions = Region.objects.filter(pk__in=by_region).order_by("code")
    return {
        "schools": total["schools"],
        "schools_by_kind": dict(sorted(by_kind.items())),
        "students": total["students"],
        "guards": {**total["guards"], "total": sum(total["guards"].values())},
        "equipment": total["equipment"],
        "equipment_by_kind": dict(sorted(equipment_by_kind.items())),
        "staffing": {
            "rule": rule.key,
            "required": total["required"],
            "gap": total["gap"],
            "schools_short": total["schools_short"],
        },
        "districts": [{"code": r.code, "name": r.name, **by_region[r.pk]} for r in regions],
    }
