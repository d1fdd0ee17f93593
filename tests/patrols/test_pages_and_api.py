"""The pages and the API as their users meet them: who sees what (field stops are for
police only), bad input answered 400 with a reason, exports, the summary block, and
query counts that stay flat as data grows."""

import datetime as dt

import pytest
from django.core.management import call_command

from campus_safety.orgs.models import Organisation, School
from campus_safety.patrols import peak_posts, services
from campus_safety.patrols.models import FieldStop, PatrolAlarm, PeakPost, TourRound
from campus_safety.reports.summary import summary
from tests.factories import OrganisationFactory, SchoolFactory, UserFactory, sign_in
from tests.patrols.support import FrozenClock, gate_post, local, officer, tour

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)


@pytest.fixture
def now(monkeypatch):
    return FrozenClock(monkeypatch, local(DAY, "07:45"))


@pytest.fixture
def district(now):
    """One station with two schools (tours, posts, a missed round) and its people."""
    station = OrganisationFactory()
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=station.region)
    schools = [SchoolFactory(police_station=station, region=station.region) for _ in range(2)]
    police = officer(station)
    for school in schools:
        tour(school, starts=("07:00",))
        gate_post(school, members=[(police, "police")])
    services.ensure_rounds(DAY)
    peak_posts.generate_roster(PeakPost.objects.all(), DAY, DAY)
    now.set(local(DAY, "07:45"))
    services.sweep()  # the 07:00 rounds were not walked: alarms
    stop = FieldStop.objects.create(
        organisation=station, officer=police, at=now.at, place="校门东侧路口",
        nearest_school=schools[0], subject="可疑男子", outcome="warned",
    )  # fmt: skip
    return {
        "station": station, "schools": schools, "police": police, "stop": stop,
        "edu": UserFactory(role="education_staff", organisation=bureau),
        "head": UserFactory(role="school_admin", school=schools[0]),
    }  # fmt: skip


PAGES = ["/patrols/", "/patrols/tours/", "/patrols/alarms/", "/patrols/rosters/",
         "/patrols/duty/", "/patrols/scan/", "/patrols/grid/"]  # fmt: skip


@pytest.mark.parametrize("who", ["police", "edu", "head"])
def test_the_patrol_pages_open_for_each_side(client, district, who):
    sign_in(client, district[who])
    for url in PAGES:
        response = client.get(url)
        expected = 403 if (who == "head" and url == "/patrols/grid/") else 200
        assert response.status_code == expected, (url, response.status_code)


def test_field_stops_are_for_police_eyes_only(client, district):
    for who in ("edu", "head"):
        sign_in(client, district[who])
        assert client.get("/patrols/field-stops/").status_code == 403
        assert client.get("/api/v1/field-stops/").status_code == 403
        assert not FieldStop.objects.visible_to(district[who]).exists()
    superuser_like_scope = UserFactory(role="education_staff", region=district["station"].region)
    assert not FieldStop.objects.visible_to(superuser_like_scope).exists()  # scoping says no
    sign_in(client, district["police"])
    page = client.get("/patrols/field-stops/")
    assert page.status_code == 200 and "校门东侧路口" in page.content.decode()
    assert client.get("/patrols/field-stops/?export=xlsx").content.startswith(b"PK")
    other_station_officer = officer(OrganisationFactory())
    assert not FieldStop.objects.visible_to(other_station_officer).exists()


