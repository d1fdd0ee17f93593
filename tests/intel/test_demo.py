"""The demo's intel history: a year of incidents, planted outbreaks raising today's
alerts, a gang found as a group, leads at every stage, two operations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from campus_safety.intel.models import (
    Alert,
    DispatchSource,
    Group,
    Incident,
    Lead,
    Operation,
    OperationEntry,
)
from campus_safety.simulator.demo_intel import fill_intel
from tests import factories

from .support import at, schools_grid

pytestmark = pytest.mark.django_db


def test_fill_intel_makes_a_year_and_todays_alerts(clock):
    county = factories.CountyFactory(code="371402", name="德城区")
    station = factories.OrganisationFactory(kind="police_station", region=county)
    for school in schools_grid(county, station, n=4, spacing_km=2.0):
        school.students = 1200
        school.save()
    today = dt.date(2026, 11, 20)
    clock.start_at(at(today, 15))
    counts = fill_intel(replications=199)
    assert 2000 < counts["intel_incidents"] < 3000
    assert Incident.objects.filter(occurred_at__lt=at(today - dt.timedelta(days=300))).exists()
    assert counts["intel_alerts"] >= 1
    assert Alert.objects.filter(scan_date=today).exists()
    assert Group.objects.count() >= 1
    assert set(Lead.objects.values_list("status", flat=True)) == {
        "new",
        "triaged",
        "verifying",
        "converted",
        "merged",
        "dismissed",
    }
    assert Operation.objects.count() == 2
    # each operation recorded what it did; the 110 source is saved with GCJ-02
    for operation in Operation.objects.all():
        kinds = set(operation.entries.values_list("kind", flat=True))
        assert {"patrol", "arrest"} <= kinds
    assert OperationEntry.objects.filter(kind="lead").exists()
    assert DispatchSource.objects.get().coordinate_system == "gcj02"
    from campus_safety.orgs.models import School
    from campus_safety.reports.summary import summary

    block = summary(School.objects.all())["intel"]
    assert block["incidents_90d"] > 400 and block["alerts_open"] >= 1
    assert block["groups"] >= 1 and block["operations_active"] == 1
    assert block["open_leads"] == 20
    # again the same day: nothing doubled
    again = fill_intel(replications=199)
    assert again["intel_alerts"] == 0
    assert timezone.localtime(Incident.objects.latest("occurred_at").occurred_at).date() <= today
