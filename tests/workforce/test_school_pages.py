"""School pages: the list (filters, sort, pages, htmx), a school's page, the map."""

import json

import pytest
from django.urls import reverse

from campus_safety.orgs.models import Organisation, School
from tests.factories import (
    OUTLINE,
    EquipmentFactory,
    GuardFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
    sign_in,
)

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [school.name for school in response.context["page"].object_list]


def test_school_list_sends_anonymous_users_to_the_login_page(client):
    response = client.get(reverse("schools:school_list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_school_list_shows_only_the_schools_in_the_users_district(client, decheng, lingcheng):
    SchoolFactory(region=decheng, name="德城一小")
    SchoolFactory(region=lingcheng, name="陵城一小")
    sign_in(client, UserFactory(role="dispatcher", region=decheng))
    assert names(client.get(reverse("schools:school_list"))) == ["德城一小"]


def test_school_list_search_finds_a_school_by_name_or_code(client, dispatcher, decheng):
    SchoolFactory(region=decheng, name="实验小学", code="1371400901")
    SchoolFactory(region=decheng, name="第二中学", code="1371400902")
    url = reverse("schools:school_list")
    assert names(client.get(url, {"q": "实验"})) == ["实验小学"]
    assert names(client.get(url, {"q": "1371400902"})) == ["第二中学"]


def test_school_list_filters_by_district_and_kind(client, dispatcher, decheng, lingcheng):
    SchoolFactory(region=decheng, name="德城幼儿园", kind=School.Kind.KINDERGARTEN)
    SchoolFactory(region=decheng, name="德城小学", kind=School.Kind.PRIMARY)
    SchoolFactory(region=lingcheng, name="陵城幼儿园", kind=School.Kind.KINDERGARTEN)
    response = client.get(
        reverse("schools:school_list"), {"region": "371402", "kind": "kindergarten"}
    )
    assert names(response) == ["德城幼儿园"]


def test_short_of_guards_filter_keeps_only_schools_with_a_gap(client, dispatcher, decheng):
    staffed = SchoolFactory(region=decheng, name="足额学校", students=600)  # needs 2
    GuardFactory.create_batch(2, school=staffed)
    SchoolFactory(region=decheng, name="缺额学校", students=600)
    response = client.get(reverse("schools:school_list"), {"short": "true"})
    assert names(response) == ["缺额学校"]


def test_part_time_staff_do_not_close_a_gap(client, dispatcher, decheng):
    school = SchoolFactory(region=decheng, students=600)
    GuardFactory.create_batch(3, school=school, kind="part_time")
    row = client.get(reverse("schools:school_list")).context["page"].object_list[0]
    assert (row.guards_part_time, row.guards_counted, row.guard_gap) == (3, 0, 2)


def test_sorting_by_gap_descending_puts_the_largest_gap_first(client, dispatcher, decheng):
    SchoolFactory(region=decheng, name="小缺口", students=50)  # needs 1
    SchoolFactory(region=decheng, name="大缺口", students=2600)  # needs 7
    SchoolFactory(region=decheng, name="中缺口", students=600)  # needs 2
    response = client.get(reverse("schools:school_list"), {"ordering": "-guard_gap"})
    assert names(response) == ["大缺口", "中缺口", "小缺口"]


def test_clicking_the_sorted_column_again_reverses_it(client, dispatcher, decheng):
    SchoolFactory(region=decheng)
    response = client.get(reverse("schools:school_list"), {"ordering": "name", "q": "测试"})
    header = response.context["headers"]["name"]
    assert header.direction == "asc"
    assert "ordering=-name" in header.query and "q=" in header.query


def test_school_list_shows_fifty_schools_a_page_and_page_links_keep_the_filters(
    client, dispatcher, decheng
):
    SchoolFactory.create_batch(55, region=decheng)
    response = client.get(reverse("schools:school_list"), {"region": "371402", "kind": "primary"})
    assert len(response.context["page"].object_list) == 50
    assert response.context["page"].paginator.num_pages == 2
    next_page = response.context["neighbours"]["next"]
    assert "page=2" in next_page and "region=371402" in next_page and "kind=primary" in next_page
    second = client.get(reverse("schools:school_list") + next_page)
    assert len(second.context["page"].object_list) == 5


def test_an_htmx_request_gets_only_the_table(client, dispatcher, decheng):
    SchoolFactory(region=decheng, name="德城一小")
    response = client.get(
        reverse("schools:school_list"), {"q": "德城"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert 'id="school-table"' in body and "德城一小" in body
    assert "<html" not in body and 'id="school-filters"' not in body
    assert "HX-Request" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(client, dispatcher, decheng):
    response = client.get(
        reverse("schools:school_list"),
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.content.decode()


def test_school_list_query_count_does_not_grow_with_the_rows(
    client, dispatcher, decheng, django_assert_max_num_queries
):
    station = OrganisationFactory(region=decheng, kind=Organisation.Kind.POLICE_STATION)
    for school in SchoolFactory.create_batch(50, region=decheng, police_station=station):
        GuardFactory(school=school)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("schools:school_list"))
    assert len(response.context["page"].object_list) == 50


def test_school_page_shows_profile_guards_and_staffing(client, dispatcher, decheng):
    station = OrganisationFactory(region=decheng, name="新华派出所")
    school = SchoolFactory(
        region=decheng,
        name="德城实验小学",
        students=1200,
        boarders=300,
        police_station=station,
        principal_name="王校长",
        legal_vice_principal="李警官",
        has_police_room=True,
    )
    GuardFactory(
        school=school,
        name="张保安",
        kind="professional",
        company=OrganisationFactory(kind=Organisation.Kind.SECURITY_COMPANY),
    )
    EquipmentFactory(school=school, quantity=6)
    response = client.get(reverse("schools:school_detail", args=[school.pk]))
    body = response.content.decode()
    for text in ("德城实验小学", "新华派出所", "王校长", "李警官", "张保安"):
        assert text in body
    active = response.context["active"]
    # GB/T 29315-2022 counts 900 non-boarding students → 2 required; 1 counted.
    assert (active["basis"], active["required"], active["counted"], active["gap"]) == (900, 2, 1, 1)
    assert response.context["equipment_total"] == 6


def test_school_page_shows_phones_masked(client, dispatcher, decheng):
    school = SchoolFactory(region=decheng, principal_phone="13812345678")
    GuardFactory(school=school, phone="13900001111")
    body = client.get(reverse("schools:school_detail", args=[school.pk])).content.decode()
    assert "138****5678" in body and "139****1111" in body
    assert "13812345678" not in body and "13900001111" not in body


def test_school_page_compares_both_staffing_rules(client, dispatcher, decheng):
    school = SchoolFactory(region=decheng, students=1000, staff=0)
    response = client.get(reverse("schools:school_detail", args=[school.pk]), {"rule": "spec_2015"})
    rows = {row["rule"].key: row for row in response.context["staffing"]}
    # 1,000 students: "≥1000 → 3" under GB/T 29315-2022, ">1000" only under the 2015 spec.
    assert rows["spec_2015"]["is_active"] and rows["spec_2015"]["required"] == 2
    assert not rows["gbt29315_2022"]["is_active"] and rows["gbt29315_2022"]["required"] == 3


def test_another_schools_page_is_not_found_for_a_school_user(client, decheng):
    own, other = SchoolFactory(region=decheng), SchoolFactory(region=decheng)
    sign_in(client, UserFactory(role="school_admin", school=own))
    assert client.get(reverse("schools:school_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("schools:school_detail", args=[other.pk])).status_code == 404


def test_school_page_query_count_does_not_grow_with_its_guards(
    client, dispatcher, decheng, django_assert_max_num_queries
):
    school = SchoolFactory(region=decheng)
    company = OrganisationFactory(kind=Organisation.Kind.SECURITY_COMPANY)
    GuardFactory.create_batch(12, school=school, kind="professional", company=company)
    EquipmentFactory(school=school)
    with django_assert_max_num_queries(10):
        client.get(reverse("schools:school_detail", args=[school.pk]))


def test_a_role_without_read_access_to_schools_is_refused(client, city):
    sign_in(client, UserFactory(role="security_admin", region=city))
    assert client.get(reverse("schools:school_list")).status_code == 403


def test_map_data_is_geojson_with_what_a_marker_needs(client, dispatcher, decheng):
    school = SchoolFactory(
        region=decheng, name="德城一小", students=600, longitude=116.3012345, latitude=37.4512345
    )
    GuardFactory(school=school)
    SchoolFactory(region=decheng, longitude=None, latitude=None)  # nothing to draw
    response = client.get(reverse("schools:map_data"))
    assert response["Content-Type"].startswith("application/geo+json")
    data = json.loads(response.content)
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 1
    feature = data["features"][0]
    assert feature["id"] == school.pk
    assert feature["geometry"] == {"type": "Point", "coordinates": [116.30123, 37.45123]}
    assert feature["properties"] == {
        "name": "德城一小",
        "kind": "primary",
        "students": 600,
        "region": "371402",
        "gap": 1,
    }


def test_map_data_holds_only_the_users_schools(client, decheng, lingcheng):
    mine = SchoolFactory(region=decheng)
    SchoolFactory(region=lingcheng)
    station = OrganisationFactory(region=decheng, kind=Organisation.Kind.POLICE_STATION)
    mine.police_station = station
    mine.save()
    sign_in(client, UserFactory(role="police_officer", organisation=station))
    data = json.loads(client.get(reverse("schools:map_data")).content)
    assert [f["id"] for f in data["features"]] == [mine.pk]


def test_map_data_filters_by_district_and_kind(client, dispatcher, decheng, lingcheng):
    wanted = SchoolFactory(region=decheng, kind=School.Kind.KINDERGARTEN)
    SchoolFactory(region=decheng, kind=School.Kind.PRIMARY)
    SchoolFactory(region=lingcheng, kind=School.Kind.KINDERGARTEN)
    data = json.loads(
        client.get(
            reverse("schools:map_data"), {"region": "371402", "kind": "kindergarten"}
        ).content
    )
    assert [f["id"] for f in data["features"]] == [wanted.pk]


def test_map_data_takes_one_query_for_many_schools(
    client, dispatcher, decheng, django_assert_max_num_queries
):
    SchoolFactory.create_batch(40, region=decheng)
    # session, user, second factor, scope region, the points; the session save (3)
    with django_assert_max_num_queries(8):
        data = json.loads(client.get(reverse("schools:map_data")).content)
    assert len(data["features"]) == 40


def test_map_without_a_tile_url_draws_the_district_outlines(client, dispatcher, decheng, settings):
    settings.MAP_TILE_URL = ""
    SchoolFactory(region=decheng)
    config = client.get(reverse("schools:map")).context["config"]
    assert config["tiles"]["url"] == ""
    assert config["districts"] == [{"code": "371402", "name": "德城区", "outline": OUTLINE}]
    assert config["dataUrl"] == reverse("schools:map_data")


def test_map_uses_the_configured_tile_server(client, dispatcher, decheng, settings):
    settings.MAP_TILE_URL = "https://tiles.example/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "© Example"
    response = client.get(reverse("schools:map"))
    assert response.context["config"]["tiles"] == {
        "url": "https://tiles.example/{z}/{x}/{y}.png",
        "attribution": "© Example",
    }
    assert "https://tiles.example/{z}/{x}/{y}.png" in response.content.decode()


def test_every_filter_select_starts_with_all(client, dispatcher, decheng):
    SchoolFactory(region=decheng)
    form = client.get(reverse("schools:school_list")).context["filter"].form
    for name in ("region", "kind", "is_boarding", "police_station", "short"):
        assert str(form[name]).count('<option value="" selected>全部</option>') == 1, name
