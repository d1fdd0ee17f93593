"""The dashboards' charts (overview, summary): specs built with ``chart_specs``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from campus_safety.chart_specs import bars, pie
from campus_safety.orgs.models import School
from campus_safety.workforce.models import Guard

GUARD_KIND_COLOURS = {"professional": "#1d4ed8", "full_time": "#0f766e", "part_time": "#a3a3a3"}


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


def guard_kinds(guards: dict[str, int]) -> dict[str, Any]:
    labels = dict(Guard.Kind.choices)
    return pie([(labels[k], guards[k]) for k in GUARD_KIND_COLOURS])