def test_an_officer_records_a_field_stop_and_the_nearest_school_is_found(client, district):
    sign_in(client, district["police"])
    school = district["schools"][1]
    body = {"at": "2026-03-02T16:40:00+08:00", "place": "校门口", "subject": "可疑人员",
            "outcome": "released", "longitude": school.longitude + 0.001,
            "latitude": school.latitude}  # fmt: skip
    response = client.post("/api/v1/field-stops/", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["nearest_school"] in {s.pk for s in district["schools"]}
    assert 80 < response.json()["distance_m"] < 100
    bad = client.post(
        "/api/v1/field-stops/", {**body, "outcome": "shot"}, content_type="application/json"
    )
    assert bad.status_code == 400 and "outcome" in bad.json()


def test_a_school_sees_only_its_own_rounds_and_alarms(client, district):
    head = district["head"]
    own, other = district["schools"]
    assert set(TourRound.objects.visible_to(head).values_list("school_id", flat=True)) == {own.pk}
    sign_in(client, head)
    alarms = client.get("/api/v1/patrol-alarms/").json()["results"]
    assert alarms and {a["school"]["id"] for a in alarms} == {own.pk}
    assert client.get(f"/patrols/tours/school/{other.pk}/").status_code == 404
    assert client.get(f"/patrols/tours/school/{own.pk}/?day=2026-03-02").status_code == 200


def test_the_school_resolves_a_patrol_alarm_from_the_list(client, district):
    sign_in(client, district["head"])
    alarm = PatrolAlarm.objects.filter(school=district["schools"][0]).first()
    client.post(f"/patrols/alarms/{alarm.pk}/acknowledge/")
    client.post(f"/patrols/alarms/{alarm.pk}/resolve/", {"note": "已补巡"})
    alarm.refresh_from_db()
    assert (alarm.state, alarm.note) == ("resolved", "已补巡")
    response = client.post(f"/api/v1/patrol-alarms/{alarm.pk}/resolve/", {"note": "x"},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 409 and "already resolved" in response.json()["detail"]


def test_bad_query_parameters_are_400_with_a_reason(client, district):
    sign_in(client, district["police"])
    response = client.get("/patrols/tours/?day=yesterday")
    assert response.status_code == 400 and b"2026-03-02" in response.content
    assert client.get("/api/v1/patrol-rounds/?day=2026-13-01").status_code == 400
    assert client.get("/api/v1/patrol-rounds/?status=great").status_code == 400


def test_a_plan_with_bad_round_times_is_refused_by_the_api(client, district):
    sign_in(client, district["head"])
    school = district["schools"][0]
    route = school.tour_routes.get()
    body = {"school_id": school.pk, "name": "夜巡", "route": route.pk, "round_starts": ["25:00"]}
    response = client.post("/api/v1/patrol-plans/", body, content_type="application/json")
    assert response.status_code == 400 and "not a time" in str(response.json()["round_starts"])
    body["round_starts"] = ["22:00", "02:30"]
    assert (
        client.post("/api/v1/patrol-plans/", body, content_type="application/json").status_code
        == 201
    )
    other_route = district["schools"][1].tour_routes.get()
    body["route"] = other_route.pk
    response = client.post("/api/v1/patrol-plans/", body, content_type="application/json")
    assert response.status_code == 400  # another school's route does not exist for them


def test_a_route_needs_its_own_schools_checkpoints_once_each(client, district):
    sign_in(client, district["head"])
    own, other = district["schools"]
    mine = list(own.checkpoints.values_list("pk", flat=True))
    theirs = other.checkpoints.values_list("pk", flat=True).first()
    stops = [{"checkpoint": mine[0], "position": 1}, {"checkpoint": theirs, "position": 2}]
    body = {"school_id": own.pk, "name": "新路线", "stops": stops}
    assert (
        client.post("/api/v1/patrol-routes/", body, content_type="application/json").status_code
        == 400
    )
    body["stops"][1] = {"checkpoint": mine[0], "position": 2}
    response = client.post("/api/v1/patrol-routes/", body, content_type="application/json")
    assert response.status_code == 400 and "twice" in str(response.json())
    body["stops"][1] = {"checkpoint": mine[1], "position": 2, "due_minutes": 15}
    assert (
        client.post("/api/v1/patrol-routes/", body, content_type="application/json").status_code
        == 201
    )


def test_a_gate_post_needs_known_person_types(client, district):
    sign_in(client, district["head"])
    body = {"school_id": district["schools"][0].pk, "name": "北门", "longitude": 116.3,
            "latitude": 37.45, "required": {"wizard": 1}}  # fmt: skip
    response = client.post("/api/v1/gate-posts/", body, content_type="application/json")
    assert response.status_code == 400 and "wizard" in str(response.json())
    body["required"] = {"teacher": 2, "volunteer": 1}
    assert (
        client.post("/api/v1/gate-posts/", body, content_type="application/json").status_code == 201
    )


def test_the_coverage_endpoint_reports_live_windows(client, district):
    sign_in(client, district["police"])
    data = client.get("/api/v1/gate-posts/coverage/?day=2026-03-02").json()
    arrival = [w for w in data["windows"] if w["peak"] == "arrival"]
    assert len(arrival) == 2 and {w["phase"] for w in arrival} == {"live"}
    assert {w["state"] for w in arrival} == {"empty"}


def test_exports_are_spreadsheets(client, district):
    sign_in(client, district["police"])
    for url in ("/patrols/?export=xlsx", "/patrols/tours/?export=xlsx&day=2026-03-02"):
        response = client.get(url)
        assert response.status_code == 200 and response.content.startswith(b"PK"), url


def test_the_summary_has_a_patrols_block(district, now):
    now.set(local(DAY + dt.timedelta(days=1), "12:00"))
    block = summary(School.objects.all())["patrols"]
    assert set(block) == {"posts", "post_coverage_rate", "tour_compliance_rate"}
    assert block["posts"] == 2
    assert block["tour_compliance_rate"] == 0.0  # one round planned, none walked
    assert block["post_coverage_rate"] == 0.0  # nobody checked in


def test_the_sweep_command_evaluates_a_past_day(district, capsys):
    call_command("patrol_sweep", "--day", "2026-03-02")
    assert "rounds evaluated 2" in capsys.readouterr().out


@pytest.mark.parametrize("schools", [2, 6])
def test_the_tour_and_post_pages_keep_their_query_count(
    client, now, schools, django_assert_max_num_queries
):
    station = OrganisationFactory()
    police = officer(station)
    for _ in range(schools):
        school = SchoolFactory(police_station=station, region=station.region)
        tour(school, starts=("07:00", "09:00"))
        gate_post(school, members=[(police, "police")])
    services.ensure_rounds(DAY)
    peak_posts.generate_roster(PeakPost.objects.all(), DAY, DAY)
    sign_in(client, police)
    for url in ("/patrols/", "/patrols/tours/", "/patrols/rosters/?from=2026-03-02&to=2026-03-02",
                "/patrols/alarms/"):  # fmt: skip
        with django_assert_max_num_queries(30):
            assert client.get(url).status_code == 200
