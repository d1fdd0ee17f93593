"""护学岗 check-in: the geofence and the window (with their edges), exceptions with a
note, check-out, and the coverage of a window. Through the API and the phone page."""

import datetime as dt
import json

import pytest

from campus_safety.patrols import peak_posts, services, statistics
from campus_safety.patrols.models import PeakPost, PostAssignment, PostCheckIn, SchoolTimetable
from campus_safety.patrols.post_rules import Position
from tests.factories import OrganisationFactory, SchoolFactory, UserFactory, sign_in
from tests.patrols.support import GATE, FrozenClock, gate_post, local, metres_north, officer

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)  # Monday; default arrival window 07:30–08:15


@pytest.fixture
def now(monkeypatch):
    return FrozenClock(monkeypatch, local(DAY, "07:40"))


@pytest.fixture
def post_and_officer(now):
    station = OrganisationFactory()
    school = SchoolFactory(police_station=station, region=station.region)
    police = officer(station)
    guard = UserFactory(role="guard", school=school)
    post = gate_post(school, members=[(police, "police"), (guard, "guard")])
    peak_posts.generate_roster(PeakPost.objects.filter(pk=post.pk), DAY, DAY)
    return post, police, guard


def at(metres: float = 0, accuracy: float | None = 10) -> Position:
    lon, lat = metres_north(metres)
    return Position(lon, lat, accuracy)


def test_check_in_inside_the_fence_and_the_window_is_accepted(post_and_officer):
    post, police, _guard = post_and_officer
    row = peak_posts.check_in(police, post, at(30))
    assert not row.is_exception and 29 < row.in_distance_m < 31
    assert row.assignment.peak == "arrival" and row.person_type == "police"


def test_a_location_just_outside_the_radius_is_refused_with_the_distance(post_and_officer):
    post, police, _guard = post_and_officer
    with pytest.raises(services.CheckInRefused) as refused:
        peak_posts.check_in(police, post, at(101))
    assert "101 m" in refused.value.reasons[0] and "100 m" in refused.value.reasons[0]
    assert not PostCheckIn.objects.exists()


def test_a_location_just_inside_the_radius_is_accepted(post_and_officer):
    post, police, _guard = post_and_officer
    assert peak_posts.check_in(police, post, at(99.5)).in_distance_m <= 100


@pytest.mark.parametrize(
    ("clock_at", "accepted"),
    [
        ("07:30:00", True),  # the window opens (inclusive)
        ("08:15:00", True),  # the window closes (inclusive)
    ],
)
def test_the_window_edges_count_as_inside(post_and_officer, now, clock_at, accepted):
    post, police, _guard = post_and_officer
    now.set(local(DAY, clock_at))
    assert peak_posts.check_in(police, post, at(0)).checked_in_at == now.at


@pytest.mark.parametrize(
    ("moment", "reason"),
    [(local(DAY, "07:30") - dt.timedelta(seconds=1), "opens at 07:30"),
     (local(DAY, "08:15") + dt.timedelta(seconds=1), "closed at 08:15")],
)  # fmt: skip
def test_a_second_outside_the_window_is_refused(post_and_officer, now, moment, reason):
    post, police, _guard = post_and_officer
    now.set(moment)
    with pytest.raises(services.CheckInRefused, match=reason):
        peak_posts.check_in(police, post, at(0))


def test_an_imprecise_location_is_refused(post_and_officer):
    post, police, _guard = post_and_officer
    with pytest.raises(services.CheckInRefused, match="accurate to 500 m"):
        peak_posts.check_in(police, post, at(0, accuracy=500))


def test_a_refusal_becomes_an_exception_only_with_a_note(post_and_officer):
    post, police, _guard = post_and_officer
    with pytest.raises(services.CheckInRefused):
        peak_posts.check_in(police, post, at(300), as_exception=True, note=" ")
    row = peak_posts.check_in(police, post, at(300), as_exception=True, note="在路口疏导交通")
    assert row.is_exception and "在路口疏导交通" in row.note and "geofence" in row.note


def test_someone_not_on_the_roster_cannot_check_in(post_and_officer):
    post, _police, _guard = post_and_officer
    stranger = officer()
    with pytest.raises(services.CheckInRefused, match="not on the roster"):
        peak_posts.check_in(stranger, post, at(0))


