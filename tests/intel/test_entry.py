"""Manual incident and special-operation entry (pages and API), and the groups API:
police roles only, within their scope, validated, audited."""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from campus_safety.audit.models import AuditEntry
from campus_safety.intel.models import Group, Incident, Operation, Person
from tests.factories import sign_in

from .support import incident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


PERSON_FIELDS = {"p-TOTAL_FORMS": "3", "p-INITIAL_FORMS": "0"}


def _incident_post(**extra):
    data = {
        "kind": "robbery",
        "occurred_at": "2026-05-01T10:00",
        "address": "长江路校门口",
        "summary": "两名青年拦截学生索要财物",
        **PERSON_FIELDS,
        "p-0-role": "suspect",
        "p-0-name": "赵大勇",
        "p-0-id_number": "37140219990101123x",
        "p-1-role": "victim",
        "p-1-name": "钱小明",
        "p-1-is_minor": "on",
    }
    data.update(extra)
    return data


def test_officer_records_incident_by_school_with_persons(client, world):
    sign_in(client, world["officer"])
    assert client.get("/intel/incidents/new/").status_code == 200
    response = client.post("/intel/incidents/new/", _incident_post(school=world["school"].pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    inc = Incident.objects.get()
    assert response["Location"] == f"/intel/incidents/{inc.pk}/"
    assert inc.source == Incident.Source.MANUAL and inc.kind == "robbery"
    assert (inc.latitude, inc.longitude) == (world["school"].latitude, world["school"].longitude)
    assert inc.school == world["school"] and inc.created_by == world["officer"]
    persons = {p.role: p for p in inc.persons.all()}
    assert persons["suspect"].id_number == "37140219990101123X"
    assert persons["victim"].is_minor and not persons["suspect"].is_minor
    entry = AuditEntry.objects.get(action="intel.incident.create")
    assert entry.object_id == str(inc.pk) and entry.user == world["officer"]
    # the list offers the form to police writers
    assert "/intel/incidents/new/" in client.get("/intel/incidents/").content.decode()


def test_incident_form_refuses_other_areas_and_bad_input(client, world):
    sign_in(client, world["officer"])
    other = world["other"]
    # another station's school is no choice; its coordinates are outside the area
    assert client.post("/intel/incidents/new/", _incident_post(school=other.pk)).status_code == 400
    far = client.post(
        "/intel/incidents/new/",
        _incident_post(latitude=other.latitude, longitude=other.longitude),
    )
    assert far.status_code == 400 and "outside your area" in far.content.decode()
    bad = [
        _incident_post(),  # neither a school nor coordinates
        _incident_post(latitude="37.45"),  # half a point
        _incident_post(school=world["school"].pk, **{"p-0-id_number": "12345"}),
        _incident_post(school=world["school"].pk, **{"p-2-name": "无角色"}),  # no role
        _incident_post(school=world["school"].pk, **{"p-2-role": "witness"}),  # nobody
        _incident_post(school=world["school"].pk, occurred_at="2099-01-01T00:00"),
        _incident_post(school=world["school"].pk, kind="nonsense"),
    ]
    for data in bad:
        assert client.post("/intel/incidents/new/", data).status_code == 400
    assert not Incident.objects.exists() and not Person.objects.exists()


def test_incident_entry_is_for_police_only(client, world):
    for role in ("education", "school_admin"):
        sign_in(client, world[role])
        assert client.get("/intel/incidents/new/").status_code == 403
        assert client.post("/intel/incidents/new/", _incident_post()).status_code == 403
        assert client.get("/intel/operations/new/").status_code == 403


def test_api_incident_outside_the_area_is_refused(client, world):
    sign_in(client, world["officer"])
    response = client.post(
        "/api/v1/intel/incidents/",
        {
            "kind": "theft",
            "occurred_at": "2026-05-01T10:00:00+08:00",
            "latitude": world["other"].latitude,
            "longitude": world["other"].longitude,
        },
        content_type="application/json",
    )
    assert response.status_code == 400 and "latitude" in response.json()
    assert not Incident.objects.exists()


def _operation_post(**extra):
    data = {
        "name": "秋季护校专项",
        "starts_on": "2026-09-01",
        "ends_on": "2026-10-31",
        "target_kinds": ["robbery", "assault"],
        "notes": "重点时段上学放学",
    }
    data.update(extra)
    return data


def test_officer_creates_operation_over_own_schools(client, world):
    sign_in(client, world["officer"])
    page = client.get("/intel/operations/new/").content.decode()
    assert world["school"].name in page and world["other"].name not in page
    station = world["school"].police_station
    response = client.post(
        "/intel/operations/new/", _operation_post(schools=[world["school"].pk], units=[station.pk])
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    op = Operation.objects.get()
    assert list(op.schools.all()) == [world["school"]] and list(op.units.all()) == [station]
    assert op.target_kinds == ["robbery", "assault"] and op.created_by == world["officer"]
    assert op.police_station == station
    assert AuditEntry.objects.filter(action="intel.operation.create", object_id=str(op.pk)).exists()
    assert "/intel/operations/new/" in client.get("/intel/operations/").content.decode()


def test_operation_form_validates_area_period_and_scope(client, world):
    sign_in(client, world["officer"])
    s, o = world["school"], world["other"]
    square = [[s.latitude - 0.005, s.longitude - 0.005], [s.latitude + 0.005, s.longitude],
              [s.latitude, s.longitude + 0.005]]  # fmt: skip
    far = [[o.latitude - 0.005, o.longitude - 0.005], [o.latitude + 0.005, o.longitude],
           [o.latitude, o.longitude + 0.005]]  # fmt: skip
    bad = [
        _operation_post(),  # no area
        _operation_post(schools=[o.pk]),  # another station's school
        _operation_post(schools=[s.pk], ends_on="2026-08-01"),  # ends before it starts
        _operation_post(schools=[s.pk], target_kinds=["nonsense"]),
        _operation_post(polygon=json.dumps(far)),  # drawn around another station's school
        _operation_post(polygon="[[1, 2], [3, 4]]"),  # two points
        _operation_post(polygon="[[1, 2], [3, 4], [95, 4]]"),  # out of range
        _operation_post(polygon="not json"),
        _operation_post(regions=[s.region.pk]),  # a station does not span a district
    ]
    for data in bad:
        assert client.post("/intel/operations/new/", data).status_code == 400, data
    assert not Operation.objects.exists()
    drawn = client.post("/intel/operations/new/", _operation_post(polygon=json.dumps(square)))
    assert drawn.status_code == 302
    op = Operation.objects.get()
    assert op.polygon == square and op.school == s


def test_operations_api_scoped_and_validated(client, world):
    sign_in(client, world["officer"])
    url = "/api/v1/intel/operations/"
    made = client.post(
        url,
        {"name": "专项", "starts_on": "2026-09-01", "ends_on": "2026-09-30",
         "schools": [world["school"].pk], "target_kinds": ["theft"]},
        content_type="application/json",
    )  # fmt: skip
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["schools"] == [world["school"].pk] and body["target_kinds"] == ["theft"]
    assert body["state"] in {"planned", "active", "finished"}
    for data in (
        {"name": "越界", "starts_on": "2026-09-01", "ends_on": "2026-09-30",
         "schools": [world["other"].pk]},
        {"name": "倒序", "starts_on": "2026-09-30", "ends_on": "2026-09-01",
         "schools": [world["school"].pk]},
        {"name": "无区域", "starts_on": "2026-09-01", "ends_on": "2026-09-30"},
        {"name": "坏图形", "starts_on": "2026-09-01", "ends_on": "2026-09-30",
         "polygon": [[1, 2, 3]]},
    ):  # fmt: skip
        assert client.post(url, data, content_type="application/json").status_code == 400, data
    assert [o["name"] for o in client.get(url).json()["results"]] == ["专项"]
    assert client.get(f"{url}{body['id']}/").json()["name"] == "专项"
    # the bureau reads the operations of its schools but creates none
    sign_in(client, world["education"])
    assert [o["name"] for o in client.get(url).json()["results"]] == ["专项"]
    denied = client.post(
        url,
        {"name": "x", "starts_on": "2026-09-01", "ends_on": "2026-09-30",
         "schools": [world["school"].pk]},
        content_type="application/json",
    )  # fmt: skip
    assert denied.status_code == 403
    sign_in(client, world["school_admin"])
    assert client.get(url).status_code == 403


def test_groups_api_police_only_and_scoped(client, world):
    inc = incident(lat=37.45, lon=116.30)
    mine = Group.objects.create(
        signature="g-mine", detected_at=inc.occurred_at, persons=3,
        graph={"nodes": [{"id": "p1", "name": "张*"}], "links": []},
        school=world["school"], region=world["school"].region,
        police_station=world["school"].police_station,
    )  # fmt: skip
    mine.incidents.set([inc])
    Group.objects.create(
        signature="g-theirs", detected_at=inc.occurred_at, persons=4,
        school=world["other"], region=world["other"].region,
        police_station=world["other"].police_station,
    )  # fmt: skip
    sign_in(client, world["officer"])
    rows = client.get("/api/v1/intel/groups/").json()["results"]
    assert [(r["id"], r["incidents"]) for r in rows] == [(mine.pk, [inc.pk])]
    assert rows[0]["graph"]["nodes"][0]["name"] == "张*"
    for role in ("education", "school_admin"):
        sign_in(client, world[role])
        assert client.get("/api/v1/intel/groups/").status_code == 403
