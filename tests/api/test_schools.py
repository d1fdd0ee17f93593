"""``/api/v1/schools/``: listing, filters, ordering, paging, detail, scope, query counts."""

import pytest

from campus_safety.accounts.tokens import create_token
from campus_safety.orgs.models import Organisation
from tests.factories import (
    EquipmentFactory,
    GuardFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/schools/"


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_anonymous_requests_are_refused(api, districts):
    assert api().get(URL).status_code in (401, 403)
    assert api().get(f"{URL}{districts['schools'][0].pk}/").status_code in (401, 403)


def test_list_rows_carry_region_police_station_and_staffing(api, superuser, districts):
    a = districts["schools"][0]
    GuardFactory(school=a, kind="full_time")
    GuardFactory(school=a, kind="part_time")
    row = next(r for r in api(superuser).get(URL).json()["results"] if r["id"] == a.pk)
    assert row["region"] == {"code": "371402", "name": "德城区"}
    assert row["police_station"] == {"id": districts["station"].pk, "name": "新华派出所"}
    assert row["guards"] == {"professional": 0, "full_time": 1, "part_time": 1, "counted": 1}
    assert (row["required_guards"], row["guard_gap"]) == (2, 1)  # 600 day students → 2


def test_list_is_ordered_by_code_by_default(api, superuser, districts):
    codes = [r["code"] for r in api(superuser).get(URL).json()["results"]]
    assert codes == sorted(codes)


def test_search_matches_name_or_code_prefix(api, superuser, districts):
    a = SchoolFactory(name="德州市实验小学", region=districts["decheng"])
    assert ids(api(superuser).get(URL, {"q": "实验"})) == [a.pk]
    assert ids(api(superuser).get(URL, {"q": a.code})) == [a.pk]


def test_region_filter_takes_a_district_code(api, superuser, districts):
    c = districts["schools"][2]
    assert ids(api(superuser).get(URL, {"region": "371403"})) == [c.pk]


def test_unknown_region_code_is_a_400_with_the_reason(api, superuser, districts):
    response = api(superuser).get(URL, {"region": "999999"})
    assert response.status_code == 400
    assert "region" in response.json()


def test_kind_filter(api, superuser, districts):
    k = SchoolFactory(kind="kindergarten", region=districts["decheng"])
    assert ids(api(superuser).get(URL, {"kind": "kindergarten"})) == [k.pk]


def test_boarding_filter(api, superuser, districts):
    boarding = SchoolFactory(is_boarding=True, boarders=100, region=districts["decheng"])
    assert ids(api(superuser).get(URL, {"is_boarding": "true"})) == [boarding.pk]


def test_police_station_filter(api, superuser, districts):
    a = districts["schools"][0]
    assert ids(api(superuser).get(URL, {"police_station": districts["station"].pk})) == [a.pk]


def test_police_room_filter(api, superuser, districts):
    with_room = SchoolFactory(has_police_room=True, region=districts["decheng"])
    assert ids(api(superuser).get(URL, {"has_police_room": "true"})) == [with_room.pk]


def test_short_filter_keeps_schools_below_their_requirement(api, superuser, districts):
    a, b, c = districts["schools"]
    for school in (a, b):
        GuardFactory.create_batch(2, school=school, kind="full_time")
    assert ids(api(superuser).get(URL, {"short": "true"})) == [c.pk]
    assert ids(api(superuser).get(URL, {"short": "false"})) == [a.pk, b.pk]


def test_ordering_by_guard_gap_puts_the_worst_staffed_first(api, superuser, districts):
    a, b, c = districts["schools"]
    big = SchoolFactory(students=2600, region=districts["decheng"])  # needs 7
    GuardFactory(school=a, kind="full_time")  # gap 1; b and c gap 2
    GuardFactory.create_batch(
        2, school=c, kind="professional", company=OrganisationFactory(kind="security_company")
    )
    rows = api(superuser).get(URL, {"ordering": "-guard_gap"}).json()["results"]
    assert [(r["id"], r["guard_gap"]) for r in rows] == [
        (big.pk, 7),
        (b.pk, 2),
        (a.pk, 1),
        (c.pk, 0),
    ]


def test_rule_parameter_switches_the_staffing_rule(api, superuser, districts):
    # GB/T 29315: 990 day students → 2; 2015 规范: 990 + 40 staff = 1030 → 3.
    SchoolFactory(students=990, staff=40, region=districts["decheng"])
    rows = api(superuser).get(URL, {"rule": "spec_2015"}).json()["results"]
    assert {r["required_guards"] for r in rows if r["students"] == 990} == {3}
    rows = api(superuser).get(URL).json()["results"]
    assert {r["required_guards"] for r in rows if r["students"] == 990} == {2}


def test_unknown_rule_is_a_400_naming_the_parameter(api, superuser, districts):
    response = api(superuser).get(URL, {"rule": "beijing"})
    assert response.status_code == 400
    assert "rule" in response.json()


def test_pages_have_count_next_previous_and_results(api, superuser, districts):
    SchoolFactory.create_batch(4, region=districts["decheng"])
    body = api(superuser).get(URL, {"page_size": 3, "page": 2}).json()
    assert body["count"] == 7
    assert len(body["results"]) == 3
    assert "page=3" in body["next"] and "page_size=3" in body["next"]
    assert body["previous"] is not None


def test_pages_do_not_repeat_or_drop_schools_with_equal_gaps(api, superuser, districts):
    SchoolFactory.create_batch(7, region=districts["decheng"])
    client = api(superuser)
    seen = []
    for page in (1, 2, 3, 4):
        seen += ids(client.get(URL, {"ordering": "guard_gap", "page_size": 3, "page": page}))
    assert sorted(seen) == sorted(ids(client.get(URL, {"page_size": 100})))


def test_default_page_size_is_50(api, superuser, districts):
    SchoolFactory.create_batch(50, region=districts["decheng"])
    assert len(api(superuser).get(URL).json()["results"]) == 50


def test_page_size_is_capped_at_500(api, superuser, districts):
    SchoolFactory.create_batch(500, region=districts["decheng"])
    body = api(superuser).get(URL, {"page_size": 10_000}).json()
    assert (body["count"], len(body["results"])) == (503, 500)


def test_detail_adds_equipment_by_kind_and_the_staffing_basis(api, superuser, districts):
    a = districts["schools"][0]
    a.boarders = 100
    a.save()
    EquipmentFactory(school=a, kind="steel_fork", quantity=2)
    EquipmentFactory(school=a, kind="stab_vest", quantity=3)
    body = api(superuser).get(f"{URL}{a.pk}/").json()
    assert body["code"] == a.code
    assert body["equipment"] == {"steel_fork": 2, "stab_vest": 3}
    assert body["staffing"]["rule"] == "gbt29315_2022"
    assert (body["staffing"]["basis"], body["staffing"]["basis_value"]) == ("day_students", 500)
    assert body["required_guards"] == 2


def test_school_scoped_user_sees_only_their_school(api, districts):
    a, b, _ = districts["schools"]
    user = UserFactory(role="school_admin", school=a)
    assert ids(api(user).get(URL)) == [a.pk]
    assert api(user).get(f"{URL}{b.pk}/").status_code == 404


def test_police_station_officer_sees_only_the_schools_it_covers(api, districts):
    a, _, c = districts["schools"]
    officer = UserFactory(role="police_officer", organisation=districts["station"])
    assert ids(api(officer).get(URL)) == [a.pk]
    assert api(officer).get(f"{URL}{c.pk}/").status_code == 404


def test_region_scoped_user_sees_their_district(api, districts):
    a, b, c = districts["schools"]
    user = UserFactory(role="dispatcher", region=districts["decheng"])
    assert ids(api(user).get(URL)) == [a.pk, b.pk]
    assert api(user).get(f"{URL}{c.pk}/").status_code == 404


def test_security_administrator_has_no_registry_access(api, districts):
    user = UserFactory(role="security_admin", region=districts["decheng"])
    assert api(user).get(URL).status_code == 403


def test_a_bearer_token_reads_the_schools_of_its_users_scope(api, districts):
    a, b, _ = districts["schools"]
    _, token = create_token(UserFactory(role="dispatcher", region=districts["decheng"]), "ci")
    response = api().get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert ids(response) == [a.pk, b.pk]


def test_user_without_a_scope_sees_no_school(api, districts):
    assert ids(api(UserFactory(role="dispatcher")).get(URL)) == []


def staffed_schools(n, region):
    company = OrganisationFactory(kind=Organisation.Kind.SECURITY_COMPANY, region=region)
    station = OrganisationFactory(kind=Organisation.Kind.POLICE_STATION, region=region)
    for school in SchoolFactory.create_batch(n, region=region, police_station=station):
        GuardFactory(school=school, kind="professional", company=company)
        GuardFactory(school=school, kind="part_time")
        EquipmentFactory(school=school)


def test_school_list_query_count_does_not_grow_with_rows(
    bare_api, superuser, districts, django_assert_max_num_queries
):
    staffed_schools(20, districts["decheng"])
    client = bare_api(superuser)
    with django_assert_max_num_queries(2):  # count + page, whatever the rows hold
        assert len(client.get(URL).json()["results"]) == 23


def test_school_detail_query_count_is_fixed(
    bare_api, superuser, districts, django_assert_max_num_queries
):
    staffed_schools(3, districts["decheng"])
    school = districts["schools"][0]
    for kind in ("shield", "helmet", "flashlight"):
        EquipmentFactory(school=school, kind=kind)
    client = bare_api(superuser)
    with django_assert_max_num_queries(2):  # school with its staffing + equipment
        assert client.get(f"{URL}{school.pk}/").status_code == 200
