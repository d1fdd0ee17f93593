"""``schools:search`` — what the forms' school picker asks — and ``schools:map_context``,
the schools every map draws as context: the user's scope only, short, one query."""

import pytest
from django.urls import reverse

from campus_safety.orgs.models import Organisation
from campus_safety.workforce.school_views import SEARCH_LIMIT
from tests.factories import CountyFactory, OrganisationFactory, SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(decheng):
    return OrganisationFactory(
        region=decheng, kind=Organisation.Kind.POLICE_STATION, name="新华派出所"
    )


def search(client, q, **extra):
    response = client.get(reverse("schools:search"), {"q": q, **extra})
    assert response.status_code == 200, response.content
    return response.json()


def test_finds_a_school_by_part_of_its_name_with_district_and_station(
    client, dispatcher, decheng, station
):
    school = SchoolFactory(name="德城区第四实验小学", region=decheng, police_station=station)
    SchoolFactory(name="德城区第二中学", region=decheng)
    found = search(client, "实验")
    assert found == {
        "results": [
            {
                "id": school.pk,
                "name": "德城区第四实验小学",
                "code": school.code,
                "district": "德城区",
                "station": "新华派出所",
            }
        ],
        "more": False,
    }


def test_finds_by_code_prefix_district_and_station_and_every_word_must_match(
    client, dispatcher, decheng, lingcheng, station
):
    a = SchoolFactory(name="实验小学", code="3714020001", region=decheng, police_station=station)
    b = SchoolFactory(name="实验小学", code="3714030001", region=lingcheng)
    c = SchoolFactory(name="第一中学", code="3714020002", region=decheng, police_station=station)
    ids = lambda q: sorted(r["id"] for r in search(client, q)["results"])  # noqa: E731
    assert ids("371402") == sorted([a.pk, c.pk])
    assert ids("陵城") == [b.pk]
    assert ids("新华") == sorted([a.pk, c.pk])
    assert ids("实验 德城") == [a.pk]


def test_names_that_start_with_the_text_come_first(client, dispatcher, decheng):
    inside = SchoolFactory(name="德城区实验幼儿园", region=decheng)
    starts = SchoolFactory(name="实验中学", region=decheng)
    assert [r["id"] for r in search(client, "实验")["results"]] == [starts.pk, inside.pk]


def test_answers_at_most_twenty_and_says_there_are_more(client, dispatcher, decheng):
    SchoolFactory.create_batch(SEARCH_LIMIT + 5, region=decheng)
    found = search(client, "")
    assert len(found["results"]) == SEARCH_LIMIT
    assert found["more"] is True


def schools_read(queries) -> int:
    return sum('FROM "orgs_school"' in q["sql"] for q in queries.captured_queries)


def test_every_match_for_a_campaign_and_still_only_the_scope(client, decheng, station):
    """A campaign adds every school of a district at once (all=1), no more than the scope."""
    SchoolFactory.create_batch(SEARCH_LIMIT + 5, region=decheng, police_station=station)
    SchoolFactory.create_batch(3, region=decheng)  # another station's
    sign_in(client, UserFactory(role="police_officer", organisation=station))
    found = search(client, "德城", all="1")
    assert len(found["results"]) == SEARCH_LIMIT + 5
    assert found["more"] is False


def test_one_query_for_the_schools_whatever_their_number(
    client, dispatcher, decheng, station, django_assert_max_num_queries
):
    SchoolFactory.create_batch(60, region=decheng, police_station=station)
    # besides the schools: session, user, second factor, the user's region, session touch
    with django_assert_max_num_queries(8) as queries:
        found = search(client, "测试")
    assert len(found["results"]) == SEARCH_LIMIT
    assert schools_read(queries) == 1


def test_a_police_officer_finds_only_the_stations_schools(client, decheng, station):
    mine = SchoolFactory(name="实验小学甲", region=decheng, police_station=station)
    other_station = OrganisationFactory(region=decheng, kind=Organisation.Kind.POLICE_STATION)
    SchoolFactory(name="实验小学乙", region=decheng, police_station=other_station)
    SchoolFactory(name="实验小学丙", region=CountyFactory())
    sign_in(client, UserFactory(role="police_officer", organisation=station))
    assert [r["id"] for r in search(client, "实验")["results"]] == [mine.pk]


def test_a_school_administrator_finds_only_the_own_school(client, decheng):
    mine = SchoolFactory(name="实验小学甲", region=decheng)
    SchoolFactory(name="实验小学乙", region=decheng)
    sign_in(client, UserFactory(role="school_admin", school=mine))
    assert [r["id"] for r in search(client, "实验")["results"]] == [mine.pk]


def test_too_long_a_text_is_a_400_that_says_why(client, dispatcher):
    response = client.get(reverse("schools:search"), {"q": "学" * 65})
    assert response.status_code == 400
    assert "64" in response.content.decode()


def test_a_role_without_schools_is_refused(client, city):
    sign_in(client, UserFactory(role="security_admin", region=city))
    assert client.get(reverse("schools:search"), {"q": "a"}).status_code == 403
    assert client.get(reverse("schools:map_context")).status_code == 403


def test_map_context_is_the_scopes_schools_as_short_rows(
    client, decheng, station, django_assert_max_num_queries
):
    mine = SchoolFactory(
        name="实验小学甲",
        region=decheng,
        police_station=station,
        longitude=116.301234,
        latitude=37.45,
    )
    SchoolFactory(
        name="无坐标小学", region=decheng, police_station=station, longitude=None, latitude=None
    )
    SchoolFactory(name="别处小学", region=CountyFactory())
    sign_in(client, UserFactory(role="police_officer", organisation=station))
    with django_assert_max_num_queries(8) as queries:
        response = client.get(reverse("schools:map_context"))
    assert schools_read(queries) == 1
    assert response.json() == {"schools": [[116.30123, 37.45, mine.name]]}
    assert "private" in response["Cache-Control"]
