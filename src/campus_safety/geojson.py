"""GeoJSON (RFC 7946) as the Leaflet maps read it: points rounded to ~1 m, which is
enough for a school gate and keeps a 2,000-school layer's JSON short."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

COORDINATE_DIGITS = 5  # ~1 m


def point_feature(
    feature_id: int | str, longitude: float, latitude: float, properties: dict[str, Any]
) -> dict[str, Any]:
    """One Point feature (RFC 7946 §3.2: longitude first)."""
    return {
        "type": "Feature",
        "id": feature_id,
        "geometry": {
            "type": "Point",
            "coordinates": [
                round(longitude, COORDINATE_DIGITS),
                round(latitude, COORDINATE_DIGITS),
            ],
        },
        "properties": properties,
    }


def feature_collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}
