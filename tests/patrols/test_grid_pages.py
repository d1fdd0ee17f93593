"""The police officer's phone pages: a patrol recorded with the phone's track, and a
field stop (盘查). Both go through grid.py (the writer the API uses) with the API's
rules (its serializers), are stored once per form (a one-off event id), and refuse bad
input with a 400 that says why and stores nothing."""

import datetime as dt
import json
import re

import pytest
from django.db import IntegrityError, transaction

from campus_safety.audit.models import AuditEntry
from campus_safety.orgs.models import Organisation
from campus_safety.patrols.grid import record_patrol_log
from campus_safety.patrols.models import FieldStop, GridRoute, PatrolLog
from tests.factories import OrganisationFactory, SchoolFactory, UserFactory, sign_in
from tests.patrols.support import officer

pytestmark = pytest.mark.django_db

RECORD, STOP = "/patrols/grid/record/", "/patrols/field-stops/new/"
# Three fixes 100 m apart going north, a minute between them.
TRACK = [
    [116.3, 37.45, "2026-03-02T08:00:00+08:00"],
    [116.3, 37.450899, "2026-03-02T08:01:00+08:00"],
    [116.3, 37.451798, "2026-03-02T08:02:00+08:00"],
]


@pytest.fixture
def beat():
    """A station, its school, its grid route and one of its officers."""
    station = OrganisationFactory(name="新华派出所")
    school = SchoolFactory(police_station=station, region=station.region, name="德城区实验小学")
    route = GridRoute.objects.create(organisation=station, name="新华路巡逻线")
    route.schools.add(school)
    return {"station": station, "school": school, "route": route, "police": officer(station)}


def event_id_of(page) -> str:
    return re.search(r'name="event_id" value="([0-9a-f]{32})"', page.content.decode()).group(1)


def patrol(one_off_id: str, **changes) -> dict:
    body = {
        "event_id": one_off_id,
        "started_at": "2026-03-02T00:00:00.000Z",
        "ended_at": "2026-03-02T00:02:30.000Z",
        "track": json.dumps(TRACK),
        "route": "",
    }
    return {**body, **changes}


def test_an_officer_records_a_patrol_with_its_track_once(client, beat):
    sign_in(client, beat["police"])
    page = client.get(RECORD)
    assert page.status_code == 200
    assert "patrols_record.js" in page.content.decode()
    event_id = event_id_of(page)
    body = patrol(event_id, route=beat["route"].pk)
    response = client.post(RECORD, body)
    assert response.status_code == 302 and response.url == f"{RECORD}?recorded={event_id}"
    log = PatrolLog.objects.get()
    assert (log.officer, log.organisation, log.route) == (
        beat["police"], beat["station"], beat["route"],
    )  # fmt: skip
    assert log.track == TRACK and 195 < log.distance_m < 205
    assert log.started_at.isoformat() == "2026-03-02T00:00:00+00:00"
    # The phone resends (lost answer, double tap): still one patrol, same answer.
    again = client.post(RECORD, body)
    assert again.status_code == 302 and again.url == response.url
    assert PatrolLog.objects.count() == 1
    assert AuditEntry.objects.filter(action="patrollog.create").count() == 1
    confirmed = client.get(response.url, follow=True).content.decode()
    assert f'data-recorded="{event_id}"' in confirmed  # the page lets go of the stored track
    assert "Patrol recorded: 3 track points, 0.2 km." in confirmed


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"track": '[[116.3, 95, "2026-03-02T08:00:00+08:00"]]'}, "every point must be"),
        ({"track": "[[116.3, 37.45]]"}, "every point must be"),
        ({"track": "not json"}, "The track is not readable"),
        ({"ended_at": "2026-03-01T23:00:00Z"}, "A patrol ends after it starts."),
        ({"started_at": "yesterday"}, "Datetime has wrong format"),
        ({"event_id": ""}, "This field is required."),
    ],
)
def test_a_bad_patrol_is_refused_with_the_reason_and_nothing_is_stored(
    client, beat, changes, reason
):
    sign_in(client, beat["police"])
    response = client.post(RECORD, patrol("a" * 32, **changes))
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not PatrolLog.objects.exists()


def test_another_units_route_cannot_be_chosen(client, beat):
    elsewhere = GridRoute.objects.create(organisation=OrganisationFactory(), name="别处巡逻线")
    sign_in(client, beat["police"])
    page = client.get(RECORD).content.decode()
    assert "新华路巡逻线" in page and "别处巡逻线" not in page
    response = client.post(RECORD, patrol("b" * 32, route=elsewhere.pk))
    assert response.status_code == 400 and not PatrolLog.objects.exists()


