"""The gate's pages: the guard's check-in (a hit reads only 请稍候，需核验), the lists
with export, pick-up release and refusal, and the police-only watch-list."""

import pytest
from django.urls import reverse

from campus_safety.audit.models import AuditEntry
from campus_safety.gate import services
from campus_safety.gate.models import Pickup, Visit, WatchlistHit
from tests.factories import sign_in
from tests.gate.conftest import WATCHED_ID, visitor

pytestmark = pytest.mark.django_db


def post_check_in(client, **overrides):
    return client.post(reverse("gate:home"), {"action": "check_in", **visitor(**overrides)})


def test_guard_checks_in_a_visitor_and_prints_a_badge(client, guard, clock):
    sign_in(client, guard)
    page = client.get(reverse("gate:home"))
    assert page.status_code == 200 and b"id_document_number" in page.content
    response = post_check_in(client)
    assert response.status_code == 200 and b"gate-result ok" in response.content
    visit = Visit.objects.get()
    badge = client.get(reverse("gate:badge", args=[visit.pk]))
    assert (
        badge.status_code == 200 and "钱多多" in badge.content.decode() and b"<svg" in badge.content
    )


def test_a_bad_check_digit_is_shown_and_nothing_stored(client, guard, clock):
    sign_in(client, guard)
    response = post_check_in(client, document_number="110105194912310021")
    assert b"gate-result bad" in response.content and b"check digit" in response.content
    assert not Visit.objects.exists()


def test_a_watch_listed_visitor_sees_only_please_wait(client, guard, entry, clock):
    sign_in(client, guard)
    response = post_check_in(client, document_number=WATCHED_ID, name="赵某某")
    text = response.content.decode()
    assert "请稍候，需核验" in text
    for word in ("watch", "Watch", "protection", "alarm", "police"):
        assert word not in text.split('id="gate-result"')[1].split("</div>")[0]
    visit = Visit.objects.get()
    assert client.get(reverse("gate:badge", args=[visit.pk])).status_code == 404
    assert WatchlistHit.objects.count() == 1


def test_invitation_page_shows_a_qr_once_and_the_gate_redeems_it(
    client, school_admin, guard, clock
):
    sign_in(client, school_admin)
    response = client.post(
        reverse("gate:invite"),
        {"name": "周先生", "purpose": "家长会", "host": "吴老师", "hours": "2"},
    )
    token = response.context["token"]
    assert b"<svg" in response.content
    sign_in(client, guard)
    redeemed = client.post(
        reverse("gate:home"),
        {"action": "invitation", "token": token, "document_number": "440524188001010014"},
    )
    assert b"gate-result ok" in redeemed.content
    again = client.post(reverse("gate:home"), {"action": "invitation", "token": token})
    assert b"already been used" in again.content


def test_lists_filter_and_export(client, guard, school_admin, education, clock):
    services.check_in(guard.school, by=guard, **visitor())
    for user in (school_admin, education):
        sign_in(client, user)
        page = client.get(reverse("gate:visits"))
        assert page.status_code == 200 and "钱**" in page.content.decode()
        assert "钱多多" not in page.content.decode()
        export = client.get(reverse("gate:visits") + "?export=xlsx")
        assert export.status_code == 200 and export["Content-Type"].startswith(
            "application/vnd.openxmlformats"
        )
    sign_in(client, guard)
    assert client.get(reverse("gate:visits") + "?export=xlsx").status_code == 403


def test_release_page_releases_and_refuses(client, guard, school_admin, clock):
    student = services.save_student(
        guard.school,
        by=school_admin,
        student_number="1",
        name="小红",
        class_name="中二班",
        class_teacher="刘老师",
    )
    mother = services.add_pickup_person(
        student, by=school_admin, name="小红妈妈", relation="mother"
    )
    sign_in(client, guard)
    page = client.get(reverse("gate:release") + f"?class=中二班&student={student.pk}")
    assert "小红妈妈" in page.content.decode()
    ok = client.post(reverse("gate:release"), {"student": student.pk, "person": mother.pk})
    assert b"gate-result ok" in ok.content
    refused = client.post(reverse("gate:release"), {"student": student.pk, "person_name": "某人"})
    assert b"gate-result bad" in refused.content
    assert list(Pickup.objects.values_list("outcome", flat=True).order_by("pk")) == [
        "released",
        "refused",
    ]
    assert client.get(reverse("gate:pickups")).status_code == 200
    sign_in(client, school_admin)
    export = client.get(reverse("gate:pickups") + "?export=xlsx")
    assert export.status_code == 200 and export["Content-Disposition"].endswith('pickups.xlsx"')


