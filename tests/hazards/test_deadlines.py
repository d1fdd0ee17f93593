"""Reminders before the deadline and escalation after it, on a controllable clock."""

from io import StringIO

import pytest
from django.core.management import call_command

from campus_safety.hazards import services
from campus_safety.hazards.deadlines import run_hazard_deadlines
from campus_safety.hazards.models import Hazard
from campus_safety.hazards.statistics import summary_block
from campus_safety.orgs.models import School
from tests.factories import sign_in
from tests.hazards.support import internal, trouble_spot, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def hazard(clock, settings, school_admin, school, bureaus):
    settings.HAZARD_DEADLINE_DAYS = {"high": 7}
    settings.HAZARD_REMINDER_HOURS = 48
    settings.HAZARD_ESCALATION_REPEAT_DAYS = 7
    return internal(school_admin, school, severity="high")


def test_a_reminder_goes_once_two_days_before_the_deadline(clock, hazard):
    clock.advance(days=4)
    assert run_hazard_deadlines(clock.now()).reminded == []
    clock.advance(days=1, minutes=1)
    assert run_hazard_deadlines(clock.now()).reminded == [hazard.pk]
    assert run_hazard_deadlines(clock.now()).reminded == []
    event = hazard.events.get(step="reminded")
    assert hazard.school.name in event.note


def test_an_overdue_hazard_escalates_to_the_county_bureau_then_the_city(clock, hazard, bureaus):
    clock.advance(days=7, seconds=-1)
    assert run_hazard_deadlines(clock.now()).escalated == []
    clock.advance(seconds=2)
    assert run_hazard_deadlines(clock.now()).escalated == [hazard.pk]
    hazard.refresh_from_db()
    assert (hazard.escalation_level, hazard.escalated_to) == (1, bureaus["county"])
    assert run_hazard_deadlines(clock.now()).escalated == []  # once per level
    clock.advance(days=7)
    assert run_hazard_deadlines(clock.now()).escalated == [hazard.pk]
    hazard.refresh_from_db()
    assert (hazard.escalation_level, hazard.escalated_to) == (2, bureaus["city"])
    clock.advance(days=30)
    assert run_hazard_deadlines(clock.now()).escalated == []  # the top level is the last
    escalations = hazard.events.filter(step="escalated").order_by("at")
    assert [e.organisation for e in escalations] == [bureaus["county"], bureaus["city"]]


def test_a_police_stations_overdue_spot_goes_to_its_sub_bureau(clock, officer, school, station):
    spot = trouble_spot(officer, school, severity="critical")
    services.assign_hazard(spot, officer, responsible_kind="police_station", organisation=station)
    clock.advance(days=3, hours=1)
    run_hazard_deadlines(clock.now())
    spot.refresh_from_db()
    assert spot.escalated_to == station.parent
    assert spot.escalated_to.kind == "police_sub_bureau"


def test_a_submitted_fix_is_not_overdue_but_a_returned_one_is_again(
    clock, hazard, school_admin, education, photo
):
    services.submit_fix(hazard, school_admin, "已修复", [upload(photo)])
    clock.advance(days=8)
    assert run_hazard_deadlines(clock.now()).escalated == []
    assert summary_block(School.objects.all())["internal"]["overdue"] == 0
    services.return_fix(hazard, education, "未接入110")
    assert run_hazard_deadlines(clock.now()).escalated == [hazard.pk]
    figures = summary_block(School.objects.all())["internal"]
    assert figures == {"found": 1, "rectified": 0, "open": 1, "overdue": 1}


def test_overdue_hazards_show_in_the_list_filter_and_the_api(client, clock, hazard, education):
    sign_in(client, education)
    assert client.get("/api/v1/hazards/?overdue=true").json()["count"] == 0
    clock.advance(days=8)
    assert client.get("/api/v1/hazards/?overdue=true").json()["count"] == 1
    page = client.get("/hazards/?overdue=true")
    assert page.status_code == 200 and hazard.reference in page.content.decode()
    assert client.get(f"/api/v1/hazards/{hazard.pk}/").json()["is_overdue"] is True


def test_the_command_runs_the_sweep_once(clock, hazard):
    clock.advance(days=8)
    out = StringIO()
    call_command("hazard_deadlines", stdout=out)
    assert "1 hazards escalated" in out.getvalue()
    assert Hazard.objects.get(pk=hazard.pk).escalation_level == 1


def test_reminders_and_escalations_reach_the_consoles_live_log(clock, hazard, bureaus):
    from campus_safety.live.models import LiveEvent

    clock.advance(days=5, minutes=1)
    run_hazard_deadlines(clock.now())
    clock.advance(days=2)
    run_hazard_deadlines(clock.now())
    rows = LiveEvent.objects.filter(name__startswith="hazard.").order_by("pk")
    assert [(r.name, r.school_id, r.payload["hazard_id"]) for r in rows] == [
        ("hazard.reminder", hazard.school_id, hazard.pk),
        ("hazard.escalated", hazard.school_id, hazard.pk),
    ]
    assert rows[1].payload["escalated_to"] == str(bureaus["county"])
