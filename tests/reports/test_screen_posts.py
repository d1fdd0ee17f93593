"""The big screen's 护学岗 part is summed without loading posts as objects
(``patrol_statistics.window_summary``): it agrees window by window with the posts
page's ``window_coverage`` through a peak (upcoming, live with people coming and going,
closed), and it asks the same few queries however many posts there are."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campus_safety.orgs.models import School
from campus_safety.patrols import peak_posts
from campus_safety.patrols import statistics as patrol_statistics
from campus_safety.patrols.models import PeakPost
from campus_safety.patrols.post_rules import Position
from campus_safety.reports import screen_data
from tests.factories import OrganisationFactory, SchoolFactory, UserFactory
from tests.patrols.support import FrozenClock, gate_post, local, metres_north, officer

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)  # a Monday; default arrival window 07:30–08:15


@pytest.fixture
def now(monkeypatch):
    return FrozenClock(monkeypatch, local(DAY, "07:00"))


def _posts(n: int):
    """``n`` schools with a post each (one police officer and one guard required)."""
    made = []
    station = OrganisationFactory()
    for _ in range(n):
        school = SchoolFactory(police_station=station, region=station.region)
        police, guard = officer(station), UserFactory(role="guard", school=school)
        made.append(
            (gate_post(school, members=[(police, "police"), (guard, "guard")]), police, guard)
        )
    peak_posts.generate_roster(PeakPost.objects.all(), DAY, DAY)
    return made


def _from_rows(rows):
    """What the screen shows, summed the long way (every post loaded as an object)."""
    states, phases = {}, {}
    for r in rows:
        phases[r["phase"]] = phases.get(r["phase"], 0) + 1
        if r["state"]:
            states[r["state"]] = states.get(r["state"], 0) + 1
    live = sorted(
        (r["post"].name, r["state"], r["present_total"], r["required_total"])
        for r in rows
        if r["phase"] == patrol_statistics.LIVE
    )
    return states, phases, sum(r["present_total"] for r in rows), live


def _summed(at):
    part = screen_data.posts_part(School.objects.all(), at)
    live = sorted((p["name"], p["state"], p["present"], p["required"]) for p in part["live"])
    return part["by_state"], part["by_phase"], part["present"], live


def test_the_summary_agrees_with_each_window_through_a_peak(now):
    (a, police_a, guard_a), (b, police_b, _guard_b), _c = _posts(3)
    gate = Position(*metres_north(5), 10)
    posts = PeakPost.objects.all()

    def both():
        rows = patrol_statistics.window_coverage(posts, DAY, now.at)
        return _from_rows(rows), _summed(now.at)

    long_way, summed = both()
    assert long_way == summed and summed[1] == {"upcoming": 6}
    now.set(local(DAY, "07:40"))
    peak_posts.check_in(police_a, a, gate)
    peak_posts.check_in(guard_a, a, gate)
    peak_posts.check_in(police_b, b, gate)
    long_way, summed = both()
    assert long_way == summed
    assert summed[0] == {"staffed": 1, "understaffed": 1, "empty": 1} and summed[2] == 3
    now.set(local(DAY, "08:00"))
    peak_posts.check_out(guard_a, a, gate)  # live: the guard has left
    long_way, summed = both()
    assert long_way == summed and summed[0] == {"understaffed": 2, "empty": 1}
    now.set(local(DAY, "09:00"))  # closed: everyone who came counts
    long_way, summed = both()
    assert long_way == summed and summed[0] == {"staffed": 1, "understaffed": 1, "empty": 1}
    assert summed[3] == []  # nothing live


def test_the_summary_asks_the_same_queries_however_many_posts(now):
    now.set(local(DAY, "07:40"))
    _posts(2)
    with CaptureQueriesContext(connection) as few:
        screen_data.posts_part(School.objects.all(), now.at)
    _posts(6)
    with CaptureQueriesContext(connection) as more:
        part = screen_data.posts_part(School.objects.all(), now.at)
    assert len(more.captured_queries) == len(few.captured_queries)
    assert part["windows"] == 16 and len(part["live"]) == 8
