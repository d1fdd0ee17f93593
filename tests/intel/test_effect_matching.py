"""The comparison schools of a special operation are matched on kind (exactly, where
possible), incidents before, their trend and size — not on the incident count alone,
which on planted data took kindergartens whose incidents rose for reasons of their own
and doubled the effect; the page says what the matching used, in Chinese."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.utils import translation

from campus_safety.intel import services
from campus_safety.intel.effect import SchoolFeatures, match_comparison, operation_effect
from campus_safety.intel.geo import SchoolPoints
from campus_safety.orgs.models import School
from tests.factories import UserFactory, sign_in

from .support import at, incident, schools_grid

pytestmark = pytest.mark.django_db
START, END = dt.date(2026, 6, 1), dt.date(2026, 6, 30)  # before: 05-02 … 05-31
BEFORE = dt.date(2026, 5, 2)


def _features(rows):
    """rows: (id, kind, km east of the area school, incidents, trend, students)."""
    ids, kinds, km, incidents, trend, students = zip(*rows, strict=True)
    return SchoolFeatures(
        ids=np.array(ids),
        kind=np.array(kinds, dtype=object),
        lat=np.full(len(ids), 37.45),
        lon=116.30 + np.array(km) / 88.3,
        incidents=np.array(incidents),
        trend=np.array(trend),
        students=np.array(students),
    )


AREA = _features([(1, "primary", 0, 20, -10, 600)])


def test_count_only_takes_a_kindergarten_the_new_matching_a_primary_school():
    candidates = _features(
        [
            (10, "kindergarten", 3, 20, -10, 180),  # the same count, nearest: count-only's
            (11, "primary", 9, 19, -9, 650),
            (12, "primary", 12, 26, -12, 2400),
        ]
    )
    count_only, _ = match_comparison(
        AREA, candidates, per_school=1, measures=("incidents",), exact_kind=False
    )
    assert count_only == [10]
    chosen, other_kind = match_comparison(AREA, candidates, per_school=1)
    assert chosen == [11] and other_kind == 0


def test_trend_and_size_decide_between_schools_with_the_same_count():
    candidates = _features(
        [
            (20, "primary", 3, 20, 10, 600),  # rising before, where the area was falling
            (21, "primary", 4, 20, -10, 3200),  # five times the pupils
            (22, "primary", 9, 21, -9, 640),  # the most alike
        ]
    )
    assert match_comparison(AREA, candidates, per_school=1) == ([22], 0)
    assert match_comparison(AREA, candidates, per_school=3)[0] == [22, 21, 20]


def test_another_kind_only_when_none_of_the_same_is_left_and_ties_are_deterministic():
    candidates = _features(
        [
            (31, "kindergarten", 6, 20, -10, 600),
            (30, "kindergarten", 6, 20, -10, 600),  # a tie: the lower id
            (32, "primary", 20, 0, 0, 100),  # unlike, but the one primary school
        ]
    )
    chosen, other_kind = match_comparison(AREA, candidates, per_school=3)
    assert chosen == [32, 30, 31] and other_kind == 2
    assert match_comparison(AREA, candidates, per_school=3) == (chosen, other_kind)


@pytest.fixture
def city(world, clock):
    """A 5 × 5 grid 3 km apart: the operation on two primary schools (40 incidents each
    before), six kindergartens with the same 40 before whose incidents then rose by half
    (a cause of their own), six primary schools with 37 to 43 before and no change, the
    rest quiet."""
    county, station = world["school"].region, world["school"].police_station
    grid = schools_grid(county, station, n=5, spacing_km=3.0)
    clock.start_at(at(END, 18))
    area, kindergartens, primaries = grid[0:2], grid[12:18], grid[18:24]
    School.objects.filter(pk__in=[s.pk for s in kindergartens]).update(
        kind=School.Kind.KINDERGARTEN, students=180
    )
    points, rng = SchoolPoints.load(), np.random.default_rng(20260601)
    plan = [(s, 40, rng.poisson(20)) for s in area]  # planted: the rate halves
    plan += [(s, 40, rng.poisson(60)) for s in kindergartens]
    before = (38, 42, 39, 41, 37, 43)
    plan += [(s, n, rng.poisson(n)) for s, n in zip(primaries, before, strict=True)]
    for school, n_before, n_during in plan:
        for first, n in ((BEFORE, n_before), (START, n_during)):
            for k in range(n):
                incident(
                    school.latitude,
                    school.longitude,
                    when=at(first + dt.timedelta(days=k % 30)),
                    points=points,
                    audit_it=False,
                )
    officer = UserFactory(role="police_officer", organisation=station)
    operation = services.create_operation(
        name="护校专项",
        starts_on=START,
        ends_on=END,
        user=officer,
        school_ids=[s.pk for s in area],
    )
    return {
        "operation": operation,
        "officer": officer,
        "kindergartens": {s.pk for s in kindergartens},
        "primaries": {s.pk for s in primaries},
    }


def test_planted_effect_is_recovered_where_count_only_matching_doubled_it(city):
    effect = operation_effect(city["operation"], END)
    assert set(effect.comparison_school_ids) == city["primaries"]
    assert effect.matching.other_kind == 0 and effect.matching.same_kind == 6
    during = effect.contrasts[0]
    # planted: 40 → 20 per school per 30 days in the area, no change in its like
    assert during.did_low <= -20 <= during.did_high and during.did_high < 0
    assert during.low <= 0.5 <= during.high
    incidents = next(b for b in effect.matching.balance if b.measure == "incidents")
    assert (incidents.area, incidents.comparison) == (40, 40)

    count_only = operation_effect(city["operation"], END, measures=("incidents",), exact_kind=False)
    assert set(count_only.comparison_school_ids) == city["kindergartens"]
    wrong = count_only.contrasts[0]
    assert wrong.did_high < -20  # claims about twice the planted fall
    assert during.did > wrong.did


def test_the_page_says_what_the_matching_used_in_chinese(client, city, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    sign_in(client, city["officer"])
    with translation.override("zh-hans"):
        html = client.get(
            f"/intel/operations/{city['operation'].pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
    assert "尽量选同类学校" in html and "变化趋势" in html and "在校学生数" in html
    assert "所有对照学校都与其匹配的行动学校同类" in html
    assert 'id="matching-balance"' in html and "行动前1公里内警情数" in html
    assert "在校生" in html and "600.0" in html


def test_the_page_counts_comparison_schools_of_another_kind(client, world, clock, settings):
    county, station = world["school"].region, world["school"].police_station
    grid = schools_grid(county, station, n=3, spacing_km=3.0)
    School.objects.filter(pk__in=[s.pk for s in grid[1:]]).update(kind=School.Kind.KINDERGARTEN)
    School.objects.filter(pk=world["other"].pk).update(kind=School.Kind.KINDERGARTEN)
    clock.start_at(at(END, 18))
    officer = UserFactory(role="police_officer", organisation=station)
    operation = services.create_operation(
        name="专项", starts_on=START, ends_on=END, user=officer, school_ids=[grid[0].pk]
    )
    effect = operation_effect(operation, END)
    assert effect.matching.other_kind == 3 and effect.matching.same_kind == 0
    settings.LANGUAGE_CODE = "zh-hans"
    sign_in(client, officer)
    with translation.override("zh-hans"):
        html = client.get(
            f"/intel/operations/{operation.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
    assert "有3所对照学校与其匹配的行动学校不同类" in html
