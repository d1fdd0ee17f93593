"""Special operations: the matched comparison area and the difference in differences on
synthetic data, the fallback, and what an operation did (leads, arrests, patrols)
entered on its page — police in scope, validated, audited; education reads totals."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.utils import translation

from campus_safety.audit.models import AuditEntry
from campus_safety.intel import services
from campus_safety.intel.effect import difference_in_differences, operation_effect
from campus_safety.intel.geo import SchoolPoints
from campus_safety.intel.models import Operation, OperationEntry
from tests import factories
from tests.factories import UserFactory, sign_in

from .support import KM_LAT, at, incident, schools_grid

pytestmark = pytest.mark.django_db
START, END = dt.date(2026, 6, 1), dt.date(2026, 6, 30)  # before: 05-02 … 05-31


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _plant(school, n, first: dt.date, points, kind="theft", **extra):
    for k in range(n):
        incident(
            school.latitude,
            school.longitude,
            when=at(first + dt.timedelta(days=k % 30)),
            kind=kind,
            points=points,
            audit_it=False,
            **extra,
        )


@pytest.fixture
def ops(world, clock):
    """A 4 × 4 grid 3 km apart in 德城区, and a school 1.5 km from the operation's."""
    county, station = world["school"].region, world["school"].police_station
    grid = schools_grid(county, station, n=4, spacing_km=3.0)
    neighbour = factories.SchoolFactory(
        region=county,
        police_station=station,
        latitude=grid[0].latitude + 1.5 * KM_LAT,
        longitude=grid[0].longitude,
    )
    clock.start_at(at(END, 18))
    officer = UserFactory(role="police_officer", organisation=station)
    return {"grid": grid, "neighbour": neighbour, "officer": officer}


def _operation(ops, **extra):
    values = {"school_ids": [ops["grid"][0].pk], **extra}
    return services.create_operation(
        name="护校专项", starts_on=START, ends_on=END, user=ops["officer"], **values
    )


def test_matched_comparison_and_difference_in_differences(ops):
    grid, points = ops["grid"], SchoolPoints.load()
    before, during = dt.date(2026, 5, 2), START
    # before: the area's school 20; the best matches 20, 19, 21; a perfect match next
    # door (1.5 km: inside the buffer) and busier or quieter schools elsewhere
    for school, n_before, n_during in (
        (grid[0], 20, 4),
        (grid[5], 20, 20),
        (grid[10], 19, 19),
        (grid[15], 21, 21),
        (ops["neighbour"], 20, 30),  # displacement next door: must not be the comparison
        (grid[1], 40, 40),
        (grid[2], 2, 2),
    ):
        _plant(school, n_before, before, points)
        _plant(school, n_during, during, points)
    operation = _operation(ops)
    effect = operation_effect(operation, END)
    assert effect.method == "matched"
    assert effect.area_school_ids == [grid[0].pk]
    assert sorted(effect.comparison_school_ids) == sorted([grid[5].pk, grid[10].pk, grid[15].pk])
    b, d = effect.periods
    assert (b.area, d.area, b.comparison, d.comparison) == (20, 4, 60, 60)
    assert (b.area_schools, b.comparison_schools) == (1, 3)
    assert b.area_rate == pytest.approx(20) and b.comparison_rate == pytest.approx(20)
    contrast = effect.contrasts[0]
    assert contrast.did == pytest.approx((4 - 20) - (20 - 20))
    half = 1.96 * math.sqrt(4 + 20 + 60 / 9 + 60 / 9)  # Poisson variances of the 4 rates
    assert (contrast.did_low, contrast.did_high) == pytest.approx((-16 - half, -16 + half))
    assert contrast.conclusive and contrast.did_high < 0
    assert effect.ratio == pytest.approx(4 / 20) and effect.conclusive


def test_no_change_gives_an_interval_around_zero_and_after_period(ops, clock):
    grid, points = ops["grid"], SchoolPoints.load()
    for school in (grid[0], grid[5], grid[10], grid[15]):
        _plant(school, 10, dt.date(2026, 5, 2), points)
        _plant(school, 10, START, points)
        _plant(school, 10, dt.date(2026, 7, 1), points)
    clock.start_at(at(dt.date(2026, 7, 30), 18))
    effect = operation_effect(_operation(ops), dt.date(2026, 7, 30))
    assert [p.label for p in effect.periods] == ["before", "during", "after"]
    for contrast in effect.contrasts:
        assert contrast.did == pytest.approx(0)
        assert contrast.did_low < 0 < contrast.did_high and not contrast.conclusive


