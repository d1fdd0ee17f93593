"""Each role lands on its work (issue #14 item 2), and its menu holds only pages it may
open: the rules of accounts/landing.py and the main menu, without a browser."""

import re

import pytest
from django.urls import reverse

from campus_safety.accounts.landing import landing_url
from campus_safety.accounts.models import User
from tests.factories import (
    PASSWORD,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
    sign_in,
)

pytestmark = pytest.mark.django_db
ROLES = [role for role, _ in User.Role.choices]


@pytest.fixture
def school(decheng):
    return SchoolFactory(region=decheng, name="德城区实验小学")


def user_of(role: str, school) -> User:
    """A user of ``role`` with the scope such a user has."""
    if role in {"school_admin", "guard", "volunteer"}:
        return UserFactory(role=role, school=school)
    if role == "police_officer":
        station = OrganisationFactory(kind="police_station", region=school.region)
        return UserFactory(role=role, organisation=station)
    if role == "education_staff":
        bureau = OrganisationFactory(kind="education_bureau", region=school.region)
        return UserFactory(role=role, organisation=bureau)
    return UserFactory(role=role, region=school.region.parent)


def expected_landing(role: str, school) -> str:
    return {
        "dispatcher": reverse("alarms:wall"),
        "police_officer": reverse("alarms:wall"),
        "education_staff": reverse("reports:overview"),
        "school_admin": reverse("reports:school_home", args=[school.pk]),
        "guard": reverse("patrols:scan_home"),
        "volunteer": reverse("patrols:duty"),
        "auditor": reverse("audit:entry_list"),
        "system_admin": reverse("reports:overview"),
        "security_admin": reverse("role_table"),
    }[role]


def menu(html: str) -> list[str]:
    """The main menu's links, in order."""
    found = re.search(r'<nav class="mainnav".*?</nav>', html, re.S)
    return re.findall(r'href="([^"]+)"', found.group(0)) if found else []


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lands_on_its_work(role, school):
    assert landing_url(user_of(role, school)) == expected_landing(role, school)


def test_a_guard_signing_in_goes_to_the_scan_page(client, school):
    guard = UserFactory(role="guard", school=school, username="guard1")
    response = client.post(reverse("login"), {"username": "guard1", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("patrols:scan_home")
    assert client.get(response.url).status_code == 200
    assert landing_url(guard) == response.url


def test_a_dispatcher_goes_to_the_wall_once_past_the_second_factor(client, school):
    UserFactory(role="dispatcher", region=school.region.parent, username="desk")
    response = client.post(reverse("login"), {"username": "desk", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_setup"))
    assert "next=%2Falarms%2F" in response.url


def test_a_page_asked_for_before_signing_in_still_wins(client, school):
    UserFactory(role="guard", school=school, username="guard1")
    response = client.post(
        reverse("login"),
        {"username": "guard1", "password": PASSWORD, "next": reverse("patrols:duty")},
    )
    assert response.url == reverse("patrols:duty")


@pytest.mark.parametrize("role", ROLES)
def test_the_start_page_is_the_overview_only_for_the_roles_that_start_there(client, role, school):
    user = user_of(role, school)
    sign_in(client, user)
    response = client.get(reverse("reports:home"))
    if expected_landing(role, school) == reverse("reports:overview"):
        assert response.status_code == 200
        assert response.context["summary"]["schools"] >= 1  # the overview, rendered at /
    else:
        assert response.status_code == 302
        assert response.url == expected_landing(role, school)


def test_a_school_administrator_without_a_school_lands_on_the_overview(school):
    assert landing_url(UserFactory(role="school_admin", region=school.region)) == reverse(
        "reports:overview"
    )


def test_a_user_whose_role_reads_nothing_lands_on_the_token_page_not_a_403(school):
    """(A superuser lands on the overview.)"""
    nobody = UserFactory(role="security_admin", region=school.region)
    nobody.role = "unknown"
    assert landing_url(nobody) == reverse("tokens")
    root = UserFactory(role="security_admin", is_superuser=True)
    assert landing_url(root) == reverse("reports:overview")


@pytest.mark.parametrize("role", ROLES)
def test_every_menu_item_opens_for_the_role_that_sees_it(client, role, school):
    """The menu is the role table's: no item answers 403 (a guard saw 报警 and got 403)."""
    user = user_of(role, school)
    sign_in(client, user)
    page = client.get(landing_url(user))
    assert page.status_code == 200
    links = menu(page.content.decode())
    assert links, f"{role} has an empty menu"
    refused = [(url, client.get(url).status_code) for url in links]
    assert [r for r in refused if r[1] != 200] == []


def test_a_volunteer_gets_no_staffing_statistics(client, school):
    """Staffing figures are guard figures, which a volunteer may not read."""
    sign_in(client, UserFactory(role="volunteer", school=school))
    links = menu(client.get(reverse("patrols:duty")).content.decode())
    assert reverse("reports:overview") not in links
    assert reverse("reports:summary") not in links
    assert client.get(reverse("reports:overview")).status_code == 403
    assert client.get(reverse("reports:summary")).status_code == 403
    assert client.get(reverse("reports:summary_json")).status_code == 403


def test_a_guard_sees_no_alarm_menu_item(client, school):
    sign_in(client, UserFactory(role="guard", school=school))
    links = menu(client.get(reverse("patrols:scan_home")).content.decode())
    assert reverse("alarms:wall") not in links
    assert reverse("patrols:posts_today") in links and reverse("hazards:list") in links


def test_the_role_table_names_what_each_role_may_do_in_words(client, school):
    sign_in(client, UserFactory(role="security_admin"))
    page = client.get(reverse("role_table"))
    rows = page.context["rows"]
    assert [r["resource"] for r in rows][:2] == ["schools", "guards"]
    audit = next(r for r in rows if r["resource"] == "audit")
    by_role = {cell["role"]: [str(a) for a in cell["actions"]] for cell in audit["cells"]}
    assert by_role["auditor"] == ["读取", "导出"] and by_role["guard"] == []
