"""Chart specifications for the dashboards, handed to ECharts through ``json_script``.

A spec is plain data — ``{"type": "pie" | "bar", "categories": [...], "series":
[{"name", "data", "stack"?}]}`` — with every label already translated, so
``static/campus_safety/charts.js`` holds no strings and builds no markup from text.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from campus_safety.orgs.models import School
from campus_safety.workforce.models import Equipment, Guard

GUARD_KIND_COLOURS = {"professional": "#1d4ed8", "full_time": "#0f766e", "part_time": "#a3a3a3"}


def pie(items: list[tuple[str, int]]) -> dict[str, Any]:
    return {"type": "pie", "series": [{"data": [{"name": str(n), "value": v} for n, v in items]}]}


def bars(
    categories: list[str], series: list[dict[str, Any]], horizontal: bool = False
) -> dict[str, Any]:
    return {"type": "bar", "categories": categories, "series": series, "horizontal": horizontal}


def schools_by_kind(data: dict[str, Any]) -> dict[str, Any]:
    labels = dict(School.Kind.choices)
    return pie([(labels.get(k, k), n) for k, n in data["schools_by_kind"].items()])


def guards_by_district(data: dict[str, Any]) -> dict[str, Any]:
    """Stacked by kind: part-time staff are shown but do not meet the requirement."""
    districts = data["districts"]
    labels = dict(Guard.Kind.choices)
    return bars(
        [d["name"] for d in districts],
        [
            {
                "name": str(labels[kind]),
                "stack": "guards",
                "color": colour,
                "data": [d["guards"][kind] for d in districts],
            }
            for kind, colour in GUARD_KIND_COLOURS.items()
        ],
    )


def staffing_by_district(data: dict[str, Any]) -> dict[str, Any]:
    districts = data["districts"]
    return bars(
        [d["name"] for d in districts],
        [
            {"name": _("Guard gap"), "color": "#b91c1c", "data": [d["gap"] for d in districts]},
            {
                "name": _("Schools short of guards"),
                "color": "#f59e0b",
                "data": [d["schools_short"] for d in districts],
            },
        ],
    )


def required_and_counted(districts: list[dict[str, Any]]) -> dict[str, Any]:
    """Per district: guards the rule requires next to the guards that count towards it."""
    return bars(
        [d["name"] for d in districts],
        [
            {"name": _("Required"), "color": "#64748b", "data": [d["required"] for d in districts]},
            {
                "name": _("Counted guards"),
                "color": "#0f766e",
                "data": [d["counted"] for d in districts],
            },
            {"name": _("Gap"), "color": "#b91c1c", "data": [d["gap"] for d in districts]},
        ],
    )


def guard_kinds(guards: dict[str, int]) -> dict[str, Any]:
    labels = dict(Guard.Kind.choices)
    return pie([(labels[k], guards[k]) for k in GUARD_KIND_COLOURS])


def equipment_by_kind(totals: list[tuple[str, int]]) -> dict[str, Any]:
    labels = dict(Equipment.Kind.choices)
    return bars(
        [str(labels.get(k, k)) for k, _n in totals],
        [{"name": _("Pieces"), "color": "#1d4ed8", "data": [n for _k, n in totals]}],
        horizontal=True,
    )