def test_checking_in_twice_is_refused_and_check_out_follows_the_rules(post_and_officer, now):
    post, police, _guard = post_and_officer
    peak_posts.check_in(police, post, at(0))
    with pytest.raises(services.CheckInRefused, match="already checked in"):
        peak_posts.check_in(police, post, at(0))
    with pytest.raises(services.CheckInRefused, match="geofence"):
        peak_posts.check_out(police, post, at(500))
    now.set(local(DAY, "08:30", 1))  # closes 08:15 + 15 min grace
    with pytest.raises(services.CheckInRefused, match="closed at 08:30"):
        peak_posts.check_out(police, post, at(0))
    now.set(local(DAY, "08:30"))
    assert peak_posts.check_out(police, post, at(0)).checked_out_at == now.at


def test_a_schools_own_timetable_sets_the_windows(now):
    school = SchoolFactory()
    SchoolTimetable.objects.create(
        school=school, class_starts_at=dt.time(7, 50), dismissal_at=dt.time(17, 0),
        arrival_lead_minutes=20, arrival_tail_minutes=10, dismissal_lead_minutes=10,
        dismissal_tail_minutes=30,
    )  # fmt: skip
    guard = UserFactory(role="guard", school=school)
    post = gate_post(school, required={"guard": 1}, members=[(guard, "guard")])
    peak_posts.generate_roster(PeakPost.objects.filter(pk=post.pk), DAY, DAY)
    windows = {a.peak: (a.starts_at, a.ends_at) for a in PostAssignment.objects.filter(post=post)}
    assert windows == {
        "arrival": (local(DAY, "07:30"), local(DAY, "08:00")),
        "dismissal": (local(DAY, "16:50"), local(DAY, "17:30")),
    }


def test_coverage_is_staffed_understaffed_or_empty_and_live_during_the_peak(post_and_officer, now):
    post, police, guard = post_and_officer
    posts = PeakPost.objects.filter(pk=post.pk)

    def arrival():
        return next(
            r for r in statistics.window_coverage(posts, DAY, now.at) if r["peak"] == "arrival"
        )

    assert (arrival()["phase"], arrival()["state"]) == ("live", "empty")
    peak_posts.check_in(police, post, at(0))
    assert arrival()["state"] == "understaffed"
    peak_posts.check_in(guard, post, at(10))
    assert arrival()["state"] == "staffed"
    now.set(local(DAY, "08:00"))
    peak_posts.check_out(guard, post, at(10))
    assert arrival()["state"] == "understaffed"  # live: the guard left
    now.set(local(DAY, "09:00"))
    assert (arrival()["phase"], arrival()["state"]) == ("closed", "staffed")  # both came


def test_the_district_rates_count_posts_and_staffed_closed_windows(post_and_officer, now):
    post, police, guard = post_and_officer
    SchoolFactory(region=post.school.region)  # a second school, no post
    peak_posts.check_in(police, post, at(0))
    peak_posts.check_in(guard, post, at(0))
    now.set(local(DAY, "18:00"))  # both windows closed; dismissal nobody came
    from campus_safety.orgs.models import School

    figures = statistics.coverage_by_district(School.objects.all(), now.at, days=1)
    assert (figures["schools"], figures["with_post"], figures["setting_rate"]) == (2, 1, 0.5)
    assert (figures["windows"], figures["staffed"], figures["empty"]) == (2, 1, 1)
    assert figures["coverage_rate"] == 0.5


def test_the_api_checks_in_and_refuses_with_reasons(client, post_and_officer):
    post, police, _guard = post_and_officer
    sign_in(client, police)
    url = f"/api/v1/gate-posts/{post.pk}/check-in/"
    lon, lat = metres_north(150)
    refused = client.post(url, {"longitude": lon, "latitude": lat}, content_type="application/json")
    assert refused.status_code == 409 and "geofence" in refused.json()["reasons"][0]
    bad = client.post(url, {"longitude": "east", "latitude": lat}, content_type="application/json")
    assert bad.status_code == 400 and "longitude" in bad.json()
    ok = client.post(url, {"longitude": GATE[0], "latitude": GATE[1], "accuracy": 8},
                     content_type="application/json")  # fmt: skip
    assert ok.status_code == 201 and ok.json()["in_distance_m"] == 0


def test_the_phone_page_answers_json_with_reasons(client, post_and_officer):
    post, _police, guard = post_and_officer
    sign_in(client, guard)
    page = client.get("/patrols/duty/")
    assert page.status_code == 200 and "南门护学岗" in page.content.decode()
    url = f"/patrols/duty/{post.pk}/check-in/"
    body = json.dumps({"latitude": GATE[1]})
    missing = client.post(url, body, content_type="application/json")
    assert missing.status_code == 400 and missing.json()["ok"] is False
    lon, lat = metres_north(20)
    body = json.dumps({"longitude": lon, "latitude": lat, "accuracy": 5})
    assert client.post(url, body, content_type="application/json").status_code == 201