def test_a_dispatcher_of_no_police_unit_is_told_why(client, beat):
    dispatcher = UserFactory(role="dispatcher", region=beat["station"].region)
    sign_in(client, dispatcher)
    response = client.post(RECORD, patrol("c" * 32))
    assert response.status_code == 400
    assert "Only an officer of a police unit can record this." in response.content.decode()
    assert not PatrolLog.objects.exists()


def test_an_officer_records_a_field_stop_near_a_school_once(client, beat):
    sign_in(client, beat["police"])
    page = client.get(STOP)
    assert page.status_code == 200 and "data-locate" in page.content.decode()
    body = {
        "event_id": event_id_of(page),
        "at": "2026-03-02T16:40",
        "place": "校门东侧路口",
        "subject": "可疑男子，40岁左右",
        "outcome": "warned",
        "note": "已劝离",
        "longitude": beat["school"].longitude + 0.001,
        "latitude": beat["school"].latitude,
    }
    response = client.post(STOP, body)
    assert response.status_code == 302 and response.url == "/patrols/field-stops/"
    stop = FieldStop.objects.get()
    assert (stop.officer, stop.organisation, stop.nearest_school) == (
        beat["police"], beat["station"], beat["school"],
    )  # fmt: skip
    assert 80 < stop.distance_m < 100 and stop.at.isoformat() == "2026-03-02T08:40:00+00:00"
    assert client.post(STOP, body).status_code == 302  # a double tap
    assert FieldStop.objects.count() == 1
    listing = client.get("/patrols/field-stops/").content.decode()
    assert "校门东侧路口" in listing and "Field stop recorded, 88 m from 德城区实验小学." in listing


def test_a_field_stop_without_a_position_is_kept_without_a_school(client, beat):
    sign_in(client, beat["police"])
    body = {"event_id": "d" * 32, "at": "2026-03-02T16:40", "place": "网吧门口",
            "subject": "逃学学生", "outcome": "released"}  # fmt: skip
    assert client.post(STOP, body).status_code == 302
    assert FieldStop.objects.get().nearest_school is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"outcome": "shot"}, "outcome"), ({"subject": ""}, "subject"), ({"latitude": ""}, "")],
)
def test_a_bad_field_stop_is_refused_with_the_reason(client, beat, changes, field):
    sign_in(client, beat["police"])
    body = {"event_id": "e" * 32, "at": "2026-03-02T16:40", "place": "路口", "subject": "某人",
            "outcome": "released", "longitude": 116.3, "latitude": 37.45, **changes}  # fmt: skip
    response = client.post(STOP, body)
    assert response.status_code == 400 and not FieldStop.objects.exists()
    text = response.content.decode()
    if field == "":
        assert "Give both longitude and latitude, or neither." in text


@pytest.mark.parametrize("role", ["school_admin", "education_staff", "guard", "auditor"])
def test_only_the_police_open_the_recording_pages(client, beat, role):
    scope = {"school": beat["school"]} if role in {"school_admin", "guard"} else {}
    if role == "education_staff":
        scope = {"organisation": OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU)}
    sign_in(client, UserFactory(role=role, **scope))
    assert client.get(RECORD).status_code == 403
    assert client.get(STOP).status_code == 403
    assert client.post(RECORD, patrol("f" * 32)).status_code == 403
    assert not PatrolLog.objects.exists()


def test_the_police_lists_link_to_the_recording_pages(client, beat):
    sign_in(client, beat["police"])
    grid = client.get("/patrols/grid/").content.decode()
    assert f'href="{RECORD}"' in grid and f'href="{STOP}"' in grid
    assert f'href="{STOP}"' in client.get("/patrols/field-stops/").content.decode()


def test_once_is_the_databases_rule_and_api_records_without_an_id_are_not_merged(beat):
    """The one-off id is a unique constraint per officer (two requests racing past the
    look-up still make one row); records without one — the API's — stay separate."""
    data = {"started_at": dt.datetime.fromisoformat(TRACK[0][2]), "track": TRACK}
    fields = {"organisation": beat["station"], "officer": beat["police"], **data}
    PatrolLog.objects.create(event_id="race", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        PatrolLog.objects.create(event_id="race", **fields)
    record_patrol_log(beat["police"], dict(data))
    record_patrol_log(beat["police"], dict(data))
    assert PatrolLog.objects.filter(event_id="").count() == 2
