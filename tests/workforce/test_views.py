"""Workforce pages: guards, protective equipment and staffing compliance."""

import pytest
from django.urls import reverse

from campus_safety.orgs.models import Organisation
from campus_safety.workforce.models import Equipment
from tests.factories import (
    EquipmentFactory,
    GuardFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
    sign_in,
)

pytestmark = pytest.mark.django_db


def guard_names(response) -> list[str]:
    return [guard.name for guard in response.context["page"].object_list]


def test_guard_list_sends_anonymous_users_to_the_login_page(client):
    response = client.get(reverse("workforce:guard_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_guard_list_filters_by_kind_and_search(client, dispatcher, decheng):
    company = OrganisationFactory(kind=Organisation.Kind.SECURITY_COMPANY)
    GuardFactory(
        name="张专业", kind="professional", company=company, school=SchoolFactory(region=decheng)
    )
    GuardFactory(name="李专职", kind="full_time", school=SchoolFactory(region=decheng))
    GuardFactory(name="张兼职", kind="part_time", school=SchoolFactory(region=decheng))
    url = reverse("workforce:guard_list")
    assert guard_names(client.get(url, {"kind": "full_time"})) == ["李专职"]
    assert sorted(guard_names(client.get(url, {"q": "张"}))) == ["张专业", "张兼职"]


def test_guard_list_shows_only_the_guards_of_the_users_school(client, decheng):
    own = GuardFactory(name="本校保安", school=SchoolFactory(region=decheng))
    GuardFactory(name="外校保安", school=SchoolFactory(region=decheng))
    sign_in(client, UserFactory(role="school_admin", school=own.school))
    assert guard_names(client.get(reverse("workforce:guard_list"))) == ["本校保安"]


def test_guard_list_htmx_request_gets_only_the_table(client, dispatcher, decheng):
    GuardFactory(name="王保安", school=SchoolFactory(region=decheng))
    response = client.get(
        reverse("workforce:guard_list"), {"q": "王"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert 'id="guard-table"' in body and "王保安" in body and "<html" not in body


def test_guard_list_query_count_does_not_grow_with_the_rows(
    client, dispatcher, decheng, django_assert_max_num_queries
):
    company = OrganisationFactory(kind=Organisation.Kind.SECURITY_COMPANY)
    GuardFactory.create_batch(
        50, kind="professional", company=company, school=SchoolFactory(region=decheng)
    )
    with django_assert_max_num_queries(14):
        response = client.get(reverse("workforce:guard_list"))
    assert len(response.context["page"].object_list) == 50


def test_equipment_page_totals_pieces_by_kind_and_district(client, dispatcher, decheng, lingcheng):
    a, b = SchoolFactory(region=decheng), SchoolFactory(region=lingcheng)
    EquipmentFactory(school=a, kind=Equipment.Kind.BATON, quantity=4)
    EquipmentFactory(school=b, kind=Equipment.Kind.BATON, quantity=3)
    EquipmentFactory(school=b, kind=Equipment.Kind.SHIELD, quantity=2)
    response = client.get(reverse("workforce:equipment"))
    totals = {t["kind"]: (t["pieces"], t["schools"]) for t in response.context["totals"]}
    assert totals == {"baton": (7, 2), "shield": (2, 1)}
    rows = {row["code"]: (row["cells"], row["total"]) for row in response.context["by_district"]}
    assert rows == {"371402": ([4, 0], 4), "371403": ([3, 2], 5)}


def test_equipment_page_filters_by_district(client, dispatcher, decheng, lingcheng):
    EquipmentFactory(school=SchoolFactory(region=decheng), quantity=4)
    EquipmentFactory(school=SchoolFactory(region=lingcheng), quantity=3)
    response = client.get(reverse("workforce:equipment"), {"region": "371403"})
    assert response.context["total_pieces"] == 3


def test_staffing_page_shows_required_counted_and_gap_per_district(
    client, dispatcher, decheng, lingcheng
):
    short = SchoolFactory(region=decheng, name="缺额学校", students=1000)  # needs 3
    GuardFactory(school=short)
    GuardFactory(school=short, kind="part_time")
    full = SchoolFactory(region=lingcheng, students=50)  # needs 1
    GuardFactory(school=full)
    response = client.get(reverse("workforce:staffing"))
    rows = {
        d["code"]: (d["required"], d["counted"], d["gap"], d["schools_short"])
        for d in response.context["districts"]
    }
    assert rows == {"371402": (3, 1, 2, 1), "371403": (1, 1, 0, 0)}
    assert [s.name for s in response.context["largest_gaps"]] == ["缺额学校"]


def test_staffing_page_switches_the_rule_with_the_rule_parameter(client, dispatcher, decheng):
    SchoolFactory(region=decheng, students=1000, staff=0)
    url = reverse("workforce:staffing")
    default = client.get(url)
    spec = client.get(url, {"rule": "spec_2015"})
    assert default.context["rule"].key == "gbt29315_2022"
    assert default.context["summary"]["staffing"]["required"] == 3
    assert spec.context["rule"].key == "spec_2015"
    assert spec.context["summary"]["staffing"]["required"] == 2


def test_an_unknown_rule_is_a_bad_request_that_names_the_valid_ones(client, dispatcher):
    response = client.get(reverse("workforce:staffing"), {"rule": "nonsense"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "nonsense" in body and "gbt29315_2022" in body and "spec_2015" in body


def test_a_volunteer_may_not_open_the_guard_list(client, decheng):
    school = SchoolFactory(region=decheng)
    sign_in(client, UserFactory(role="volunteer", school=school))
    assert client.get(reverse("workforce:guard_list")).status_code == 403
    assert client.get(reverse("workforce:staffing")).status_code == 403
