"""Finding police units to send (派警): the nearest available ones, by great-circle
distance from the school."""

from __future__ import annotations

import math
from typing import Any

from campus_safety.alarms.models import PoliceUnit

EARTH_RADIUS_M = 6_371_000


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance in metres between two lon/lat points (WGS-84 sphere approximation)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def nearest_units(
    longitude: float | None, latitude: float | None, limit: int = 5
) -> list[dict[str, Any]]:
    """Available units with a position, nearest first, each with ``distance_m``."""
    if longitude is None or latitude is None:
        return []
    units = PoliceUnit.objects.filter(
        is_available=True, longitude__isnull=False, latitude__isnull=False
    ).select_related("organisation")
    ranked = sorted(
        (
            (haversine_m(longitude, latitude, u.longitude, u.latitude), u)
            for u in units
            if u.longitude is not None and u.latitude is not None
        ),
        key=lambda pair: pair[0],
    )
    return [
        {
            "id": u.pk,
            "name": u.name,
            "kind": u.kind,
            "organisation": u.organisation.name,
            "longitude": u.longitude,
            "latitude": u.latitude,
            "distance_m": round(distance),
        }
        for distance, u in ranked[:limit]
    ]
