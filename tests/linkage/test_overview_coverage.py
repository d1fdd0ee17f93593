"""Police-room coverage per district on the reports overview (issue #20 item 1), for the
police and the bureau; a school's own overview does not carry it."""

import pytest
from django.urls import reverse

from campus_safety.linkage import services
from campus_safety.linkage.statistics import coverage_by_district
from campus_safety.orgs.models import School
from tests.factories import SchoolFactory, sign_in
from tests.linkage.support import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    w = make_world()  # one of the two schools has a room, with no counsellor yet
    third = SchoolFactory(region=w.county, police_station=w.station, name="三小")
    services.save_police_room(w.officer, third, counsellor_name="刘法官", location="东门")
    return w


def test_the_bureau_and_the_police_see_room_coverage_on_the_overview(client, world):
    for who in ("bureau_staff", "officer"):
        sign_in(client, getattr(world, who))
        page = client.get(reverse("reports:overview"))
        assert page.status_code == 200, who
        body = page.content.decode()
        assert 'id="police-room-coverage"' in body, who
        rows = {r["code"]: r for r in page.context["room_coverage"]}
        row = rows[world.county.code]
        expected = coverage_by_district(School.objects.visible_to(getattr(world, who)))
        assert page.context["room_coverage"] == expected
        assert row["rooms"] == 2 and row["counsellors"] == 1, who


def test_the_bureau_sees_three_schools_two_rooms(client, world):
    sign_in(client, world.bureau_staff)
    row = client.get(reverse("reports:overview")).context["room_coverage"][0]
    assert (row["schools"], row["rooms"], row["counsellors"]) == (3, 2, 1)
    assert round(row["room_rate"], 3) == 0.667


def test_a_schools_overview_has_no_coverage_block(client, world):
    sign_in(client, world.contact)
    page = client.get(reverse("reports:overview"))
    assert page.status_code == 200
    assert page.context["room_coverage"] is None
    assert 'id="police-room-coverage"' not in page.content.decode()
