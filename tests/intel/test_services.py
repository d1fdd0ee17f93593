"""Incidents, leads, alerts, groups, operations and the risk list, through the services."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from campus_safety.intel import services
from campus_safety.intel.early_warning import run_daily_scan
from campus_safety.intel.effect import operation_effect, ratio_of_ratios
from campus_safety.intel.groups import build_graph, components, detect_groups
from campus_safety.intel.models import Alert, Group, Incident, Lead, Person
from campus_safety.intel.risk import risk_ranking
from campus_safety.orgs.models import Organisation, School
from tests import factories

from .support import BASE_LAT, BASE_LON, KM_LAT, at, incident, schools_grid

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(decheng):
    return factories.OrganisationFactory(kind=Organisation.Kind.POLICE_STATION, region=decheng)


@pytest.fixture
def grid(decheng, station):
    return schools_grid(decheng, station)


def test_incident_links_schools_within_radius_and_encrypts_persons(grid):
    inc = incident(
        lat=BASE_LAT + 0.2 * KM_LAT,
        persons=[
            {"role": "suspect", "name": "张三", "id_number": "371402200801011234", "is_minor": True}
        ],
    )
    assert list(inc.schools.all()) == [grid[0]]
    assert inc.school == grid[0] and inc.region == grid[0].region
    assert inc.police_station == grid[0].police_station
    person = inc.persons.get()
    assert person.is_minor and person.name == "张三"
    assert person.id_number_masked == "3714**********1234"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id_number FROM {Person._meta.db_table} WHERE id = %s", [person.pk])  # noqa: S608
        raw = cursor.fetchone()[0]
    assert "371402200801011234" not in raw  # encrypted at rest
    assert person.person_key


def test_incident_refuses_bad_kind_and_coordinates(grid):
    with pytest.raises(ValidationError):
        incident(kind="nonsense")
    with pytest.raises(ValidationError):
        incident(lat=123.0)
    assert Incident.objects.count() == 0


def test_lead_triage_verify_convert_with_timed_attributed_steps(grid, clock):
    officer = factories.UserFactory(role="police_officer", organisation=grid[0].police_station)
    lead = services.submit_lead(
        source="citizen",
        summary="校门口有人向学生收保护费",
        latitude=BASE_LAT,
        longitude=BASE_LON,
        kind="robbery",
        reporter_phone="13800001111",
    )
    assert lead.status == Lead.Status.NEW and lead.school == grid[0]
    with pytest.raises(ValidationError):
        services.advance_lead(lead, "verify", user=officer)  # not triaged yet
    lead = services.advance_lead(lead, "triage", user=officer, priority="urgent")
    lead = services.advance_lead(lead, "verify", user=officer)
    lead = services.advance_lead(lead, "convert", user=officer, note="核实属实")
    assert lead.status == Lead.Status.CONVERTED and lead.incident.kind == "robbery"
    steps = list(lead.events.values_list("step", "by"))
    assert steps == [
        ("new", None),
        ("triaged", officer.pk),
        ("verifying", officer.pk),
        ("converted", officer.pk),
    ]
    assert lead.triaged_at and lead.verified_at and lead.resolved_at


def test_lead_dismiss_needs_reason_and_merge_needs_incident(grid):
    officer = factories.UserFactory(role="police_officer", organisation=grid[0].police_station)
    lead = services.submit_lead(source="school", summary="可疑人员徘徊")
    with pytest.raises(ValidationError):
        services.advance_lead(lead, "dismiss", user=officer)
    with pytest.raises(ValidationError):
        services.advance_lead(lead, "merge", user=officer)
    target = incident()
    merged = services.advance_lead(lead, "merge", user=officer, incident=target)
    assert merged.status == Lead.Status.MERGED and merged.incident == target
    other = services.submit_lead(source="guard", summary="重复报告")
    dismissed = services.advance_lead(other, "dismiss", user=officer, note="重复")
    assert dismissed.dismissed_reason == "重复"


def test_group_detection_connected_components():
    memberships = [
        ("a", 1, "suspect", "张*"),
        ("b", 1, "suspect", "李*"),
        ("b", 2, "suspect", "李*"),
        ("c", 2, "suspect", "王*"),
        ("x", 3, "suspect", "赵*"),
        ("y", 3, "suspect", "钱*"),
        ("z", 3, "suspect", "孙*"),
    ]
    found = components(build_graph(memberships))
    # a-b-c over incidents 1 and 2 is a group; x, y, z share only one incident
    assert found == [({"a", "b", "c"}, {1, 2})]


def test_detect_groups_stores_masked_graph_once(grid):
    people = [
        {"role": "suspect", "name": "张三", "id_number": "371402200001011111"},
        {"role": "suspect", "name": "李四", "id_number": "371402200001012222"},
    ]
    incident(persons=people)
    incident(
        persons=[
            people[1],
            {"role": "suspect", "name": "王五", "id_number": "371402200001013333"},
            {"role": "victim", "name": "受害人", "id_number": "1"},
        ]
    )
    assert detect_groups() == 1
    assert detect_groups() == 0  # the same group is not raised twice
    group = Group.objects.get()
    assert group.persons == 3 and group.incidents.count() == 2
    names = {n["name"] for n in group.graph["nodes"] if n["category"] == 0}
    assert names == {"张*", "李*", "王*"}
    assert "张三" not in str(group.graph)


def _planted(grid, today):
    """A quiet year around 9 schools, then 6 thefts at one school in the last 2 days."""
    rng = np.random.default_rng(5)
    for _ in range(120):
        s = grid[rng.integers(len(grid))]
        day = today - dt.timedelta(days=int(rng.integers(2, 300)))
        incident(
            lat=s.latitude + rng.normal(0, 0.002),
            lon=s.longitude + rng.normal(0, 0.002),
            when=at(day),
            kind="theft",
        )
    for k in range(6):
        incident(
            lat=grid[4].latitude + 0.001 * (k % 2),
            lon=grid[4].longitude,
            when=at(today - dt.timedelta(days=k % 2)),
            kind="theft",
        )


def test_daily_scan_raises_an_alert_for_a_planted_outbreak(grid, clock, settings):
    today = dt.date(2026, 5, 20)
    clock.start_at(at(today, 18))
    _planted(grid, today)
    summary = run_daily_scan(replications=199)
    assert summary.alerts >= 1
    alert = Alert.objects.order_by("-statistic").first()
    assert grid[4] in alert.schools.all()
    assert alert.observed >= 6 and alert.recurrence_days >= 100
    assert alert.incidents.count() == alert.observed
    # the same day again: the ongoing cluster is not raised twice
    assert run_daily_scan(replications=199).alerts == 0


def test_alert_steps_and_operation_from_alert(grid, clock):
    today = dt.date(2026, 5, 20)
    clock.start_at(at(today, 18))
    _planted(grid, today)
    run_daily_scan(replications=99)
    alert = Alert.objects.first()
    officer = factories.UserFactory(role="police_officer", organisation=grid[0].police_station)
    with pytest.raises(ValidationError):
        services.advance_alert(alert, "assess", user=officer)  # no assessment text
    alert = services.advance_alert(alert, "acknowledge", user=officer)
    alert = services.advance_alert(alert, "assess", user=officer, note="疑似团伙盗窃")
    operation = services.operation_from_alert(alert, user=officer)
    assert operation.alert == alert and grid[4] in operation.schools.all()
    assert operation.target_kinds == [alert.kind] if alert.kind else operation.target_kinds == []
    alert = services.advance_alert(alert, "close", user=officer)
    assert alert.status == Alert.Status.CLOSED and alert.closed_by == officer


def test_ratio_of_ratios_interval():
    ratio, low, high = ratio_of_ratios(40, 10, 400, 400, 30, 30)
    assert ratio == pytest.approx(0.25)
    assert low < 0.25 < high < 1  # a clear fall against the comparison
    assert ratio_of_ratios(0, 1, 1, 1, 30, 30) == (None, None, None)


def test_operation_effect_on_synthetic_data(grid, clock):
    today = dt.date(2026, 6, 30)
    clock.start_at(at(today, 12))
    officer = factories.UserFactory(role="police_officer", organisation=grid[0].police_station)
    op = services.create_operation(
        name="护校专项",
        starts_on=dt.date(2026, 6, 1),
        ends_on=dt.date(2026, 6, 30),
        user=officer,
        school_ids=[grid[0].pk],
    )
    far = grid[8]
    for k in range(30):  # before: 30 at the operation's school, 30 far away
        incident(lat=grid[0].latitude, lon=grid[0].longitude, when=at(dt.date(2026, 5, 2 + k % 29)))
        incident(lat=far.latitude, lon=far.longitude, when=at(dt.date(2026, 5, 2 + k % 29)))
    for k in range(30):  # during: 5 at the school, 30 far away
        if k < 5:
            incident(lat=grid[0].latitude, lon=grid[0].longitude, when=at(dt.date(2026, 6, 1 + k)))
        incident(lat=far.latitude, lon=far.longitude, when=at(dt.date(2026, 6, 1 + k % 29)))
    effect = operation_effect(op, today)
    before, during = effect.periods[:2]
    assert (before.area, during.area) == (30, 5)
    assert (before.comparison, during.comparison) == (30, 30)
    assert effect.ratio == pytest.approx(5 / 30)
    assert effect.conclusive and effect.high < 1


def test_risk_ranking_gives_reasons(grid):
    for _ in range(3):
        incident(lat=grid[2].latitude, lon=grid[2].longitude, kind="assault")
    from django.utils import translation

    with translation.override("en"):
        ranking = risk_ranking(School.objects.all())
    top = ranking[0]
    assert top.school == grid[2]
    assert top.score >= 12
    assert any("3 ×" in reason for reason in top.reasons)


def test_incident_time_is_kept(grid):
    when = timezone.make_aware(dt.datetime(2026, 3, 1, 8, 30))
    assert incident(when=when).occurred_at == when
