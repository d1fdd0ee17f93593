"""``/api/v1/guards/`` and ``/api/v1/equipment/``: scoped reads, filters and writes."""

import pytest

from campus_safety.orgs.models import Organisation
from campus_safety.workforce.models import Equipment, Guard
from tests.factories import EquipmentFactory, GuardFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
GUARDS = "/api/v1/guards/"
EQUIPMENT = "/api/v1/equipment/"


@pytest.fixture
def company(districts):
    return OrganisationFactory(
        name="德州保安服务公司",
        kind=Organisation.Kind.SECURITY_COMPANY,
        region=districts["decheng"],
    )


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_anonymous_cannot_list_guards_or_equipment(api, districts):
    assert api().get(GUARDS).status_code in (401, 403)
    assert api().get(EQUIPMENT).status_code in (401, 403)


def test_guard_rows_name_their_school_and_company(api, superuser, districts, company):
    a = districts["schools"][0]
    guard = GuardFactory(school=a, kind="professional", company=company)
    row = api(superuser).get(GUARDS).json()["results"][0]
    assert row["id"] == guard.pk
    assert row["school"] == {"id": a.pk, "code": a.code, "name": a.name}
    assert row["company"] == {"id": company.pk, "name": "德州保安服务公司"}
    assert row["is_certified"] is True


def test_guard_filters_by_kind_school_region_company_and_certificate(
    api, superuser, districts, company
):
    a, b, c = districts["schools"]
    pro = GuardFactory(school=a, kind="professional", company=company)
    part = GuardFactory(school=b, kind="part_time", certificate_number="")
    far = GuardFactory(school=c)
    client = api(superuser)
    assert ids(client.get(GUARDS, {"kind": "professional"})) == [pro.pk]
    assert ids(client.get(GUARDS, {"school": b.pk})) == [part.pk]
    assert ids(client.get(GUARDS, {"region": "371403"})) == [far.pk]
    assert ids(client.get(GUARDS, {"company": company.pk})) == [pro.pk]
    assert ids(client.get(GUARDS, {"certified": "false"})) == [part.pk]
    assert ids(client.get(GUARDS, {"q": pro.name})) == [pro.pk]


def test_police_station_officer_sees_only_guards_of_its_schools(api, districts):
    a, b, _ = districts["schools"]
    mine = GuardFactory(school=a)
    other = GuardFactory(school=b)
    officer = UserFactory(role="police_officer", organisation=districts["station"])
    assert ids(api(officer).get(GUARDS)) == [mine.pk]
    assert api(officer).get(f"{GUARDS}{other.pk}/").status_code == 404


def test_professional_guard_without_a_company_is_a_400(api, decheng_staff, districts):
    a = districts["schools"][0]
    response = api(decheng_staff).post(
        GUARDS, {"name": "张三", "kind": "professional", "school_id": a.pk}, format="json"
    )
    assert response.status_code == 400
    assert "company_id" in response.json()


def test_switching_a_guard_to_professional_needs_a_company(api, decheng_staff, districts):
    guard = GuardFactory(school=districts["schools"][0], kind="full_time")
    response = api(decheng_staff).patch(
        f"{GUARDS}{guard.pk}/", {"kind": "professional"}, format="json"
    )
    assert response.status_code == 400
    assert "company_id" in response.json()


