"""The city's headline figures, always computed from the registry, never stored."""

from __future__ import annotations

from collections import Counter
from typing import Any

from campus_safety import clock
from campus_safety.alarms import statistics as alarm_statistics
from campus_safety.devices.models import Device
from campus_safety.devices.services import counts_by_kind_and_status
from campus_safety.gate import services as gate_services
from campus_safety.hazards import statistics as hazard_statistics
from campus_safety.inspections import statistics as inspection_statistics
from campus_safety.intel import statistics as intel_statistics
from campus_safety.linkage import statistics as linkage_statistics
from campus_safety.orgs.models import School
from campus_safety.patrols import statistics as patrol_statistics
from campus_safety.workforce.figures import registry_figures
from campus_safety.workforce.staffing import StaffingRule


def summary(schools=None, rule: StaffingRule | None = None, reader: Any = None) -> dict[str, Any]:
    """Figures for a set of schools (default: all) and per county-level division.

    ``schools`` is normally ``School.objects.visible_to(user)``, so a district or a
    school sees its own figures through the same code as the city. The registry's part
    comes from ``workforce.figures``; devices, alarms, hazards and patrols are added here.
    ``reader`` (a page's or the API's user) hides police-only figures from others.
    """
    schools = School.objects.all() if schools is None else schools
    registry = registry_figures(schools, rule)
    devices = devices_block(schools)
    districts = registry.pop("districts")
    return {
        "generated_at": clock.now().isoformat(timespec="seconds"),
        **registry,
        "cameras": devices["by_kind"].get(Device.Kind.CAMERA, {}).get("total", 0),
        "one_key_alarms": devices["by_kind"].get(Device.Kind.ONE_KEY_ALARM, {}).get("total", 0),
        "devices_online_rate": devices["online_rate"],
        "devices": devices,
        "alarms": alarm_statistics.summary_block(schools, reader),  # police-only cases: police
        "inspections": inspection_statistics.summary_block(schools),  # issue #19
        "hazards": hazard_statistics.summary_block(schools),
        "patrols": patrol_statistics.summary_block(schools),
        "gate": gate_services.summary_block(schools, reader),  # gate (issue #17)
        "intel": intel_statistics.summary_block(schools, reader),  # issue #18
        "linkage": linkage_statistics.summary_block(schools),  # linkage (issue #20)
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