def test_police_only_incidents_are_left_out_for_other_readers(ops):
    grid, points = ops["grid"], SchoolPoints.load()
    _plant(grid[0], 5, dt.date(2026, 5, 2), points, police_only=True)
    _plant(grid[0], 3, dt.date(2026, 5, 2), points)
    operation = _operation(ops)
    assert operation_effect(operation, END).periods[0].area == 8
    assert operation_effect(operation, END, police=False).periods[0].area == 3


def test_an_area_without_schools_falls_back_to_the_rest_of_the_city(ops):
    grid, points = ops["grid"], SchoolPoints.load()
    # a small triangle between schools, 0.5 km from grid[0], no school inside
    lat, lon = grid[0].latitude + 0.5 * KM_LAT, grid[0].longitude + 0.01
    polygon = [[lat, lon], [lat + 0.003, lon], [lat, lon + 0.004]]
    for day in (dt.date(2026, 5, 10), START):
        incident(lat + 0.0005, lon + 0.0005, when=at(day), points=points)
    _plant(grid[5], 4, dt.date(2026, 5, 2), points)
    operation = _operation(ops, school_ids=[], polygon=polygon)
    effect = operation_effect(operation, END)
    assert effect.method == "rest" and effect.area_school_ids == []
    assert [p.area for p in effect.periods] == [1, 1]
    assert effect.periods[0].comparison == 4


def test_did_formula_by_hand():
    from campus_safety.intel.effect import Period

    b = Period("before", dt.date(2026, 1, 1), dt.date(2026, 1, 30), 30, 60, 2, 4)
    d = Period("during", dt.date(2026, 1, 31), dt.date(2026, 3, 1), 12, 48, 2, 4)
    did, low, high = difference_in_differences(b, d)
    assert did - low == pytest.approx(high - did)
    # area 15 → 6 per school, comparison 15 → 12: (6 − 15) − (12 − 15) = −6
    assert did == pytest.approx(-6)
    var = 30 / 4 + 12 / 4 + 60 / 16 + 48 / 16
    assert high - did == pytest.approx(1.96 * math.sqrt(var))


# --- records on the operation's page ----------------------------------------------


def _lead(school, summary="校门口有人兜售管制刀具"):
    return services.submit_lead(
        source="police", summary=summary, latitude=school.latitude, longitude=school.longitude
    )


