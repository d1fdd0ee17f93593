"""``campus-safety report summary`` on the full demo city: the press report's figures,
and staffing figures that a plain recount from the rows confirms."""

import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from campus_safety.accounts.models import User
from campus_safety.orgs.models import School
from campus_safety.reports.summary import summary
from campus_safety.workforce.models import Equipment, Guard
from campus_safety.workforce.staffing import get_rule, required_guards
from tests.simulator.seeding import seeded_demo_city

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def demo_city(django_db_setup, django_db_blocker):
    with seeded_demo_city(django_db_blocker) as output:
        yield output


@pytest.fixture
def report():
    out = StringIO()
    call_command("report", "summary", "--json", stdout=out)
    return json.loads(out.getvalue())


def recount():
    """Required guards and short schools from the rows, school by school, in Python."""
    rule = get_rule()
    counted = Counter(
        Guard.objects.filter(kind__in=["professional", "full_time"]).values_list(
            "school_id", flat=True
        )
    )
    required = short = 0
    for pk, students, boarders, staff in School.objects.values_list(
        "pk", "students", "boarders", "staff"
    ):
        need = required_guards(rule, students=students, boarders=boarders, staff=staff)
        required += need
        short += counted[pk] < need
    return required, short


def test_summary_counts_the_reports_2029_schools(report):
    assert report["schools"] == 2029


def test_summary_counts_the_reports_guards(report):
    assert report["guards"] == {
        "professional": 874, "full_time": 1565, "part_time": 3842, "total": 6281,
    }  # fmt: skip


def test_summary_counts_more_than_20000_pieces_of_equipment(report):
    assert report["equipment"] >= 20_000
    assert report["equipment"] == Equipment.objects.aggregate(n=Sum("quantity"))["n"]


def test_staffing_figures_equal_a_recount_from_the_rows(report):
    required, short = recount()
    assert report["staffing"]["required"] == required
    assert report["staffing"]["schools_short"] == short


def test_some_but_not_most_schools_are_short_of_guards(report):
    assert 0 < report["staffing"]["schools_short"] < 2029 / 2


def test_district_figures_add_up_to_the_city(report):
    districts = report["districts"]
    assert len(districts) == 11
    assert sum(d["schools"] for d in districts) == 2029
    assert sum(d["equipment"] for d in districts) == report["equipment"]
    assert sum(d["schools_short"] for d in districts) == report["staffing"]["schools_short"]


def test_the_education_users_summary_covers_decheng_district_only():
    edu = User.objects.get(username="edu")
    figures = summary(School.objects.visible_to(edu))
    assert [d["code"] for d in figures["districts"]] == ["371402"]
    assert figures["schools"] == School.objects.filter(region__code="371402").count()


def test_summary_counts_the_citys_cameras_and_its_722_one_key_alarms(report):
    assert report["cameras"] >= 35_600
    assert report["one_key_alarms"] == 722
    devices = report["devices"]
    assert devices["by_kind"]["camera"]["total"] == report["cameras"]
    assert sum(k["total"] for k in devices["by_kind"].values()) == devices["total"]
    assert sum(devices["by_status"].values()) == devices["total"]


def test_the_devices_online_rate_is_online_devices_out_of_all(report):
    devices = report["devices"]
    assert report["devices_online_rate"] == devices["online_rate"]
    assert devices["online_rate"] == (
        round(devices["online"] / devices["total"], 4) if devices["total"] else 0.0
    )


def test_the_education_users_device_figures_cover_their_district_only():
    from campus_safety.devices.models import Device

    edu = User.objects.get(username="edu")
    figures = summary(School.objects.visible_to(edu))
    in_district = Device.objects.filter(school__region__code="371402")
    assert figures["cameras"] == in_district.filter(kind="camera").count()
    assert figures["one_key_alarms"] == in_district.filter(kind="one_key_alarm").count() < 722
