"""Chart specifications, handed to ECharts through ``json_script``.

A spec is plain data — ``{"type": "pie" | "bar", "categories": [...], "series":
[{"name", "data", "stack"?}]}`` — with every label already translated, so
``static/campus_safety/charts.js`` holds no strings and builds no markup from text.
Each app builds its own pages' charts from these two shapes.
"""

from __future__ import annotations

from typing import Any


def pie(items: list[tuple[str, int]]) -> dict[str, Any]:
    return {"type": "pie", "series": [{"data": [{"name": str(n), "value": v} for n, v in items]}]}


def bars(
    categories: list[str], series: list[dict[str, Any]], horizontal: bool = False
) -> dict[str, Any]:
    return {"type": "bar", "categories": categories, "series": series, "horizontal": horizontal}
