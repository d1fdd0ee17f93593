"""The demo map: Voronoi outlines of the 11 divisions tile the city outline exactly."""

import random

import pytest

from campus_safety.simulator import geography
from campus_safety.simulator.geography import COUNTIES

RINGS = geography.county_rings()


def test_the_city_has_its_eleven_gbt2260_divisions():
    assert [c.code for c in COUNTIES] == [
        "371402", "371403", "371422", "371423", "371424", "371425", "371426", "371427",
        "371428", "371481", "371482",
    ]  # fmt: skip


def test_division_outlines_add_up_to_the_city_outline():
    city = geography.signed_area(geography.city_ring())
    total = sum(geography.signed_area(ring) for ring in RINGS.values())
    assert total == pytest.approx(city, rel=1e-4)


@pytest.mark.parametrize("county", COUNTIES, ids=lambda c: c.code)
def test_each_division_holds_its_centroid_and_its_county_seat(county):
    ring = RINGS[county.code]
    assert geography.contains(ring, county.centroid)
    assert geography.contains(ring, county.seat)


def test_outlines_are_counter_clockwise_as_geojson_wants():
    assert all(geography.signed_area(ring) > 0 for ring in RINGS.values())


def test_points_in_a_division_are_nearest_its_own_centroid():
    rng = random.Random(1)
    for county in COUNTIES:
        for _ in range(50):
            p = geography.random_point_in(RINGS[county.code], rng)
            nearest = min(COUNTIES, key=lambda c: geography.distance(p, c.centroid))
            assert nearest.code == county.code


def test_geojson_polygon_is_a_closed_ring():
    shape = geography.to_geojson(RINGS["371402"])
    ring = shape["coordinates"][0]
    assert shape["type"] == "Polygon"
    assert ring[0] == ring[-1]
    assert len(ring) >= 4


def test_clipping_a_square_by_a_half_plane_keeps_the_inside_half():
    square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
    half = geography.clip_half_plane(square, 1.0, 0.0, 1.0)  # lon <= 1
    assert geography.signed_area(half) == pytest.approx(2.0)
    assert max(p[0] for p in half) == pytest.approx(1.0)