def test_pick_up_of_another_schools_student_is_not_found(
    client, other_guard, guard, school_admin, clock
):
    student = services.save_student(
        guard.school, by=school_admin, student_number="1", name="小红", class_name="中二班"
    )
    sign_in(client, other_guard)
    response = client.post(reverse("gate:release"), {"student": student.pk, "person_name": "x"})
    assert response.status_code == 404 and not Pickup.objects.exists()


def test_the_watch_list_is_police_only_and_every_read_is_audited(
    client, officer, school_admin, guard, education, entry, clock
):
    for user in (school_admin, guard, education):
        sign_in(client, user)
        assert client.get(reverse("gate:watchlist")).status_code in (403, 404)
        assert client.post(reverse("gate:reveal_entry", args=[entry.pk])).status_code in (403, 404)
    sign_in(client, officer)
    page = client.get(reverse("gate:watchlist"))
    assert page.status_code == 200 and "赵**" in page.content.decode()
    revealed = client.post(reverse("gate:reveal_entry", args=[entry.pk]))
    assert WATCHED_ID in revealed.content.decode()
    assert AuditEntry.objects.filter(action="gate.watchlist_read").count() == 2
    created = client.post(
        reverse("gate:watchlist"),
        {
            "action": "create",
            "name": "孙某",
            "reason": "risk",
            "days": "30",
            "birth_date": "1980-02-03",
        },
    )
    assert created.status_code == 302
    assert entry.__class__.objects.count() == 2


def test_the_registers_read_a_fixed_number_of_queries_whatever_their_length(
    client, guard, school_admin, officer, entry, clock
):
    """The visit and pick-up registers and the watch-list page: no query per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    student = services.save_student(
        guard.school, by=school_admin, student_number="1", name="小红", class_name="中二班"
    )
    mother = services.add_pickup_person(
        student, by=school_admin, name="小红妈妈", relation="mother"
    )

    def add_rows(count):
        for n in range(count):
            services.check_in(guard.school, by=guard, **visitor(name=f"钱{n}"))
            services.release(student, guard.school, by=guard, person=mother)
            services.release(student, guard.school, by=guard, person_name=f"某{n}")
        services.check_in(guard.school, by=guard, **visitor(document_number=WATCHED_ID))

    def queries(user, name):
        sign_in(client, user)
        with CaptureQueriesContext(connection) as seen:
            assert client.get(reverse(name)).status_code == 200
        return len(seen)

    pages = [(school_admin, "gate:visits"), (school_admin, "gate:pickups")]
    pages.append((officer, "gate:watchlist"))
    add_rows(1)
    few = [queries(user, name) for user, name in pages]
    add_rows(6)
    assert [queries(user, name) for user, name in pages] == few


def test_the_watch_list_form_keeps_entries_under_a_station_in_the_users_area(
    client, command, officer, station, clock
):
    """A command-centre user names the station: one outside their area is refused, as
    the API refuses it; an absurd number of days is capped, never a server error."""
    from campus_safety.gate.models import WatchlistEntry
    from campus_safety.orgs.models import Organisation, Region

    far = Organisation.objects.create(
        name="历下区某派出所",
        kind=Organisation.Kind.POLICE_STATION,
        region=Region.objects.create(code="370102", name="历下区", level="county"),
    )
    form = {"action": "create", "name": "孙某", "reason": "risk", "days": "99999999999"}
    sign_in(client, command)
    refused = client.post(reverse("gate:watchlist"), {**form, "station": far.pk})
    assert refused.status_code == 200 and not WatchlistEntry.objects.exists()
    assert "Choose a police station in your area." in refused.content.decode()
    created = client.post(reverse("gate:watchlist"), {**form, "station": station.pk})
    assert created.status_code == 302
    assert WatchlistEntry.objects.get().station == station
    sign_in(client, officer)  # a station's officer: always their own station
    client.post(reverse("gate:watchlist"), {**form, "station": far.pk})
    assert set(WatchlistEntry.objects.values_list("station", flat=True)) == {station.pk}
