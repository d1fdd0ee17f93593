"""The demo city's map: 德州市 (GB/T 2260 371400) and its 11 county-level divisions.

Centroids, county seats and population weights are approximations of the real ones
(2020 census, in ten thousands), good enough for a believable map and a believable
spread of schools. Division outlines are not the real borders: they are the Voronoi
cells of the centroids, clipped to a rough outline of the city, computed here in pure
Python (Sutherland–Hodgman clipping against one half-plane per neighbour) so the demo
needs no GIS library and draws offline.

Coordinates are (longitude, latitude) in degrees. Distances use a local equirectangular
projection (longitude scaled by cos 37.3°), which is accurate to well under a percent
over an area this size.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

Point = tuple[float, float]
Ring = list[Point]

PROVINCE_CODE, PROVINCE_NAME = "370000", "山东省"
CITY_CODE, CITY_NAME = "371400", "德州市"
CITY_CENTRE: Point = (116.359, 37.436)
OUTLINE_DECIMALS = 5
# Longitude degrees are shorter than latitude degrees at 37° N.
X_SCALE = math.cos(math.radians(37.3))

# A rough outline of the city, counter-clockwise from the south-west (夏津县) corner.
CITY_OUTLINE: tuple[Point, ...] = (
    (115.78, 36.85), (115.88, 36.74), (116.15, 36.72), (116.42, 36.56), (116.66, 36.43),
    (116.86, 36.52), (116.88, 36.80), (117.00, 37.00), (117.05, 37.28), (117.28, 37.44),
    (117.52, 37.56), (117.62, 37.74), (117.48, 37.88), (117.20, 37.92), (116.95, 37.80),
    (116.70, 37.76), (116.46, 37.64), (116.26, 37.58), (116.10, 37.44), (115.98, 37.26),
    (115.84, 37.08),
)  # fmt: skip


@dataclass(frozen=True)
class County:
    """A county-level division (区/县/县级市) as the demo needs it."""

    code: str
    name: str
    centroid: Point
    seat: Point  # where the county government sits; schools cluster around it
    weight: int  # relative population (2020 census, ten thousands)

    @property
    def short_name(self) -> str:
        """德城区 → 德城, 宁津县 → 宁津: how sub-bureaus and bureaus are named."""
        return self.name[:-1]

    @property
    def is_district(self) -> bool:
        return self.name.endswith("区")


COUNTIES: tuple[County, ...] = (
    County("371402", "德城区", (116.32, 37.47), (116.30, 37.455), 71),
    County("371403", "陵城区", (116.65, 37.40), (116.576, 37.336), 50),
    County("371422", "宁津县", (116.79, 37.65), (116.800, 37.652), 40),
    County("371423", "庆云县", (117.42, 37.80), (117.385, 37.776), 30),
    County("371424", "临邑县", (116.88, 37.15), (116.866, 37.190), 48),
    County("371425", "齐河县", (116.62, 36.68), (116.762, 36.795), 58),
    County("371426", "平原县", (116.40, 37.12), (116.434, 37.166), 42),
    County("371427", "夏津县", (115.98, 36.98), (116.002, 36.949), 46),
    County("371428", "武城县", (116.10, 37.28), (116.069, 37.213), 34),
    County("371481", "乐陵市", (117.18, 37.72), (117.232, 37.730), 59),
    County("371482", "禹城市", (116.55, 36.95), (116.638, 36.934), 48),
)


def project(p: Point) -> Point:
    return (p[0] * X_SCALE, p[1])


def distance(a: Point, b: Point) -> float:
    """Approximate distance in degrees of latitude (1° ≈ 111 km)."""
    return math.hypot((a[0] - b[0]) * X_SCALE, a[1] - b[1])


def signed_area(ring: Ring) -> float:
    """Shoelace area in square degrees; positive for a counter-clockwise ring."""
    n = len(ring)
    return 0.5 * sum(
        ring[i][0] * ring[(i + 1) % n][1] - ring[(i + 1) % n][0] * ring[i][1] for i in range(n)
    )


def clip_half_plane(ring: Ring, a: float, b: float, c: float) -> Ring:
    """Sutherland–Hodgman: the part of ``ring`` where ``a*lon + b*lat <= c``."""
    out: Ring = []
    n = len(ring)
    for i in range(n):
        cur, nxt = ring[i], ring[(i + 1) % n]
        cur_in = a * cur[0] + b * cur[1] <= c
        nxt_in = a * nxt[0] + b * nxt[1] <= c
        if cur_in:
            out.append(cur)
        if cur_in != nxt_in:
            d_cur = a * cur[0] + b * cur[1] - c
            d_nxt = a * nxt[0] + b * nxt[1] - c
            t = d_cur / (d_cur - d_nxt)
            out.append((cur[0] + t * (nxt[0] - cur[0]), cur[1] + t * (nxt[1] - cur[1])))
    return out


def voronoi_cell(site: Point, others: list[Point], boundary: Ring) -> Ring:
    """The part of ``boundary`` nearer to ``site`` than to any of ``others``.

    |x − s|² ≤ |x − o|²  ⇔  2(o − s)·x ≤ |o|² − |s|², computed in projected space; the
    projection only scales longitude, so the half-plane stays a half-plane in lon/lat.
    """
    k2 = X_SCALE * X_SCALE
    cell = list(boundary)
    for other in others:
        a = 2 * (other[0] - site[0]) * k2
        b = 2 * (other[1] - site[1])
        c = (other[0] ** 2 - site[0] ** 2) * k2 + other[1] ** 2 - site[1] ** 2
        cell = clip_half_plane(cell, a, b, c)
    return cell


def contains(ring: Ring | list[list[float]], point: Point) -> bool:
    """Even–odd ray casting; points exactly on an edge may go either way."""
    x, y = point
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _rounded(ring: Ring) -> Ring:
    out: Ring = []
    for lon, lat in ring:
        p = (round(lon, OUTLINE_DECIMALS), round(lat, OUTLINE_DECIMALS))
        if not out or out[-1] != p:
            out.append(p)
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    if signed_area(out) < 0:  # RFC 7946: exterior rings are counter-clockwise
        out.reverse()
    return out


def city_ring() -> Ring:
    return _rounded(list(CITY_OUTLINE))


def county_rings() -> dict[str, Ring]:
    """Each county's outline (open ring, rounded as stored), keyed by GB/T 2260 code."""
    boundary = list(CITY_OUTLINE)
    rings = {}
    for county in COUNTIES:
        others = [c.centroid for c in COUNTIES if c.code != county.code]
        rings[county.code] = _rounded(voronoi_cell(county.centroid, others, boundary))
    return rings


