"""The workforce pages' charts: staffing per district, equipment by kind."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from campus_safety.chart_specs import bars
from campus_safety.workforce.models import Equipment


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


def equipment_by_kind(totals: list[tuple[str, int]]) -> dict[str, Any]:
    labels = dict(Equipment.Kind.choices)
    return bars(
        [str(labels.get(k, k)) for k, _n in totals],
        [{"name": _("Pieces"), "color": "#1d4ed8", "data": [n for _k, n in totals]}],
        horizontal=True,
    )
