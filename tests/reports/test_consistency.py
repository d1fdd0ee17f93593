"""The reports agree with each other and with who reads them: a watch-list hit's
police-only alarm case is counted for police readers only (the summary, the alarm
statistics, the campaign report; never in a scheduled report, which every reader of
its area opens), and "rectified hazards" are counted by one definition on the big
screen, in the campaign report and in the scheduled reports."""

import datetime as dt

import pytest
from django.urls import reverse

from campus_safety import clock
from campus_safety.alarms.models import AlarmCase
from campus_safety.hazards.models import Hazard
from campus_safety.orgs.models import School
from campus_safety.reports import campaign, scheduled, screen_data
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory, UserFactory, sign_in
from tests.hazards.support import internal, trouble_spot
from tests.reports.support import local

pytestmark = pytest.mark.django_db
NOW = local(dt.date(2026, 3, 20), "10:00")


@pytest.fixture
def now(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return NOW


@pytest.fixture
def cases(decheng, now):
    """One ordinary real case and one police-only case (a watch-list hit's) this month."""
    school = SchoolFactory(region=decheng)
    device = DeviceFactory(school=school)
    opened = now - dt.timedelta(days=2)
    for police_only in (False, True):
        AlarmCase.objects.create(
            school=school,
            device=device,
            opened_at=opened,
            last_event_at=opened,
            acknowledged_at=opened + dt.timedelta(seconds=30),
            priority=1,
            police_only=police_only,
        )
    return school


def test_a_police_only_case_counts_for_police_readers_only(client, decheng, cases, now):
    police = UserFactory(role="dispatcher", region=decheng)
    bureau = UserFactory(role="education_staff", region=decheng)
    counted = {}
    for who, user in (("police", police), ("bureau", bureau)):
        sign_in(client, user)
        summary = client.get("/api/v1/reports/summary/").json()
        statistics = client.get("/api/v1/alarm-statistics/").json()
        text = client.get(reverse("reports:campaign_json")).json()
        counted[who] = (
            summary["alarms"]["total"],
            statistics["summary"]["total"],
            text["figures"]["alarms"]["value"],
        )
    assert counted == {"police": (2, 2, 2), "bureau": (1, 1, 1)}
    # a scheduled report is kept for every reader of its area: it counts without it
    figures = scheduled.figures(decheng, dt.date(2026, 3, 1), dt.date(2026, 3, 19), "monthly")
    assert [d["total"] for d in figures["alarms"]["districts"]] == [1]
    assert figures["campaign"]["figures"]["alarms"]["value"] == 1


def test_rectified_hazards_are_counted_alike_on_the_screen_the_campaign_and_the_reports(
    decheng, now
):
    school = SchoolFactory(region=decheng)
    reporter = UserFactory(role="school_admin", school=school)
    march, february = local(dt.date(2026, 3, 5), "09:00"), local(dt.date(2026, 2, 20), "09:00")

    def hazard(make, status, verified=None, closed=None):
        row = make(reporter, school, source="self_check")
        Hazard.objects.filter(pk=row.pk).update(
            status=status, verified_at=verified, closed_at=closed, reported_at=february
        )

    hazard(internal, Hazard.Status.VERIFIED, verified=march)  # this month
    hazard(internal, Hazard.Status.CLOSED, closed=march)  # closed without a verification
    hazard(trouble_spot, Hazard.Status.CLOSED, verified=march, closed=march)
    hazard(internal, Hazard.Status.CLOSED, verified=february, closed=march)  # February's
    hazard(internal, Hazard.Status.DISMISSED, closed=march)  # not a hazard
    hazard(internal, Hazard.Status.SUBMITTED)  # not yet
    schools = School.objects.filter(region=decheng)

    screen = screen_data.hazards_part(schools, now)["closed_this_month"]
    text = campaign.campaign(schools, None, dt.date(2026, 3, 1), dt.date(2026, 3, 31)).as_json()
    in_text = (
        text["figures"]["hazards_rectified"]["value"]
        + text["figures"]["trouble_spots_rectified"]["value"]
    )
    report = scheduled.figures(decheng, dt.date(2026, 3, 1), dt.date(2026, 3, 31), "monthly")
    assert screen == in_text == report["hazards"]["rectified"] == 3
    whole = campaign.campaign(schools).as_json()["figures"]["hazards_rectified"]["value"]
    assert whole == 3  # over the whole history February's counts too
