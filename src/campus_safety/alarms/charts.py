"""The response statistics page's charts: specs built with ``chart_specs`` from
``statistics.by_district``, drawn by ``static/campus_safety/charts.js``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from campus_safety.chart_specs import bars

STEP_COLOURS = {"ack": "#d97706", "dispatch": "#2563eb", "arrive": "#7c3aed"}
HORIZONTAL_FROM = 5  # districts: long names read better on a horizontal bar chart


def _rounded(seconds: float | None) -> int | None:
    """Whole seconds; None (no case reached the step) leaves the bar out, not at 0."""
    return None if seconds is None else round(seconds)


def response_times_by_district(figures: dict[str, Any]) -> dict[str, Any]:
    """Median seconds from the alarm to each step, one group of bars per district."""
    districts = figures["districts"]
    names = {
        "ack": _("Acknowledged (median s)"),
        "dispatch": _("Dispatched (median s)"),
        "arrive": _("Arrived (median s)"),
    }
    return bars(
        [d["name"] or "—" for d in districts],
        [
            {
                "name": names[step],
                "color": colour,
                "data": [_rounded(d[step]["p50_s"]) for d in districts],
            }
            for step, colour in STEP_COLOURS.items()
        ],
        horizontal=len(districts) >= HORIZONTAL_FROM,
    )


def false_alarm_rate_by_district(figures: dict[str, Any]) -> dict[str, Any]:
    """False alarms as a percentage of closed real cases, per district."""
    districts = figures["districts"]
    return bars(
        [d["name"] or "—" for d in districts],
        [
            {
                "name": _("False-alarm rate (%)"),
                "color": "#b91c1c",
                "data": [round(d["false_alarm_rate"] * 100, 1) for d in districts],
            }
        ],
        horizontal=len(districts) >= HORIZONTAL_FROM,
    )
