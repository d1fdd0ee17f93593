"""The gate API: the same scopes and rules as the pages."""

import pytest
from rest_framework.test import APIClient

from campus_safety.gate import services
from campus_safety.gate.models import Visit, WatchlistEntry
from tests.factories import sign_in
from tests.gate.conftest import WATCHED_ID, visitor

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    sign_in(client, user)
    return client


def test_check_in_out_and_lists_through_the_api(guard, education, other_guard, clock):
    client = api(guard)
    created = client.post("/api/v1/gate/visits/", visitor(), format="json")
    assert created.status_code == 201 and created.json()["state"] == "on_campus"
    pk = created.json()["visit"]
    listed = client.get("/api/v1/gate/visits/").json()["results"]
    assert listed[0]["name"] == "钱**" and "440524" not in str(listed)
    assert client.post(f"/api/v1/gate/visits/{pk}/check_out/").json()["state"] == "left"
    assert api(education).get("/api/v1/gate/visits/").json()["count"] == 1
    assert api(other_guard).get("/api/v1/gate/visits/").json()["count"] == 0
    assert api(other_guard).post(f"/api/v1/gate/visits/{pk}/check_out/").status_code == 404
    assert api(education).post("/api/v1/gate/visits/", visitor(), format="json").status_code == 403


def test_bad_input_is_a_400_with_the_reason(guard, clock):
    response = api(guard).post(
        "/api/v1/gate/visits/", visitor(document_number="110105194912310021"), format="json"
    )
    assert response.status_code == 400 and "check digit" in str(response.json())
    assert not Visit.objects.exists()


def test_a_hit_answers_the_gate_neutrally(guard, entry, clock):
    response = api(guard).post(
        "/api/v1/gate/visits/", visitor(document_number=WATCHED_ID), format="json"
    )
    assert response.json()["message"] == "请稍候，需核验" and response.json()["state"] == "held"


def test_invitation_through_the_api(guard, school_admin, clock):
    now = clock.now()
    made = api(school_admin).post(
        "/api/v1/gate/visits/invitations/",
        {
            "name": "周先生",
            "purpose": "家长会",
            "host": "吴老师",
            "document_number": "440524188001010014",
            "valid_from": now.isoformat(),
            "valid_until": (now.replace(year=now.year + 1)).isoformat(),
        },
        format="json",
    )
    assert made.status_code == 400  # more than 31 days
    made = api(school_admin).post(
        "/api/v1/gate/visits/invitations/",
        {
            "name": "周先生",
            "purpose": "家长会",
            "host": "吴老师",
            "document_number": "440524188001010014",
            "valid_from": now.isoformat(),
            "valid_until": (now + __import__("datetime").timedelta(hours=2)).isoformat(),
        },
        format="json",
    )
    token = made.json()["token"]
    client = api(guard)
    assert client.post("/api/v1/gate/visits/invited/", {"token": token}).status_code == 201
    again = client.post("/api/v1/gate/visits/invited/", {"token": token})
    assert again.status_code == 400 and "already been used" in str(again.json())


def test_pick_up_through_the_api(guard, school_admin, other_guard, clock):
    student = services.save_student(
        guard.school, by=school_admin, student_number="1", name="小红", class_name="中二班"
    )
    person = api(school_admin).post(
        "/api/v1/gate/pickup-persons/",
        {"student": student.pk, "name": "小红爸爸", "relation": "father", "phone": "13900000000"},
        format="json",
    )
    assert person.status_code == 201
    released = api(guard).post(
        "/api/v1/gate/pickups/", {"student": student.pk, "person": person.json()["id"]}
    )
    assert released.json()["outcome"] == "released"
    refused = api(guard).post("/api/v1/gate/pickups/", {"student": student.pk, "person_name": "x"})
    assert refused.json()["outcome"] == "refused"
    assert (
        api(other_guard)
        .post("/api/v1/gate/pickups/", {"student": student.pk, "person_name": "x"})
        .status_code
        == 404
    )


def test_the_watch_list_api_is_police_only(
    officer, other_officer, command, guard, school_admin, education, station, entry, clock
):
    for user in (guard, school_admin, education):
        assert api(user).get("/api/v1/gate/watchlist/").status_code == 404
        assert api(user).get("/api/v1/gate/watchlist-hits/").status_code == 404
    assert api(officer).get("/api/v1/gate/watchlist/").json()["count"] == 1
    assert api(other_officer).get("/api/v1/gate/watchlist/").json()["count"] == 0
    assert api(command).get("/api/v1/gate/watchlist/").json()["count"] == 1
    created = api(officer).post(
        "/api/v1/gate/watchlist/",
        {
            "station": station.pk,
            "name": "孙某",
            "reason": "risk",
            "valid_from": clock.now().isoformat(),
            "valid_until": "2099-01-01T00:00:00+08:00",
        },
        format="json",
    )
    assert created.status_code == 201 and created.json()["masked_name"] == "孙*"
    ended = api(officer).post(f"/api/v1/gate/watchlist/{created.json()['id']}/end/")
    assert ended.json()["ended_at"]
    assert WatchlistEntry.objects.count() == 2
