"""Every linkage page opens for the roles that may read it, in a bounded number of
queries, and refuses the others."""

import pytest
from django.urls import reverse

from campus_safety.linkage import notices
from tests.factories import sign_in
from tests.linkage.support import make_world, record

pytestmark = pytest.mark.django_db

PAGES = ["home", "rooms", "discipline", "drills", "notices", "lectures"]


@pytest.fixture
def world():
    w = make_world()
    record(w)
    notices.send_notice(
        w.bureau_staff, title="通知", body="正文", target={"regions": [w.county.code]}
    )
    return w


@pytest.mark.parametrize("who", ["officer", "bureau_staff", "contact", "dispatcher"])
def test_pages_open_for_their_readers(client, world, who, django_assert_max_num_queries):
    sign_in(client, getattr(world, who))
    for name in PAGES:
        with django_assert_max_num_queries(60):
            response = client.get(reverse(f"linkage:{name}"))
        assert response.status_code in {200, 403}, name
    assert client.get(reverse("linkage:home")).status_code == 200


def test_the_guard_has_no_linkage_pages(client, world):
    sign_in(client, world.guard)
    for name in PAGES:
        assert client.get(reverse(f"linkage:{name}")).status_code == 403, name


def test_forms_open(client, world):
    sign_in(client, world.officer)
    for name in ("discipline_new", "sealed", "joint_drill_new", "lecture_new", "notice_new"):
        assert client.get(reverse(f"linkage:{name}")).status_code == 200, name
    page = client.get(reverse("linkage:discipline_new"), {"school": world.school.pk})
    assert world.contact.username in page.content.decode()
    assert client.get(reverse("linkage:room_detail", args=[world.school.pk])).status_code == 200
    sign_in(client, world.contact)
    for name in ("drill_new", "plan_new"):
        assert client.get(reverse(f"linkage:{name}")).status_code == 200, name


def test_a_duty_log_problem_becomes_a_hazard(client, world):
    from campus_safety.hazards.models import Hazard

    sign_in(client, world.officer)
    response = client.post(
        reverse("linkage:room_detail", args=[world.school.pk]),
        {"kind": "problem", "notes": "围墙破损", "problem_title": "东侧围墙破损"},
    )
    assert response.status_code == 302
    assert Hazard.objects.filter(school=world.school, title="东侧围墙破损").exists()


def test_a_duty_log_for_a_school_without_a_police_room_is_refused(client, world):
    from campus_safety.linkage.models import DutyLog, PoliceRoom

    DutyLog.objects.filter(room__school=world.school).delete()
    PoliceRoom.objects.filter(school=world.school).delete()
    sign_in(client, world.officer)
    response = client.post(
        reverse("linkage:room_detail", args=[world.school.pk]), {"kind": "visit", "notes": "走访"}
    )
    assert response.status_code == 400
    assert not DutyLog.objects.filter(room__school=world.school).exists()