def test_education_staff_hires_a_professional_guard(api, decheng_staff, districts, company):
    a = districts["schools"][0]
    response = api(decheng_staff).post(
        GUARDS,
        {
            "name": "张三",
            "kind": "professional",
            "school_id": a.pk,
            "company_id": company.pk,
            "hired_on": "2026-03-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Guard.objects.get(name="张三").company == company


def test_guard_cannot_be_posted_to_a_school_outside_the_scope(api, decheng_staff, districts):
    c = districts["schools"][2]
    response = api(decheng_staff).post(
        GUARDS, {"name": "李四", "kind": "full_time", "school_id": c.pk}, format="json"
    )
    assert response.status_code == 400
    assert "school_id" in response.json()
    assert not Guard.objects.filter(name="李四").exists()


def test_school_admin_manages_guards_of_their_own_school_only(api, districts):
    a, b, _ = districts["schools"]
    user = UserFactory(role="school_admin", school=a)
    client = api(user)
    created = client.post(
        GUARDS, {"name": "王五", "kind": "part_time", "school_id": a.pk}, format="json"
    )
    assert created.status_code == 201
    elsewhere = client.post(
        GUARDS, {"name": "赵六", "kind": "part_time", "school_id": b.pk}, format="json"
    )
    assert elsewhere.status_code == 400
    assert client.delete(f"{GUARDS}{created.json()['id']}/").status_code == 204


def test_guard_id_number_is_checked_and_read_back_masked(api, decheng_staff, districts):
    a = districts["schools"][0]
    client = api(decheng_staff)
    bad = client.post(
        GUARDS,
        {"name": "张三", "kind": "full_time", "school_id": a.pk, "id_number": "110105194912310021"},
        format="json",
    )
    assert bad.status_code == 400
    assert "id_number" in bad.json()
    good = client.post(
        GUARDS,
        {
            "name": "张三",
            "kind": "full_time",
            "school_id": a.pk,
            "id_number": "11010519491231002x",
            "phone": "13812345678",
        },
        format="json",
    )
    assert good.status_code == 201, good.content
    assert (good.json()["id_number"], good.json()["phone"]) == ("1101**********002X", "138****5678")
    assert Guard.objects.get(name="张三").id_number == "11010519491231002X"


def test_volunteer_may_read_schools_but_not_guards_or_equipment(api, districts):
    volunteer = UserFactory(role="volunteer", school=districts["schools"][0])
    assert api(volunteer).get("/api/v1/schools/").status_code == 200
    assert api(volunteer).get(GUARDS).status_code == 403
    assert api(volunteer).get(EQUIPMENT).status_code == 403


def test_read_only_role_cannot_add_a_guard(api, districts):
    officer = UserFactory(role="police_officer", organisation=districts["station"])
    response = api(officer).post(
        GUARDS,
        {"name": "x", "kind": "part_time", "school_id": districts["schools"][0].pk},
        format="json",
    )
    assert response.status_code == 403


def test_equipment_filters_by_kind_school_and_region(api, superuser, districts):
    a, _, c = districts["schools"]
    forks = EquipmentFactory(school=a, kind="steel_fork")
    batons = EquipmentFactory(school=c, kind="baton")
    client = api(superuser)
    assert ids(client.get(EQUIPMENT, {"kind": "steel_fork"})) == [forks.pk]
    assert ids(client.get(EQUIPMENT, {"school": c.pk})) == [batons.pk]
    assert ids(client.get(EQUIPMENT, {"region": "371402"})) == [forks.pk]


def test_equipment_is_scoped_to_the_users_schools(api, districts):
    a, _, c = districts["schools"]
    mine = EquipmentFactory(school=a)
    other = EquipmentFactory(school=c)
    user = UserFactory(role="school_admin", school=a)
    assert ids(api(user).get(EQUIPMENT)) == [mine.pk]
    assert api(user).get(f"{EQUIPMENT}{other.pk}/").status_code == 404


def test_education_staff_records_and_updates_equipment(api, decheng_staff, districts):
    a = districts["schools"][0]
    client = api(decheng_staff)
    created = client.post(
        EQUIPMENT, {"school_id": a.pk, "kind": "shield", "quantity": 2}, format="json"
    )
    assert created.status_code == 201, created.content
    updated = client.patch(f"{EQUIPMENT}{created.json()['id']}/", {"quantity": 5}, format="json")
    assert updated.status_code == 200
    assert Equipment.objects.get(school=a, kind="shield").quantity == 5


def test_a_second_row_for_the_same_kind_is_a_400(api, decheng_staff, districts):
    a = districts["schools"][0]
    EquipmentFactory(school=a, kind="shield")
    response = api(decheng_staff).post(
        EQUIPMENT, {"school_id": a.pk, "kind": "shield", "quantity": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json()


def test_negative_quantity_is_a_400(api, decheng_staff, districts):
    a = districts["schools"][0]
    response = api(decheng_staff).post(
        EQUIPMENT, {"school_id": a.pk, "kind": "helmet", "quantity": -1}, format="json"
    )
    assert response.status_code == 400
    assert "quantity" in response.json()


def test_guard_list_query_count_does_not_grow_with_rows(
    bare_api, superuser, districts, company, django_assert_max_num_queries
):
    for school in districts["schools"]:
        GuardFactory.create_batch(5, school=school, kind="professional", company=company)
    client = bare_api(superuser)
    with django_assert_max_num_queries(2):  # count + page
        assert client.get(GUARDS).json()["count"] == 15


def test_changing_equipment_to_a_kind_the_school_already_has_is_a_400(
    api, decheng_staff, districts
):
    a = districts["schools"][0]
    EquipmentFactory(school=a, kind="shield")
    helmets = EquipmentFactory(school=a, kind="helmet")
    response = api(decheng_staff).patch(
        f"{EQUIPMENT}{helmets.pk}/", {"kind": "shield"}, format="json"
    )
    assert response.status_code == 400
