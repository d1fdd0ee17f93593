"""``/api/v1/staffing/districts/`` and ``/api/v1/reports/summary/`` figures."""

import pytest

from campus_safety.orgs.models import Organisation, School
from campus_safety.reports.summary import summary
from campus_safety.workforce.staffing import get_rule
from tests.factories import EquipmentFactory, GuardFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
DISTRICTS = "/api/v1/staffing/districts/"
SUMMARY = "/api/v1/reports/summary/"


@pytest.fixture
def staffed(districts):
    """德城区: a (600 students) has 1 full-time + 1 part-time guard → needs 2, gap 1;
    b (1,200) has 5 professional guards → needs 4, none short (its surplus does not
    cover a). 陵城区: c (50) has no guard → needs 1, gap 1."""
    a, b, c = districts["schools"]
    b.students = 1200
    b.save()
    c.students = 50
    c.save()
    company = OrganisationFactory(
        kind=Organisation.Kind.SECURITY_COMPANY, region=districts["decheng"]
    )
    GuardFactory(school=a, kind="full_time")
    GuardFactory(school=a, kind="part_time")
    GuardFactory.create_batch(5, school=b, kind="professional", company=company)
    EquipmentFactory(school=a, kind="steel_fork", quantity=2)
    EquipmentFactory(school=c, kind="baton", quantity=3)
    return districts


def test_anonymous_cannot_read_the_figures(api, districts):
    assert api().get(DISTRICTS).status_code in (401, 403)
    assert api().get(SUMMARY).status_code in (401, 403)


def test_roles_without_school_access_cannot_read_the_figures(api, staffed):
    user = UserFactory(role="security_admin", region=staffed["decheng"])
    assert api(user).get(DISTRICTS).status_code == 403
    assert api(user).get(SUMMARY).status_code == 403


def test_district_staffing_equals_a_hand_count(api, superuser, staffed):
    body = api(superuser).get(DISTRICTS).json()
    assert body == {
        "rule": "gbt29315_2022",
        "districts": [
            {
                "code": "371402",
                "name": "德城区",
                "schools": 2,
                "required": 6,
                "counted": 6,
                "gap": 1,
                "schools_short": 1,
            },
            {
                "code": "371403",
                "name": "陵城区",
                "schools": 1,
                "required": 1,
                "counted": 0,
                "gap": 1,
                "schools_short": 1,
            },
        ],
    }


def test_district_staffing_under_the_2015_rule(api, superuser, staffed):
    # staff + students: a 640 → 2, b 1,240 → 3, c 90 → 1
    body = api(superuser).get(DISTRICTS, {"rule": "spec_2015"}).json()
    assert body["rule"] == "spec_2015"
    assert [(d["required"], d["gap"]) for d in body["districts"]] == [(5, 1), (1, 1)]


def test_unknown_rule_is_a_400_with_the_choices(api, superuser, staffed):
    response = api(superuser).get(DISTRICTS, {"rule": "beijing"})
    assert response.status_code == 400
    assert "rule" in response.json()
    assert api(superuser).get(SUMMARY, {"rule": "beijing"}).status_code == 400


def test_district_staffing_is_scoped(api, staffed):
    user = UserFactory(role="education_staff", region=staffed["lingcheng"])
    body = api(user).get(DISTRICTS).json()
    assert [d["code"] for d in body["districts"]] == ["371403"]


def test_summary_is_the_report_summary_of_the_visible_schools(api, staffed):
    user = UserFactory(role="dispatcher", region=staffed["decheng"])
    body = api(user).get(SUMMARY).json()
    expected = summary(School.objects.visible_to(user), get_rule())
    body.pop("generated_at"), expected.pop("generated_at")
    assert body == expected


def test_summary_figures_for_the_city(api, superuser, staffed):
    body = api(superuser).get(SUMMARY, {"rule": "gbt29315_2022"}).json()
    assert body["schools"] == 3
    assert body["students"] == 600 + 1200 + 50
    assert body["guards"] == {"professional": 5, "full_time": 1, "part_time": 1, "total": 7}
    assert body["equipment"] == 5
    assert body["equipment_by_kind"] == {"baton": 3, "steel_fork": 2}
    assert body["staffing"] == {
        "rule": "gbt29315_2022",
        "required": 7,
        "gap": 2,
        "schools_short": 2,
    }
    assert [d["code"] for d in body["districts"]] == ["371402", "371403"]


def test_school_scoped_summary_counts_only_that_school(api, staffed):
    a = staffed["schools"][0]
    body = api(UserFactory(role="school_admin", school=a)).get(SUMMARY).json()
    assert (body["schools"], body["students"], body["staffing"]["gap"]) == (1, 600, 1)
