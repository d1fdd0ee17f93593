"""The key-school list per police station and per district: filters, groups ordered by
their total, subtotals that add up, and scope (a station sees only its own)."""

from __future__ import annotations

import pytest
from django.utils import translation

from campus_safety.intel.risk import group_ranking, risk_ranking
from campus_safety.orgs.models import Organisation, School
from tests.alarms.support import station_chain
from tests.factories import SchoolFactory, UserFactory, city_region, sign_in

from .support import incident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def city(world):
    """A second station in 德城区 with two schools; incidents of known weight."""
    county = world["school"].region
    station_a = world["school"].police_station
    station_b = station_chain(county)
    b1 = SchoolFactory(region=county, police_station=station_b, latitude=37.50, longitude=116.40)
    b2 = SchoolFactory(region=county, police_station=station_b, latitude=37.55, longitude=116.45)
    a, other = world["school"], world["other"]
    # weights: robbery 4, theft 2, traffic 1
    for school, kinds in ((a, ["robbery", "theft"]), (b1, ["robbery"] * 3), (b2, ["traffic"]),
                          (other, ["theft"] * 5)):  # fmt: skip
        for kind in kinds:
            incident(school.latitude, school.longitude, kind=kind)
    bureau = Organisation.objects.create(
        name="德州市公安局", kind=Organisation.Kind.POLICE_BUREAU, region=city_region()
    )
    return {
        "a": a, "b1": b1, "b2": b2, "other": other, "station_a": station_a,
        "station_b": station_b, "county": county,
        "command": UserFactory(role="police_officer", organisation=bureau),
    }  # fmt: skip


def test_group_ranking_subtotals(city):
    ranking = risk_ranking(School.objects.all(), limit=None, police=True)
    scores = {r.school.pk: r.score for r in ranking}
    # incident points as planted (other points, e.g. missing guards, come on top)
    reasons = {r.school.pk: " ".join(r.reasons) for r in ranking}
    assert (
        "3 × Robbery or extortion of students within 1 km in 90 days (+12)"
        in reasons[city["b1"].pk]
    )
    assert "5 × Theft within 1 km in 90 days (+10)" in reasons[city["other"].pk]
    a, b1, b2, other = (scores[city[k].pk] for k in ("a", "b1", "b2", "other"))
    by_station = group_ranking(ranking, "station")
    expected = sorted(
        [
            (city["station_b"], 2, b1 + b2, max(b1, b2)),
            (city["other"].police_station, 1, other, other),
            (city["station_a"], 1, a, a),
        ],
        key=lambda g: -g[2],
    )
    assert [(g.key, g.schools, g.total, g.top) for g in by_station] == expected
    group_b = next(g for g in by_station if g.key == city["station_b"])
    assert group_b.mean == (b1 + b2) / 2
    assert [r.school for r in group_b.rows] == [city["b1"], city["b2"]]  # by score
    by_district = group_ranking(ranking, "district")
    assert [(g.key, g.schools, g.total) for g in by_district] == [
        (city["county"], 3, a + b1 + b2),
        (city["other"].region, 1, other),
    ]
    # the subtotals add up to the whole list
    assert sum(g.total for g in by_district) == sum(scores.values())
    assert sum(g.total for g in by_station) == sum(scores.values())


def test_page_groups_and_filters(client, city):
    sign_in(client, city["command"])
    page = client.get("/intel/risk/", {"group": "station"})
    assert page.status_code == 200
    groups = page.context["groups"]
    assert [g.key for g in groups] == [
        city["station_b"],
        city["other"].police_station,
        city["station_a"],
    ]
    html = page.content.decode()
    assert 'id="risk-subtotals"' in html and "Subtotal" in html
    # filter a district, group per station: 陵城区 drops out
    page = client.get("/intel/risk/", {"group": "station", "region": city["county"].pk})
    assert {g.key for g in page.context["groups"]} == {city["station_a"], city["station_b"]}
    # filter one station, no grouping: its two schools
    page = client.get("/intel/risk/", {"station": city["station_b"].pk})
    assert [r.school for r in page.context["ranking"]] == [city["b1"], city["b2"]]
    assert page.context["groups"] == []
    # nonsense filters are ignored, not errors
    page = client.get("/intel/risk/", {"group": "planet", "station": "x", "region": "999999"})
    assert page.status_code == 200 and len(page.context["ranking"]) == 4


def test_a_station_and_the_bureau_see_only_their_schools(client, city, world):
    sign_in(client, world["officer"])  # station A
    page = client.get("/intel/risk/", {"group": "station"})
    assert [g.key for g in page.context["groups"]] == [city["station_a"]]
    # another station's id in the filter does not widen the scope
    page = client.get("/intel/risk/", {"station": city["station_b"].pk})
    assert [r.school for r in page.context["ranking"]] == [city["a"]]
    assert list(page.context["stations"]) == [city["station_a"]]
    sign_in(client, world["education"])  # 德城区 bureau: both stations, not 陵城区
    page = client.get("/intel/risk/", {"group": "district"})
    assert [g.key for g in page.context["groups"]] == [city["county"]]
    assert page.context["groups"][0].schools == 3
