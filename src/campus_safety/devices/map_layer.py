"""The device layer of the map: one-key alarms and NVRs as compact GeoJSON.

A city has about 2,750 of them (one NVR per school, 722 alarm boxes), so the points
come from one ``.values_list()`` query and carry only a marker's needs; the script
(``devices_map.js``) colours them by status and labels them from the page's config.
Cameras are left out: they sit behind their school's NVR, whose colour stands for them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from campus_safety.devices.models import Device
from campus_safety.geojson import feature_collection, point_feature

MAPPED_KINDS = (Device.Kind.ONE_KEY_ALARM, Device.Kind.NVR)
STATUS_COLOURS = {
    Device.Status.ONLINE: "#16a34a",
    Device.Status.OFFLINE: "#dc2626",
    Device.Status.FAULT: "#7c2d12",
    Device.Status.UNKNOWN: "#94a3b8",
}


def device_features(devices: QuerySet[Device]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the mapped devices of ``devices`` (scoped already).
    A device without coordinates is drawn at its school."""
    rows = (
        devices.filter(kind__in=MAPPED_KINDS, is_approved=True)
        .order_by()
        .values_list(
            "pk",
            "name",
            "kind",
            "status",
            "is_flapping",
            "school__name",
            "longitude",
            "latitude",
            "school__longitude",
            "school__latitude",
        )
    )
    features = []
    for pk, name, kind, status, flapping, school, lon, lat, school_lon, school_lat in rows:
        if lon is None or lat is None:
            lon, lat = school_lon, school_lat
        if lon is None or lat is None:
            continue
        features.append(
            point_feature(
                pk,
                lon,
                lat,
                {
                    "name": name,
                    "kind": kind,
                    "status": status,
                    "flapping": flapping,
                    "school": school or "",
                },
            )
        )
    return feature_collection(features)


def layer_config() -> dict[str, Any]:
    """Labels and colours for the script, in the active language (sent once per page)."""
    return {
        "dataUrl": reverse("devices:map_data"),
        "detailUrlPrefix": reverse("devices:device_detail", args=[0]).removesuffix("0/"),
        "colours": {str(k): v for k, v in STATUS_COLOURS.items()},
        "statuses": {str(k): str(v) for k, v in Device.Status.choices},
        "kinds": {str(k): str(v) for k, v in Device.Kind.choices if k in MAPPED_KINDS},
        "labels": {
            "layer": _("Devices"),
            "details": _("Open details"),
            "flapping": _("Flapping"),
            "school": _("School"),
        },
    }
