"""The trouble-spot layer of the map (治安乱点): spots around schools as compact GeoJSON,
coloured by where they stand (open, overdue, rectified), with the schools they sit by.
The script (``hazards_map.js``) draws them from the page's config."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from campus_safety.geojson import feature_collection, point_feature
from campus_safety.hazards.models import Hazard

COLOURS = {"overdue": "#dc2626", "open": "#f59e0b", "rectified": "#16a34a", "school": "#1d4ed8"}


def _state(status: str, deadline: dt.datetime | None, now: dt.datetime) -> str:
    if status in Hazard.RECTIFIED_STATUSES:
        return "rectified"
    if status in Hazard.RUNNING_STATUSES and deadline is not None and deadline < now:
        return "overdue"
    return "open"


def spot_features(hazards: QuerySet[Hazard], now: dt.datetime) -> dict[str, Any]:
    """Trouble spots of ``hazards`` (scoped already) with a position, and their schools;
    dismissed reports are left off."""
    rows = (
        hazards.filter(kind=Hazard.Kind.SURROUNDING)
        .exclude(status=Hazard.Status.DISMISSED)
        .order_by()
        .values_list(
            "pk", "reference", "title", "spot_kind", "status", "deadline", "distance_m",
            "longitude", "latitude", "school_id", "school__name", "school__longitude",
            "school__latitude",
        )
    )  # fmt: skip
    features: list[dict[str, Any]] = []
    schools: dict[int, dict[str, Any]] = {}
    for (pk, ref, title, spot, status, deadline, distance, lon, lat, school_id, school,
         school_lon, school_lat) in rows:  # fmt: skip
        if school_lon is not None and school_lat is not None and school_id not in schools:
            schools[school_id] = point_feature(
                f"s{school_id}", school_lon, school_lat, {"layer": "school", "name": school}
            )
        if lon is None or lat is None:
            continue
        features.append(
            point_feature(
                pk,
                lon,
                lat,
                {
                    "layer": "spot",
                    "reference": ref,
                    "title": title,
                    "kind": spot,
                    "state": _state(status, deadline, now),
                    "distance": distance,
                    "school": school,
                },
            )
        )
    return feature_collection([*schools.values(), *features])


def layer_config() -> dict[str, Any]:
    """Labels and colours for the script, in the active language."""
    return {
        "dataUrl": reverse("hazards:map_data"),
        "detailUrlPrefix": reverse("hazards:detail", args=[0]).removesuffix("0/"),
        "colours": COLOURS,
        "kinds": {str(k): str(v) for k, v in Hazard.SpotKind.choices},
        "labels": {
            "overdue": _("Overdue"),
            "open": pgettext("hazard state", "Open"),
            "rectified": _("Rectified"),
            "school": _("School"),
            "distance": _("Distance to gate"),
            "details": _("Open details"),
            "metres": _("m"),
        },
    }
