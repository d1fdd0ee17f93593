"""Dashboards: the overview at city, district and school level; the summary report."""

import json

import pytest
from django.urls import reverse

from campus_safety.orgs.models import Organisation, School
from campus_safety.reports.summary import summary
from tests.factories import (
    CountyFactory,
    EquipmentFactory,
    GuardFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
    sign_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def town(city):
    """Two districts: 德城区 with two schools, 陵城区 with one."""
    decheng = CountyFactory(code="371402", name="德城区")
    lingcheng = CountyFactory(code="371403", name="陵城区")
    a = SchoolFactory(region=decheng, students=600, kind=School.Kind.PRIMARY)
    b = SchoolFactory(region=decheng, students=300, kind=School.Kind.KINDERGARTEN)
    c = SchoolFactory(region=lingcheng, students=1200, kind=School.Kind.JUNIOR)
    GuardFactory.create_batch(2, school=a)
    GuardFactory(school=c, kind="part_time")
    EquipmentFactory(school=a, quantity=5)
    return {"decheng": decheng, "lingcheng": lingcheng, "schools": (a, b, c)}


def test_overview_sends_anonymous_users_to_the_login_page(client):
    response = client.get(reverse("reports:overview"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_city_overview_shows_the_citys_figures(client, dispatcher, town):
    response = client.get(reverse("reports:overview"))
    data = response.context["summary"]
    assert response.context["level"] == "city"
    assert (data["schools"], data["students"], data["guards"]["total"]) == (3, 2100, 3)
    # 600 → 2, 300 → 2, 1,200 → 4 required; 2 counted at the first school only.
    assert (data["staffing"]["required"], data["staffing"]["gap"]) == (8, 6)
    assert [d["code"] for d in data["districts"]] == ["371402", "371403"]
    body = response.content.decode()
    assert 'data-figure="students">2,100<' in body


def test_overview_charts_get_their_data_through_json_script(client, dispatcher, town):
    body = client.get(reverse("reports:overview")).content.decode()
    assert '<script id="chart-guards" type="application/json">' in body
    assert 'data-chart="chart-gaps"' in body


def test_region_parameter_narrows_the_overview_to_one_district(client, dispatcher, town):
    response = client.get(reverse("reports:overview"), {"region": "371403"})
    assert response.context["level"] == "district"
    assert response.context["summary"]["schools"] == 1
    assert response.context["title"] == "陵城区"


def test_an_unknown_district_is_not_found(client, dispatcher, town):
    assert client.get(reverse("reports:overview"), {"region": "999999"}).status_code == 404


def test_a_district_user_sees_the_figures_of_their_district(client, town):
    sign_in(client, UserFactory(role="education_staff", region=town["decheng"]))
    data = client.get(reverse("reports:overview")).context["summary"]
    assert (data["schools"], data["students"]) == (2, 900)


def test_a_school_user_sees_their_schools_figures(client, town):
    school = town["schools"][2]
    sign_in(client, UserFactory(role="school_admin", school=school))
    response = client.get(reverse("reports:overview"))
    assert response.context["level"] == "school"
    assert response.context["title"] == school.name
    assert (response.context["summary"]["schools"], response.context["summary"]["students"]) == (
        1,
        1200,
    )


def test_summary_json_matches_the_report_command_for_the_users_scope(client, town):
    reader = UserFactory(role="education_staff", region=town["decheng"])
    sign_in(client, reader)
    data = json.loads(client.get(reverse("reports:summary_json")).content)
    expected = summary(School.objects.filter(region=town["decheng"]), reader=reader)
    data.pop("generated_at"), expected.pop("generated_at")
    assert data == expected
    assert data["gate"]["watchlist_hits_today"] is None  # a police figure


def test_summary_json_follows_the_rule_parameter(client, dispatcher, town):
    data = json.loads(client.get(reverse("reports:summary_json"), {"rule": "spec_2015"}).content)
    assert data["staffing"]["rule"] == "spec_2015"


def test_summary_report_page_prints_the_figures_and_links_the_json(client, dispatcher, town):
    response = client.get(reverse("reports:summary"))
    body = response.content.decode()
    assert reverse("reports:summary_json") in body
    assert reverse("reports:summary_xlsx") in body
    [schools] = [block for block, _ in response.context["blocks"] if block.key == "schools"]
    assert [row[0].text for row in schools.rows] == ["幼儿园", "小学", "初级中学"]
    assert "德城区" in body and "陵城区" in body


def test_pages_are_in_chinese_by_default(client, dispatcher, town):
    body = client.get(reverse("reports:overview")).content.decode()
    assert '<html lang="zh-hans">' in body
    for label in ("校园安全联动平台", "总览", "学校", "安保力量", "统计报表", "保安员缺口"):
        assert label in body


def test_pages_are_in_english_after_switching_language(client, dispatcher, town):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    body = client.get(reverse("reports:overview")).content.decode()
    assert '<html lang="en">' in body
    for label in ("Campus Safety Linkage Platform", "Overview", "Workforce", "Guard gap"):
        assert label in body
    assert "保安员缺口" not in body


def test_a_police_station_sees_the_overview_of_its_area(client, town):
    station = OrganisationFactory(kind=Organisation.Kind.POLICE_STATION, region=town["decheng"])
    school = town["schools"][0]
    school.police_station = station
    school.save()
    sign_in(client, UserFactory(role="police_officer", organisation=station))
    response = client.get(reverse("reports:overview"))
    assert response.context["level"] == "area"
    assert response.context["title"] == station.name
    assert response.context["summary"]["schools"] == 1


def test_the_navigation_appears_only_after_the_second_factor(client, city):
    user = UserFactory(role="dispatcher", region=city)
    client.force_login(user)  # password step only
    verify = client.get(reverse("two_factor_verify")).content.decode()
    assert 'class="mainnav"' not in verify
    sign_in(client, user)
    assert 'class="mainnav"' in client.get(reverse("reports:overview")).content.decode()
