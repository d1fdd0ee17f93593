"""Scheduled reports on a controllable clock: which period is due when, made once per
area and period inside the catch-up window, delivered to the users whose scope is the
area, downloadable by them (and only by those who may see the area), made on demand."""

import datetime as dt

import pytest
from django.urls import reverse

from campus_safety import clock
from campus_safety.reports import scheduled
from campus_safety.reports.models import GeneratedReport, InboxItem
from tests.factories import SchoolFactory, UserFactory, sign_in
from tests.reports.support import local

pytestmark = pytest.mark.django_db
Kind = GeneratedReport.Kind


@pytest.fixture
def at(monkeypatch):
    """Pin ``clock.now`` to a local date-time: ``at(day, "hh:mm")``."""

    def pin(day: dt.date, hhmm: str = "03:00") -> dt.datetime:
        moment = local(day, hhmm)
        monkeypatch.setattr(clock, "now", lambda: moment)
        return moment

    return pin


def test_the_period_due_for_each_kind():
    monday = dt.date(2026, 3, 9)
    assert scheduled.last_period(Kind.WEEKLY, monday) == (dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    assert scheduled.last_period(Kind.WEEKLY, dt.date(2026, 3, 8)) == (
        dt.date(2026, 2, 23),
        dt.date(2026, 3, 1),
    )
    assert scheduled.last_period(Kind.MONTHLY, dt.date(2026, 3, 1)) == (
        dt.date(2026, 2, 1),
        dt.date(2026, 2, 28),
    )
    # the autumn term runs over New Year; the spring term ends on 15 July
    assert scheduled.last_period(Kind.TERM, dt.date(2026, 2, 1)) == (
        dt.date(2025, 9, 1),
        dt.date(2026, 1, 31),
    )
    assert scheduled.last_period(Kind.TERM, dt.date(2026, 7, 16)) == (
        dt.date(2026, 2, 15),
        dt.date(2026, 7, 15),
    )


def test_a_monday_makes_last_weeks_reports_once_and_delivers_them(decheng, lingcheng, at):
    SchoolFactory(region=decheng)
    SchoolFactory(region=lingcheng)
    city_user = UserFactory(role="dispatcher", region=decheng.parent)
    district_user = UserFactory(role="dispatcher", region=decheng)
    UserFactory(role="school_admin", school=SchoolFactory(region=decheng))  # no such right
    at(dt.date(2026, 3, 8), "23:59")  # Sunday: this week is not over, the last one is
    assert {str(r.period_end) for r in scheduled.run_due()} == {"2026-03-01"}
    at(dt.date(2026, 3, 9))
    made = scheduled.run_due()
    assert sorted((r.kind, r.region.code, str(r.period_end)) for r in made) == [
        ("weekly", "371400", "2026-03-08"),
        ("weekly", "371402", "2026-03-08"),
        ("weekly", "371403", "2026-03-08"),
    ]
    assert scheduled.run_due() == []  # kept: not made twice
    city_report = GeneratedReport.objects.get(region__code="371400", period_end="2026-03-08")
    assert list(city_report.deliveries.values_list("user", flat=True)) == [city_user.pk]
    district_report = GeneratedReport.objects.get(region__code="371402", period_end="2026-03-08")
    assert list(district_report.deliveries.values_list("user", flat=True)) == [district_user.pk]
    assert city_report.figures["from"] == "2026-03-02" and bytes(city_report.pdf)[:4] == b"%PDF"


def test_a_period_past_the_catch_up_window_is_not_made(decheng, at, settings):
    settings.REPORTS_CATCH_UP_DAYS = 2
    SchoolFactory(region=decheng)
    at(dt.date(2026, 3, 12))  # Thursday: last week ended 4 days ago
    assert scheduled.run_due() == []


def test_the_inbox_lists_downloads_and_marks_read(client, decheng, lingcheng, at):
    SchoolFactory(region=decheng)
    SchoolFactory(region=lingcheng)
    user = UserFactory(role="dispatcher", region=decheng)
    at(dt.date(2026, 3, 9))
    scheduled.run_due()
    sign_in(client, user)
    page = client.get(reverse("reports:inbox"))
    assert page.status_code == 200 and len(page.context["items"]) == 1
    mine = page.context["items"][0].report
    response = client.get(reverse("reports:report_pdf", args=[mine.pk]))
    assert response.status_code == 200 and response.content[:4] == b"%PDF"
    assert InboxItem.objects.get(user=user).read_at is not None
    xlsx = client.get(reverse("reports:report_xlsx", args=[mine.pk]))
    assert xlsx.content[:2] == b"PK"
    assert client.get(reverse("reports:report_figures", args=[mine.pk])).json()["kind"] == "weekly"
    other = GeneratedReport.objects.filter(region__code="371403").first()
    assert client.get(reverse("reports:report_pdf", args=[other.pk])).status_code == 404


def test_a_report_made_on_demand_goes_to_the_requesters_inbox(client, decheng, at):
    SchoolFactory(region=decheng)
    user = UserFactory(role="dispatcher", region=decheng)
    sign_in(client, user)
    at(dt.date(2026, 3, 20))
    response = client.post(
        reverse("reports:report_generate"), {"kind": "monthly", "region": "371402"}
    )
    assert response.status_code == 302
    report = GeneratedReport.objects.get()
    assert (report.kind, str(report.period_start), report.requested_by) == (
        "monthly",
        "2026-02-01",
        user,
    )
    assert InboxItem.objects.filter(user=user, report=report).exists()
    refused = client.post(reverse("reports:report_generate"), {"kind": "daily", "region": "371402"})
    assert refused.status_code == 400
    wider = client.post(reverse("reports:report_generate"), {"kind": "weekly", "region": "371400"})
    assert wider.status_code == 400
