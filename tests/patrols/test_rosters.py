"""Roster generation for a term: school days only (holidays out, make-up days in), the
head-count per person type, nobody at two posts in one peak, and swaps."""

import datetime as dt

import pytest

from campus_safety.patrols import peak_posts, services
from campus_safety.patrols.models import Holiday, PeakPost, PostAssignment, Term
from tests.factories import SchoolFactory, UserFactory, sign_in
from tests.patrols.support import FrozenClock, gate_post, local, officer

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 3, 2)


@pytest.fixture
def now(monkeypatch):
    return FrozenClock(monkeypatch, local(MONDAY, "06:00"))


@pytest.fixture
def two_posts(now):
    """Two schools' posts sharing two police officers; each school has one guard."""
    police = [officer(username=f"p{n}") for n in range(2)]
    posts = []
    for n in range(2):
        school = SchoolFactory()
        guard = UserFactory(role="guard", school=school, username=f"g{n}")
        members = [(p, "police") for p in police] + [(guard, "guard")]
        posts.append(gate_post(school, members=members))
    return posts, police


def test_a_term_roster_skips_weekends_and_holidays_and_keeps_make_up_days(two_posts):
    _posts, _police = two_posts
    Holiday.objects.create(date=dt.date(2026, 3, 4), name="假日")  # Wednesday
    Holiday.objects.create(date=dt.date(2026, 3, 7), name="调休", is_school_day=True)  # Sat
    counts = peak_posts.generate_roster(
        PeakPost.objects.all(), MONDAY, dt.date(2026, 3, 8)
    )  # Mon–Sun
    days = sorted(set(PostAssignment.objects.values_list("day", flat=True)))
    assert days == [dt.date(2026, 3, d) for d in (2, 3, 5, 6, 7)]
    # 5 days × 2 posts × 2 peaks × (1 police + 1 guard)
    assert counts == {"days": 5, "posts": 2, "entries": 40, "unfilled": 0}


def test_nobody_stands_at_two_posts_in_the_same_peak_and_load_is_shared(two_posts):
    _posts, police = two_posts
    peak_posts.generate_roster(PeakPost.objects.all(), MONDAY, dt.date(2026, 3, 6))
    police_rows = PostAssignment.objects.filter(person_type="police")
    pairs = list(police_rows.values_list("user_id", "day", "peak"))
    assert len(pairs) == len(set(pairs))
    loads = sorted(police_rows.filter(user=p).count() for p in police)
    assert loads == [10, 10]


def test_a_shortage_is_reported_not_hidden(now):
    post = gate_post(required={"police": 2}, members=[(officer(), "police")])
    counts = peak_posts.generate_roster(PeakPost.objects.filter(pk=post.pk), MONDAY, MONDAY)
    assert (counts["entries"], counts["unfilled"]) == (2, 2)


def test_generating_again_keeps_rostered_days(two_posts):
    peak_posts.generate_roster(PeakPost.objects.all(), MONDAY, MONDAY)
    again = peak_posts.generate_roster(PeakPost.objects.all(), MONDAY, dt.date(2026, 3, 3))
    assert again["entries"] == 8  # only Tuesday is new
    with pytest.raises(services.PatrolError, match="on or after"):
        peak_posts.generate_roster(PeakPost.objects.all(), MONDAY, MONDAY - dt.timedelta(days=1))


def test_a_swap_keeps_who_was_rostered_first(two_posts):
    posts, police = two_posts
    peak_posts.generate_roster(PeakPost.objects.filter(pk=posts[0].pk), MONDAY, MONDAY)
    entry = PostAssignment.objects.get(post=posts[0], peak="arrival", person_type="police")
    first = entry.user
    other = next(p for p in police if p != first)
    peak_posts.swap_assignment(entry, other, by=first)
    entry.refresh_from_db()
    assert (entry.user, entry.swapped_from) == (other, first)
    with pytest.raises(services.PatrolError, match="not a member"):
        peak_posts.swap_assignment(entry, officer(), by=first)


def test_a_swap_onto_someone_busy_in_that_peak_is_refused(two_posts):
    posts, police = two_posts
    peak_posts.generate_roster(PeakPost.objects.all(), MONDAY, MONDAY)
    entry = PostAssignment.objects.get(post=posts[0], peak="arrival", person_type="police")
    busy = next(p for p in police if p != entry.user)  # at the other post
    with pytest.raises(services.PatrolError, match="already rostered"):
        peak_posts.swap_assignment(entry, busy, by=busy)


def test_the_roster_page_generates_for_a_term_and_exports(client, two_posts, now):
    posts, _police = two_posts
    Term.objects.create(name="2025–2026 第二学期", starts_on=MONDAY, ends_on=dt.date(2026, 3, 6))
    head = UserFactory(role="school_admin", school=posts[0].school)
    sign_in(client, head)
    term = Term.objects.get()
    response = client.post("/patrols/rosters/generate/", {"term": term.pk})
    assert response.status_code == 302
    assert set(PostAssignment.objects.values_list("post_id", flat=True)) == {posts[0].pk}
    page = client.get("/patrols/rosters/?from=2026-03-02&to=2026-03-06")
    assert page.status_code == 200 and page.context["page"].paginator.count == 20
    export = client.get("/patrols/rosters/?from=2026-03-02&to=2026-03-06&export=xlsx")
    assert export.status_code == 200 and export.content.startswith(b"PK")
    assert client.get("/patrols/rosters/?from=2026-03-09&to=2026-03-02").status_code == 400
    assert client.get("/patrols/rosters/?from=bad").status_code == 400
    bad = client.post("/patrols/rosters/generate/", {"from": "2026-03-02", "to": "x"})
    assert bad.status_code == 400


def test_the_api_generates_for_one_visible_school_only(client, two_posts):
    posts, _police = two_posts
    head = UserFactory(role="school_admin", school=posts[0].school)
    sign_in(client, head)
    url = "/api/v1/post-roster/generate/"
    body = {"starts_on": "2026-03-02", "ends_on": "2026-03-02", "school_id": posts[1].school_id}
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 400 and "school_id" in response.json()
    body["school_id"] = posts[0].school_id
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 201 and response.json()["entries"] == 4
    backwards = {"starts_on": "2026-03-05", "ends_on": "2026-03-02"}
    response = client.post(url, backwards, content_type="application/json")
    assert response.status_code == 400 and "on or after" in str(response.json())
