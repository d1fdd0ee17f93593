"""A guard's day needs its school's home page, tours, posts and hazards, nothing more
(issue #14 item 4); every not-found page and every sign-in leads to the role's own
first page, which a volunteer can open too."""

import pytest
from django.conf import settings
from django.urls import reverse

from campus_safety.accounts.landing import landing_url
from campus_safety.accounts.roles import READ, can
from tests.accounts.test_landing import menu
from tests.factories import SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(decheng):
    return SchoolFactory(region=decheng, name="德城区实验小学")


def test_a_guard_reads_no_registry_device_or_staffing_figures(school):
    guard = UserFactory(role="guard", school=school)
    for resource in ("guards", "equipment", "devices"):
        assert not can(guard, READ, resource), resource
    for resource in ("schools", "patrols", "posts", "hazards"):
        assert can(guard, READ, resource), resource


def test_a_guards_menu_holds_its_day_only(client, school):
    sign_in(client, UserFactory(role="guard", school=school))
    links = menu(client.get(reverse("patrols:scan_home")).content.decode())
    assert reverse("reports:school_home", args=[school.pk]) in links
    assert reverse("hazards:list") in links
    for page in (
        "reports:overview",
        "reports:summary",
        "schools:school_list",
        "schools:map",
        "workforce:guard_list",
        "devices:device_list",
    ):
        assert reverse(page) not in links, page
    for page in (
        "reports:overview",
        "reports:summary",
        "workforce:guard_list",
        "devices:device_list",
    ):
        assert client.get(reverse(page)).status_code == 403, page
    assert client.get(reverse("reports:school_home", args=[school.pk])).status_code == 200


def test_a_school_administrator_keeps_the_school_list_and_map(client, school):
    sign_in(client, UserFactory(role="school_admin", school=school))
    links = menu(client.get(reverse("reports:school_home", args=[school.pk])).content.decode())
    assert reverse("schools:school_list") in links and reverse("schools:map") in links


def test_the_not_found_page_leads_a_volunteer_to_a_page_it_may_open(client, school, settings):
    settings.DEBUG = False
    volunteer = UserFactory(role="volunteer", school=school)
    sign_in(client, volunteer)
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    html = page.content.decode()
    assert f'href="{reverse("reports:home")}"' in html
    assert f'href="{reverse("reports:overview")}"' not in html
    followed = client.get(reverse("reports:home"), follow=True)
    assert followed.status_code == 200
    assert followed.redirect_chain[-1][0] == landing_url(volunteer)


def test_signing_in_goes_to_the_roles_first_page():
    assert reverse(settings.LOGIN_REDIRECT_URL) == reverse("reports:home")
