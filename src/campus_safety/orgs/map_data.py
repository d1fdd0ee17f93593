"""What the Leaflet maps draw: school points as compact GeoJSON, division outlines.

The city map shows every school in scope (2,029 in the reference city) at once, so the
points come from one ``.values_list()`` query with no per-row work and carry only what
a marker and its popup need; labels are sent once in the page, not per point.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from campus_safety.geojson import COORDINATE_DIGITS, feature_collection, point_feature
from campus_safety.orgs.models import Region, School


def school_features(schools: QuerySet) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of schools annotated by ``annotate_staffing``."""
    rows = (
        schools.filter(longitude__isnull=False, latitude__isnull=False)
        .order_by()
        .values_list(
            "pk", "name", "kind", "students", "region__code", "guard_gap", "longitude", "latitude"
        )
    )
    return feature_collection(
        point_feature(
            pk,
            lon,
            lat,
            {"name": name, "kind": kind, "students": students, "region": region, "gap": gap},
        )
        for pk, name, kind, students, region, gap, lon, lat in rows
    )


def school_points(schools: QuerySet) -> dict[str, Any]:
    """Schools as ``[lon, lat, name]`` rows: the context layer under every map's points."""
    rows = (
        schools.filter(longitude__isnull=False, latitude__isnull=False)
        .order_by()
        .values_list("longitude", "latitude", "name")
    )
    return {
        "schools": [
            [round(lon, COORDINATE_DIGITS), round(lat, COORDINATE_DIGITS), name]
            for lon, lat, name in rows
        ]
    }


def district_outlines(regions: QuerySet) -> list[dict[str, Any]]:
    """County-level divisions with their GeoJSON outline (``None`` when not recorded)."""
    return [
        {"code": code, "name": name, "outline": outline}
        for code, name, outline in regions.order_by("code").values_list("code", "name", "outline")
    ]


def tile_layer() -> dict[str, str]:
    """The configured tile source; an empty URL means a plain background (offline)."""
    return {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION}


def detail_url_prefix() -> str:
    """``/schools/`` — the popup appends ``<id>/``; one string instead of 2,029 URLs."""
    return reverse("schools:school_detail", args=[0]).removesuffix("0/")


def map_config(data_url: str, regions: QuerySet) -> dict[str, Any]:
    """Everything the map script needs besides the points, in the active language."""
    return {
        "dataUrl": data_url,
        "tiles": tile_layer(),
        "districts": district_outlines(regions),
        "detailUrlPrefix": detail_url_prefix(),
        "kinds": dict(School.Kind.choices),
        "labels": {
            "students": _("Students"),
            "gap": _("Guard gap"),
            "details": _("Open details"),
            "shown": _("schools shown"),
        },
    }


def county_regions_of(schools: QuerySet) -> QuerySet:
    """The county-level divisions that hold at least one of ``schools``."""
    return Region.objects.filter(
        level=Region.Level.COUNTY, pk__in=schools.order_by().values("region_id")
    )