def test_officer_records_a_lead_arrests_and_a_patrol(client, ops, world):
    operation = _operation(ops)
    lead = _lead(ops["grid"][0])
    sign_in(client, ops["officer"])
    url = f"/intel/operations/{operation.pk}/records/"
    page = client.get(f"/intel/operations/{operation.pk}/").content.decode()
    assert 'id="operation-entry-form"' in page and 'id="operation-map"' in page
    posts = [
        {"kind": "lead", "day": "2026-06-03", "lead": lead.reference},
        {"kind": "arrest", "day": "2026-06-05", "persons": "3", "place": "长江路"},
        {"kind": "patrol", "day": "2026-06-06", "persons": "4", "hours": "2.5", "note": "放学"},
        {"kind": "patrol", "day": "2026-06-07", "persons": "2", "hours": "3"},
    ]
    for data in posts:
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:1500]
    assert services.operation_totals(operation) == {
        "leads": 1, "arrests": 3, "patrols": 2, "officer_hours": 16.0,
    }  # fmt: skip
    entries = AuditEntry.objects.filter(action="intel.operation.entry")
    assert entries.count() == 4 and entries.first().user == ops["officer"]
    page = client.get(f"/intel/operations/{operation.pk}/").content.decode()
    assert lead.reference in page and "长江路" in page and "4 officers × 2.5 h" in page
    api = client.get(f"/api/v1/intel/operations/{operation.pk}/").json()
    assert api["totals"] == {"leads": 1, "arrests": 3, "patrols": 2, "officer_hours": 16.0}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"kind": "arrest", "day": "2026-05-31", "persons": "1"}, "outside the operation"),
        ({"kind": "arrest", "day": "2026-06-10", "persons": "0"}, "1 to 500 persons"),
        ({"kind": "patrol", "day": "2026-06-10", "persons": "2", "hours": "0"}, "up to 24 hours"),
        ({"kind": "patrol", "day": "2026-06-10", "persons": "2", "hours": "30"}, "less than or"),
        ({"kind": "lead", "day": "2026-06-10", "lead": "XS-NOPE"}, "No lead with this"),
        ({"kind": "arrest", "day": "2026-06-10", "persons": "1", "incident": "SJ0"}, "No incident"),
        ({"kind": "raid", "day": "2026-06-10"}, "Select a valid choice"),
        ({"kind": "arrest", "day": "tomorrow", "persons": "1"}, "Enter a valid date"),
    ],
)
def test_bad_records_are_400_with_the_reason(client, ops, data, error):
    operation = _operation(ops)
    sign_in(client, ops["officer"])
    response = client.post(f"/intel/operations/{operation.pk}/records/", data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not OperationEntry.objects.exists()


def test_future_day_other_stations_lead_and_a_lead_twice(client, ops, world, clock):
    operation = services.create_operation(
        name="长期专项",
        starts_on=START,
        ends_on=dt.date(2026, 8, 31),
        user=ops["officer"],
        school_ids=[ops["grid"][0].pk],
    )
    sign_in(client, ops["officer"])
    url = f"/intel/operations/{operation.pk}/records/"
    future = client.post(url, {"kind": "arrest", "day": "2026-07-02", "persons": "1"})
    assert future.status_code == 400 and "in the future" in future.content.decode()
    elsewhere = _lead(world["other"])  # 陵城区's lead: not the officer's to see
    response = client.post(url, {"kind": "lead", "day": "2026-06-02", "lead": elsewhere.reference})
    assert response.status_code == 400
    mine = _lead(ops["grid"][0])
    assert (
        client.post(url, {"kind": "lead", "day": "2026-06-02", "lead": mine.reference}).status_code
        == 302
    )
    twice = client.post(url, {"kind": "lead", "day": "2026-06-03", "lead": mine.reference})
    assert twice.status_code == 400 and "already linked" in twice.content.decode()


def test_education_reads_the_effect_and_totals_but_records_nothing(client, ops, world):
    operation = _operation(ops)
    services.add_operation_entry(
        operation, user=ops["officer"], kind="arrest", day=START, persons=2, place="秘密地点"
    )
    sign_in(client, world["education"])
    page = client.get(f"/intel/operations/{operation.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="operation-totals"' in html and "秘密地点" not in html
    assert 'id="operation-entry-form"' not in html and 'id="did-during"' in html
    response = client.post(
        f"/intel/operations/{operation.pk}/records/",
        {"kind": "arrest", "day": "2026-06-10", "persons": "1"},
    )
    assert response.status_code == 403
    other_officer = UserFactory(role="police_officer", organisation=world["other"].police_station)
    sign_in(client, other_officer)
    assert client.get(f"/intel/operations/{operation.pk}/").status_code == 404
    assert OperationEntry.objects.count() == 1
    assert Operation.objects.get().entries.get().persons == 2


def test_the_page_explains_the_effect_in_chinese(client, ops, settings):
    grid, points = ops["grid"], SchoolPoints.load()
    for school, n in ((grid[0], 12), (grid[5], 12), (grid[10], 12), (grid[15], 12)):
        _plant(school, n, dt.date(2026, 5, 2), points)
        _plant(school, 2 if school == grid[0] else n, START, points)
    operation = _operation(ops)
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        sign_in(client, ops["officer"])
        html = client.get(
            f"/intel/operations/{operation.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
    assert "双重差分" in html and "对照" in html
    assert "-10.00" in html  # (2 − 12) − (12 − 12)


def test_leads_of_the_area_and_period_are_offered_and_linked_in_one_click(
    client, ops, world, clock
):
    operation = _operation(ops)
    grid = ops["grid"]
    clock.start_at(at(dt.date(2026, 6, 10), 9))
    near = _lead(grid[0], "校门口有人兜售管制刀具")
    far = _lead(grid[15], "远处学校的线索")
    clock.start_at(at(dt.date(2026, 5, 20), 9))
    earlier = _lead(grid[0], "行动开始前的线索")
    clock.start_at(at(END, 18))
    offered = services.suggested_leads(operation, ops["officer"], END)
    assert offered == [near]
    assert far not in offered and earlier not in offered
    sign_in(client, ops["officer"])
    page = client.get(f"/intel/operations/{operation.pk}/").content.decode()
    assert 'id="suggested-leads"' in page and near.reference in page
    response = client.post(
        f"/intel/operations/{operation.pk}/records/",
        {"kind": "lead", "lead": near.reference, "day": "2026-06-10"},
    )
    assert response.status_code == 302
    assert services.suggested_leads(operation, ops["officer"], END) == []
    assert operation.entries.get().lead == near