def to_geojson(ring: Ring) -> dict:
    """A GeoJSON Polygon (closed ring) for ``Region.outline``."""
    coords = [[lon, lat] for lon, lat in ring]
    return {"type": "Polygon", "coordinates": [[*coords, coords[0]]]}


def bounding_box(ring: Ring) -> tuple[float, float, float, float]:
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    return min(lons), min(lats), max(lons), max(lats)


def random_point_in(ring: Ring, rng: random.Random) -> Point:
    """A uniformly random point inside ``ring`` (rejection sampling in its bounding box)."""
    west, south, east, north = bounding_box(ring)
    while True:
        p = (rng.uniform(west, east), rng.uniform(south, north))
        if contains(ring, p):
            return p


def point_near(
    centre: Point, spread: float, ring: Ring, rng: random.Random, decimals: int = 6
) -> Point:
    """A point scattered around ``centre`` (σ = ``spread`` degrees), kept inside ``ring``.

    The point is rounded before the check, so what is stored is what was checked.
    """
    for _ in range(64):
        p = (
            round(centre[0] + rng.gauss(0, spread) / X_SCALE, decimals),
            round(centre[1] + rng.gauss(0, spread), decimals),
        )
        if contains(ring, p):
            return p
    return (round(centre[0], decimals), round(centre[1], decimals))
