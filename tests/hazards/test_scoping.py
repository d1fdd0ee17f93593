"""Scope: a school sees and edits only its own hazards; a police station its
jurisdiction's hazards and trouble spots; out of scope is a 404, never a 403."""

import pytest

from campus_safety.hazards import services
from campus_safety.hazards.models import Hazard
from tests.factories import sign_in
from tests.hazards.support import internal, trouble_spot, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def hazards(school_admin, other_school_admin, officer, other_officer, school, other_school, photo):
    return {
        "mine": internal(school_admin, school, title="MINE-门卫室", photos=[upload(photo)]),
        "theirs": internal(other_school_admin, other_school, title="THEIRS-围墙"),
        "spot_mine": trouble_spot(officer, school, title="SPOT-MINE"),
        "spot_theirs": trouble_spot(other_officer, other_school, title="SPOT-THEIRS"),
    }


def titles(client, url="/api/v1/hazards/"):
    return {row["title"] for row in client.get(url).json()["results"]}


def test_a_school_sees_only_its_own(client, school_admin, hazards):
    sign_in(client, school_admin)
    assert titles(client) == {"MINE-门卫室", "SPOT-MINE"}
    page = client.get("/hazards/").content.decode()
    assert "MINE-门卫室" in page and "THEIRS" not in page
    for key in ("theirs", "spot_theirs"):
        pk = hazards[key].pk
        assert client.get(f"/hazards/{pk}/").status_code == 404
        assert client.get(f"/api/v1/hazards/{pk}/").status_code == 404
        assert client.post(f"/hazards/{pk}/step/", {"step": "started"}).status_code == 404
        assert client.post(f"/api/v1/hazards/{pk}/start/", {}).status_code == 404


def test_a_school_edits_only_its_own(client, school_admin, hazards):
    sign_in(client, school_admin)
    mine = hazards["mine"]
    response = client.post(f"/hazards/{mine.pk}/step/", {"step": "started", "note": "开始"})
    assert response.status_code == 302
    assert Hazard.objects.get(pk=mine.pk).status == "rectifying"
    theirs = hazards["theirs"]
    assert client.post(f"/hazards/{theirs.pk}/step/", {"step": "started"}).status_code == 404
    assert Hazard.objects.get(pk=theirs.pk).status == "assigned"


def test_a_school_cannot_rectify_a_spot_assigned_to_the_police(
    client, school_admin, officer, station, hazards
):
    spot = hazards["spot_mine"]
    services.assign_hazard(spot, officer, responsible_kind="police_station", organisation=station)
    sign_in(client, school_admin)
    response = client.post(f"/hazards/{spot.pk}/step/", {"step": "progress", "note": "x"})
    assert response.status_code == 403
    assert "responsible" in response.content.decode()


def test_a_police_station_sees_its_jurisdictions_trouble_spots(client, officer, hazards):
    sign_in(client, officer)
    assert titles(client, "/api/v1/hazards/?kind=surrounding") == {"SPOT-MINE"}
    assert titles(client) == {"MINE-门卫室", "SPOT-MINE"}
    geo = client.get("/hazards/map.geojson").json()
    names = {f["properties"].get("reference") for f in geo["features"]}
    assert hazards["spot_mine"].reference in names
    assert hazards["spot_theirs"].reference not in names


def test_the_county_bureau_sees_the_whole_county(client, education, hazards):
    sign_in(client, education)
    assert len(titles(client)) == 4


def test_photos_are_served_only_within_scope(client, school_admin, other_school_admin, hazards):
    photo = hazards["mine"].photos.get()
    sign_in(client, school_admin)
    response = client.get(f"/hazards/photos/{photo.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    sign_in(client, other_school_admin)
    assert client.get(f"/hazards/photos/{photo.pk}/").status_code == 404


def test_roles_without_hazards_are_refused(client, school):
    from tests.factories import UserFactory

    volunteer = UserFactory(role="volunteer", school=school)
    sign_in(client, volunteer)
    assert client.get("/hazards/").status_code == 403
    assert client.get("/api/v1/hazards/").status_code == 403
