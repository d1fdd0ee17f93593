"""Writing schools through ``/api/v1/schools/``: who may, and what is validated."""

import pytest

from campus_safety.orgs.models import Organisation, School
from tests.factories import GuardFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/schools/"


def new_school(**overrides):
    return {
        "code": "1371402999",
        "name": "德城区新建小学",
        "kind": "primary",
        "students": 800,
        "boarders": 0,
        "staff": 50,
        "region_code": "371402",
        **overrides,
    }


def test_education_staff_creates_a_school_in_their_district(api, decheng_staff, districts):
    response = api(decheng_staff).post(
        URL, new_school(police_station_id=districts["station"].pk), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["region"] == {"code": "371402", "name": "德城区"}
    assert body["police_station"]["id"] == districts["station"].pk
    assert (body["required_guards"], body["guard_gap"]) == (2, 2)
    assert School.objects.filter(code="1371402999").exists()


def test_school_code_must_have_ten_digits(api, decheng_staff, districts):
    response = api(decheng_staff).post(URL, new_school(code="13714"), format="json")
    assert response.status_code == 400
    assert "code" in response.json()


def test_school_code_must_be_unique(api, decheng_staff, districts):
    taken = districts["schools"][0].code
    response = api(decheng_staff).post(URL, new_school(code=taken), format="json")
    assert response.status_code == 400
    assert "code" in response.json()


def test_boarders_cannot_outnumber_students(api, decheng_staff, districts):
    response = api(decheng_staff).post(URL, new_school(students=100, boarders=101), format="json")
    assert response.status_code == 400
    assert "boarders" in response.json()


def test_partial_update_checks_boarders_against_stored_students(api, decheng_staff, districts):
    a = districts["schools"][0]  # 600 students
    response = api(decheng_staff).patch(f"{URL}{a.pk}/", {"boarders": 601}, format="json")
    assert response.status_code == 400
    assert "boarders" in response.json()


def test_region_must_be_a_known_district(api, decheng_staff, districts):
    response = api(decheng_staff).post(URL, new_school(region_code="371400"), format="json")
    assert response.status_code == 400
    assert "region_code" in response.json()


def test_police_station_must_be_a_police_station(api, decheng_staff, districts):
    bureau = decheng_staff.organisation
    response = api(decheng_staff).post(URL, new_school(police_station_id=bureau.pk), format="json")
    assert response.status_code == 400
    assert "police_station_id" in response.json()


def test_creating_a_school_outside_the_writers_scope_is_refused(api, decheng_staff, districts):
    response = api(decheng_staff).post(URL, new_school(region_code="371403"), format="json")
    assert response.status_code == 400
    assert "region_code" in response.json()
    assert not School.objects.filter(code="1371402999").exists()


def test_moving_a_school_out_of_the_writers_scope_is_refused(api, decheng_staff, districts):
    a = districts["schools"][0]
    response = api(decheng_staff).patch(f"{URL}{a.pk}/", {"region_code": "371403"}, format="json")
    assert response.status_code == 400
    a.refresh_from_db()
    assert a.region.code == "371402"


def test_updating_a_school_outside_the_scope_is_a_404(api, decheng_staff, districts):
    c = districts["schools"][2]
    response = api(decheng_staff).patch(f"{URL}{c.pk}/", {"name": "改名"}, format="json")
    assert response.status_code == 404


def test_update_returns_the_recomputed_staffing(api, decheng_staff, districts):
    a = districts["schools"][0]
    GuardFactory.create_batch(2, school=a, kind="full_time")
    response = api(decheng_staff).patch(f"{URL}{a.pk}/", {"students": 1600}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["required_guards"], response.json()["guard_gap"]) == (5, 3)


def test_read_only_roles_cannot_write(api, districts):
    officer = UserFactory(role="police_officer", organisation=districts["station"])
    a = districts["schools"][0]
    assert api(officer).patch(f"{URL}{a.pk}/", {"name": "x"}, format="json").status_code == 403
    assert api(officer).post(URL, new_school(), format="json").status_code == 403


def test_anonymous_writes_are_refused(api, districts):
    assert api().post(URL, new_school(), format="json").status_code in (401, 403)


def test_school_admin_updates_their_own_school(api, districts):
    a = districts["schools"][0]
    user = UserFactory(role="school_admin", school=a)
    response = api(user).patch(f"{URL}{a.pk}/", {"has_police_room": True}, format="json")
    assert response.status_code == 200
    a.refresh_from_db()
    assert a.has_police_room


def test_school_admin_cannot_create_a_school(api, districts):
    user = UserFactory(role="school_admin", school=districts["schools"][0])
    response = api(user).post(URL, new_school(), format="json")
    assert response.status_code == 400
    assert "region_code" in response.json()


def test_school_admin_cannot_move_their_school(api, districts):
    a = districts["schools"][0]
    user = UserFactory(role="school_admin", school=a)
    response = api(user).patch(f"{URL}{a.pk}/", {"region_code": "371403"}, format="json")
    assert response.status_code == 400
    assert "region_code" in response.json()


def test_phone_numbers_are_stored_in_full_and_read_back_masked(api, decheng_staff, districts):
    response = api(decheng_staff).post(
        URL, new_school(principal_phone="13812345678"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["principal_phone"] == "138****5678"
    assert School.objects.get(code="1371402999").principal_phone == "13812345678"


def test_superuser_deletes_a_school_with_its_guards(api, superuser, districts):
    a = districts["schools"][0]
    GuardFactory(school=a)
    assert api(superuser).delete(f"{URL}{a.pk}/").status_code == 204
    assert not School.objects.filter(pk=a.pk).exists()


def test_deleting_a_school_its_users_belong_to_is_a_409(api, superuser, districts):
    a = districts["schools"][0]
    UserFactory(role="school_admin", school=a)
    response = api(superuser).delete(f"{URL}{a.pk}/")
    assert response.status_code == 409
    assert School.objects.filter(pk=a.pk).exists()


def test_writer_scoped_to_a_police_station_cannot_hand_a_school_away(api, districts):
    a = districts["schools"][0]
    other = OrganisationFactory(kind=Organisation.Kind.POLICE_STATION, region=districts["decheng"])
    writer = UserFactory(role="education_staff", organisation=districts["station"])
    response = api(writer).patch(f"{URL}{a.pk}/", {"police_station_id": other.pk}, format="json")
    assert response.status_code == 400
    assert "police_station_id" in response.json()
    a.refresh_from_db()
    assert a.police_station == districts["station"]
