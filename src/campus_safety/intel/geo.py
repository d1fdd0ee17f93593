"""Distances and the schools near a point (numpy over all schools' coordinates)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from campus_safety.orgs.models import School

EARTH_KM = 6371.0088


def km_between(lat1, lon1, lat2, lon2):
    """Great-circle distance in km (numpy-broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


@dataclass
class SchoolPoints:
    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    region: np.ndarray
    station: np.ndarray

    @classmethod
    def load(cls) -> SchoolPoints:
        rows = list(
            School.objects.exclude(latitude=None)
            .exclude(longitude=None)
            .values_list("id", "latitude", "longitude", "region_id", "police_station_id")
        )
        if not rows:
            empty = np.zeros(0)
            return cls(empty.astype(int), empty, empty, empty.astype(int), empty.astype(int))
        ids, lat, lon, region, station = zip(*rows, strict=True)
        return cls(
            np.array(ids),
            np.array(lat, float),
            np.array(lon, float),
            np.array(region, dtype=object),
            np.array(station, dtype=object),
        )

    def near(self, lat: float, lon: float, radius_km: float) -> tuple[list[int], int | None]:
        """Schools within ``radius_km`` (nearest first) and the nearest school overall."""
        if not len(self.ids):
            return [], None
        d = km_between(lat, lon, self.lat, self.lon)
        order = np.argsort(d)
        inside = [int(self.ids[i]) for i in order if d[i] <= radius_km]
        return inside, int(self.ids[order[0]])

    def placing(self, school_id: int | None) -> dict:
        """The scoping fields (school, region, station) for a record near ``school_id``."""
        if school_id is None:
            return {"school_id": None, "region_id": None, "police_station_id": None}
        i = int(np.nonzero(self.ids == school_id)[0][0])
        return {
            "school_id": school_id,
            "region_id": self.region[i],
            "police_station_id": self.station[i],
        }
