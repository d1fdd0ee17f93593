"""The rectification workflow through its public surface (the API) and its services:
report → assign → rectify → submit → verify (or return) → close, each step timed and
attributed, and only the finding side verifies."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from campus_safety.audit.models import AuditEntry
from campus_safety.hazards import services
from campus_safety.hazards.models import Hazard, HazardEvent
from tests.factories import sign_in
from tests.hazards.support import internal, trouble_spot, upload

pytestmark = pytest.mark.django_db


def steps(hazard):
    return list(hazard.events.order_by("at", "pk").values_list("step", flat=True))


def test_a_schools_own_hazard_is_assigned_to_it_with_a_deadline_by_severity(
    clock, school_admin, school, settings
):
    settings.HAZARD_DEADLINE_DAYS = {"high": 7}
    hazard = internal(school_admin, school, severity="high")
    assert hazard.reference == f"YH-{hazard.pk:06d}"
    assert hazard.status == Hazard.Status.ASSIGNED
    assert hazard.responsible_kind == Hazard.Responsible.SCHOOL
    assert hazard.verifier_side == Hazard.Side.SUPERVISORS
    assert hazard.deadline == hazard.assigned_at + dt.timedelta(days=7)
    assert steps(hazard) == ["reported", "assigned"]
    assert hazard.events.get(step="reported").by == school_admin


def test_full_cycle_through_the_api_with_a_return(
    client, clock, school, school_admin, education, photo
):
    hazard = internal(school_admin, school, source="self_check")
    sign_in(client, school_admin)
    url = f"/api/v1/hazards/{hazard.pk}/"
    assert client.post(url + "start/", {"note": "已联系厂家"}).status_code == 200
    clock.advance(hours=5)
    response = client.post(url + "submit/", {"note": "已联网", "photos": [upload(photo)]})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted"
    # The school may not verify its own fix.
    response = client.post(url + "verify/", {}, content_type="application/json")
    assert response.status_code == 403
    assert "found the hazard" in response.json()["detail"]

    sign_in(client, education)
    response = client.post(url + "return/", {}, content_type="application/json")
    assert response.status_code == 400 and "note" in response.json()
    response = client.post(
        url + "return/", {"note": "报警未接入110"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["status"] == "rectifying"
    assert response.json()["return_count"] == 1

    sign_in(client, school_admin)
    assert (
        client.post(url + "submit/", {"note": "已接入110"}).status_code == 200
    )  # evidence on file
    sign_in(client, education)
    assert client.post(url + "verify/", {"note": "复核通过"}).status_code == 200
    response = client.post(url + "close/", {})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "closed" and body["verified_by"] == "王科长"
    assert [e["step"] for e in body["events"]] == [
        "reported", "assigned", "started", "submitted", "returned", "submitted", "verified",
        "closed",
    ]  # fmt: skip
    assert all(e["by"] for e in body["events"])
    times = [e["at"] for e in body["events"]]
    assert times == sorted(times)
    assert AuditEntry.objects.filter(action="hazard.verify", object_id=str(hazard.pk)).exists()


def test_a_fix_needs_evidence_before_it_is_submitted(school_admin, school):
    hazard = internal(school_admin, school)
    with pytest.raises(ValidationError) as error:
        services.submit_fix(hazard, school_admin, "修好了")
    assert "photo" in str(error.value.message_dict["photos"])
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.ASSIGNED


def test_a_police_found_trouble_spot_goes_to_the_station_and_back_to_police(
    client, officer, school, station, photo
):
    spot = trouble_spot(officer, school)
    assert spot.reference.startswith("LD-")
    assert (spot.status, spot.verifier_side) == ("reported", "police")
    sign_in(client, officer)
    url = f"/api/v1/hazards/{spot.pk}/"
    response = client.post(
        url + "assign/",
        {"responsible_kind": "police_station", "organisation": station.pk},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["responsible"] == station.name
    assert (
        client.post(url + "progress/", {"note": "清理摊贩", "photos": [upload(photo)]}).status_code
        == 200
    )
    assert client.post(url + "submit/", {"note": "已清理"}).status_code == 200
    assert client.post(url + "verify/", {}).status_code == 200
    spot.refresh_from_db()
    assert spot.status == "verified" and spot.verified_by == officer


def test_education_cannot_verify_what_police_found(officer, education, school, station, photo):
    spot = trouble_spot(officer, school)
    services.assign_hazard(spot, officer, responsible_kind="department", department="城管执法局")
    services.submit_fix(spot, officer, "已整治", [upload(photo)])
    with pytest.raises(services.NotAllowed):
        services.verify_fix(spot, education)
    assert services.allowed_steps(education, spot) == set()
    assert "verified" in services.allowed_steps(officer, spot)


def test_a_step_in_the_wrong_state_is_a_409_with_the_reason(
    client, school_admin, school, education
):
    hazard = internal(school_admin, school)
    sign_in(client, education)
    response = client.post(f"/api/v1/hazards/{hazard.pk}/verify/", {})
    assert response.status_code == 409
    assert "cannot be" in response.json()["detail"]


def test_a_school_cannot_assign_or_dismiss(client, officer, school_admin, school):
    spot = trouble_spot(officer, school)
    sign_in(client, school_admin)
    response = client.post(
        f"/api/v1/hazards/{spot.pk}/assign/", {"responsible_kind": "school"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 403
    response = client.post(f"/api/v1/hazards/{spot.pk}/dismiss/", {"note": "重复"})
    assert response.status_code == 403


def test_dismissing_needs_a_reason_and_leaves_the_figures(officer, school):
    from campus_safety.hazards.statistics import summary_block
    from campus_safety.orgs.models import School

    spot = trouble_spot(officer, school)
    with pytest.raises(ValidationError):
        services.dismiss_hazard(spot, officer, "  ")
    services.dismiss_hazard(spot, officer, "重复上报")
    assert summary_block(School.objects.all())["surrounding"]["found"] == 0


def test_reassigning_sets_a_fresh_deadline_and_restarts_escalation(
    clock, officer, school, station, other_station
):
    spot = trouble_spot(officer, school, severity="critical")
    services.assign_hazard(spot, officer, responsible_kind="police_station", organisation=station)
    spot.escalation_level = 1
    spot.save()
    clock.advance(days=1)
    later = clock.now() + dt.timedelta(days=10)
    services.assign_hazard(
        spot, officer, responsible_kind="police_station", organisation=other_station, deadline=later
    )
    spot.refresh_from_db()
    assert (spot.deadline, spot.escalation_level, spot.next_escalation_at) == (later, 0, later)
    assert steps(spot)[-1] == HazardEvent.Step.REASSIGNED


def test_a_deadline_in_the_past_is_refused(clock, officer, school):
    spot = trouble_spot(officer, school)
    with pytest.raises(ValidationError) as error:
        services.assign_hazard(
            spot, officer, responsible_kind="school", deadline=clock.now() - dt.timedelta(hours=1)
        )
    assert "deadline" in error.value.message_dict


def test_reporting_checks_the_fields_of_each_kind(client, officer, school):
    sign_in(client, officer)
    response = client.post(
        "/api/v1/hazards/",
        {"kind": "surrounding", "school": school.pk, "title": "网吧", "category": "public_order",
         "severity": "high", "source": "police_inspection"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    assert set(response.json()) >= {"spot_kind", "location"}
    response = client.post(
        "/api/v1/hazards/",
        {"kind": "internal", "school": school.pk, "title": "x", "category": "physical",
         "severity": "low", "source": "self_check", "key_area": "perimeter"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "source" in response.json()  # police do not do a school's self-check


def test_a_citizen_report_keeps_the_phone_encrypted_and_masked(client, officer, school):
    from django.db import connection

    spot = trouble_spot(
        officer, school, source="citizen_report", citizen_name="刘先生", citizen_phone="13912345678"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT citizen_phone FROM hazards_hazard WHERE id = %s", [spot.pk])
        stored = cursor.fetchone()[0]
    assert "13912345678" not in stored
    sign_in(client, officer)
    body = client.get(f"/api/v1/hazards/{spot.pk}/").json()
    assert body["citizen_phone"] != "13912345678" and body["citizen_phone"].endswith("5678")
