"""The city's headline figures, always computed from the registry, never stored."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.db.models import Sum

from campus_safety import clock
from campus_safety.alarms import statistics as alarm_statistics
from campus_safety.devices.models import Device
from campus_safety.devices.services import counts_by_kind_and_status
from campus_safety.hazards import statistics as hazard_statistics
from campus_safety.orgs.models import Region, School
from campus_safety.patrols import statistics as patrol_statistics
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


def summary(schools=None, rule: StaffingRule | None = None) -> dict[str, Any]:
    """Figures for a set of schools (default: all) and per county-level division.

    ``schools`` is normally ``School.objects.visible_to(user)``, so a district or a
    school sees its own figures through the same code as the city.
    """
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

    devices = devices_block(schools)
    regions = Region.objects.filter(pk__in=by_region).order_by("code")
    districts = [{"code": r.code, "name": r.name, **by_region[r.pk]} for r in regions]
    return {
        "generated_at": clock.now().isoformat(timespec="seconds"),
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
        "cameras": devices["by_kind"].get(Device.Kind.CAMERA, {}).get("total", 0),
        "one_key_alarms": devices["by_kind"].get(Device.Kind.ONE_KEY_ALARM, {}).get("total", 0),
        "devices_online_rate": devices["online_rate"],
        "devices": devices,
        "alarms": alarm_statistics.summary_block(schools),
        "hazards": hazard_statistics.summary_block(schools),
        "patrols": patrol_statistics.summary_block(schools),
        "districts": districts,
    }


def devices_block(schools) -> dict[str, Any]:
    """The approved devices of ``schools`` by kind and live status (one GROUP BY); the
    online rate is online devices out of all of them (4×100% 联网率)."""
    devices = Device.objects.filter(school__in=schools.order_by().values("pk"), is_approved=True)
    by_kind = counts_by_kind_and_status(devices)
    total = sum(kind["total"] for kind in by_kind.values())
    online = sum(kind.get(Device.Status.ONLINE, 0) for kind in by_kind.values())
    by_status: Counter[str] = Counter()
    for kind in by_kind.values():
        by_status.update({k: v for k, v in kind.items() if k != "total"})
    return {
        "total": total,
        "online": online,
        "online_rate": round(online / total, 4) if total else 0.0,
        "by_status": dict(sorted(by_status.items())),
        "by_kind": by_kind,
    }
