"""The 4×100% board: each target on a school that meets it and on one that misses it,
the reason given, rates per district, the page, the Excel export and the trend."""

import datetime as dt

import pytest
from django.urls import reverse

from campus_safety.devices.models import Device
from campus_safety.orgs.models import School
from campus_safety.patrols import peak_posts
from campus_safety.patrols.models import PeakPost
from campus_safety.patrols.post_rules import Position
from campus_safety.reports import targets
from campus_safety.workforce.models import Equipment
from campus_safety.workforce.staffing import get_rule
from tests.devices.support import DeviceFactory
from tests.factories import EquipmentFactory, GuardFactory, SchoolFactory, UserFactory
from tests.patrols.support import FrozenClock, gate_post, metres_north, officer
from tests.patrols.support import local as patrol_local

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)  # a Monday; the default arrival window is 07:30–08:15


@pytest.fixture(autouse=True)
def in_chinese():
    """The reasons are read in the platform's language (an earlier test's request may
    have left another one active on this thread)."""
    from django.utils import translation

    with translation.override("zh-hans"):
        yield


@pytest.fixture
def now(monkeypatch):
    return FrozenClock(monkeypatch, patrol_local(DAY, "09:00"))


def board_of(*schools):
    items = targets.school_targets(
        School.objects.filter(pk__in=[s.pk for s in schools]), get_rule()
    )
    return {item.pk: item for item in items}


def kit(school, n):
    EquipmentFactory(school=school, kind=Equipment.Kind.BATON, quantity=n)
    EquipmentFactory(school=school, kind=Equipment.Kind.STAB_VEST, quantity=n)


def test_guard_staffing_needs_certified_guards_and_the_kit(decheng, now):
    good = SchoolFactory(region=decheng, students=600)  # 2 guards required
    GuardFactory.create_batch(2, school=good)
    kit(good, 2)
    uncertified = SchoolFactory(region=decheng, students=600)
    GuardFactory(school=uncertified)
    GuardFactory(school=uncertified, certificate_number="")
    kit(uncertified, 2)
    no_kit = SchoolFactory(region=decheng, students=600)
    GuardFactory.create_batch(2, school=no_kit)
    EquipmentFactory(school=no_kit, kind=Equipment.Kind.BATON, quantity=2)
    result = board_of(good, uncertified, no_kit)
    assert result[good.pk].met[targets.GUARDS]
    assert not result[uncertified.pk].met[targets.GUARDS]
    assert "持证专职保安员1名，应配2名" in result[uncertified.pk].why[targets.GUARDS]
    assert "1名无保安员证" in result[uncertified.pk].why[targets.GUARDS]
    assert not result[no_kit.pk].met[targets.GUARDS]
    assert "防刺服 0/2" in result[no_kit.pk].why[targets.GUARDS]


def test_closed_management_needs_a_gate_register(decheng, now):
    kept = SchoolFactory(region=decheng)
    DeviceFactory(school=kept, kind=Device.Kind.ACCESS_CONTROLLER, status=Device.Status.ONLINE)
    missing = SchoolFactory(region=decheng)
    DeviceFactory(school=missing, kind=Device.Kind.ACCESS_CONTROLLER, status=Device.Status.OFFLINE)
    by_source = SchoolFactory(region=decheng)
    targets.GATE_REGISTER_SOURCES.append(  # a source is given the schools as a query
        lambda schools, start, end: set(
            schools.filter(pk=by_source.pk).values_list("pk", flat=True)
        )
    )
    try:
        result = board_of(kept, missing, by_source)
    finally:
        targets.GATE_REGISTER_SOURCES.pop()
    assert result[kept.pk].met[targets.CLOSED] and result[by_source.pk].met[targets.CLOSED]
    assert not result[missing.pk].met[targets.CLOSED]
    assert "未落实门口出入登记" in result[missing.pk].why[targets.CLOSED]


def test_alarm_and_video_must_be_networked_and_online(decheng, now):
    online = Device.Status.ONLINE
    good = SchoolFactory(region=decheng)
    DeviceFactory(school=good, kind=Device.Kind.ONE_KEY_ALARM, status=online)
    DeviceFactory(school=good, kind=Device.Kind.CAMERA, status=online)
    offline_alarm = SchoolFactory(region=decheng)
    DeviceFactory(school=offline_alarm, kind=Device.Kind.ONE_KEY_ALARM, status="offline")
    DeviceFactory(school=offline_alarm, kind=Device.Kind.CAMERA, status=online)
    unapproved = SchoolFactory(region=decheng)
    DeviceFactory(school=unapproved, kind=Device.Kind.ONE_KEY_ALARM, status=online)
    DeviceFactory(school=unapproved, kind=Device.Kind.CAMERA, status=online, is_approved=False)
    result = board_of(good, offline_alarm, unapproved)
    assert result[good.pk].met[targets.NETWORKED]
    assert "一键报警装置在线0/1" in result[offline_alarm.pk].why[targets.NETWORKED]
    assert "监控摄像头未联网" in result[unapproved.pk].why[targets.NETWORKED]


def test_gate_post_coverage_needs_someone_in_every_window(decheng, now):
    covered = SchoolFactory(region=decheng)
    police = officer()
    post = gate_post(covered, members=[(police, "police")], required={"police": 1})
    PeakPost.objects.filter(pk=post.pk).update(in_service_since=DAY)  # today's window only
    peak_posts.generate_roster(PeakPost.objects.filter(pk=post.pk), DAY, DAY)
    now.set(patrol_local(DAY, "07:40"))
    peak_posts.check_in(police, post, Position(*metres_north(10), 10))
    now.set(patrol_local(DAY, "09:00"))
    empty = SchoolFactory(region=decheng)
    other = gate_post(empty, required={"police": 1})
    PeakPost.objects.filter(pk=other.pk).update(in_service_since=DAY)
    none = SchoolFactory(region=decheng)
    result = board_of(covered, empty, none)
    assert result[covered.pk].met[targets.POSTS]
    assert "1个上下学时段中有1个无人在岗" in result[empty.pk].why[targets.POSTS]
    assert "未设置护学岗" in result[none.pk].why[targets.POSTS]


def test_the_board_gives_rates_per_district_and_the_page_links_each_fix(
    client, dispatcher, decheng, lingcheng, now
):
    a = SchoolFactory(region=decheng, students=50)
    GuardFactory(school=a)
    kit(a, 1)
    SchoolFactory(region=lingcheng)
    data = targets.board(School.objects.all(), get_rule())
    rates = {d["code"]: d["rates"][targets.GUARDS] for d in data["districts"]}
    assert rates == {"371402": 1.0, "371403": 0.0} and data["rates"][targets.GUARDS] == 0.5
    response = client.get(reverse("reports:targets"))
    body = response.content.decode()
    assert response.status_code == 200 and 'id="targets-missing"' in body
    assert reverse("patrols:posts") in body  # the fix for a missing post
    xlsx = client.get(reverse("reports:targets_xlsx"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    trend = client.get(reverse("reports:targets_trend") + "?weeks=3").json()
    assert len(trend["weeks"]) == 3 and trend["weeks"][-1]["week"] == DAY.isoformat()


def test_a_district_user_sees_only_its_district(client, decheng, lingcheng, now):
    from tests.factories import sign_in

    SchoolFactory(region=decheng)
    SchoolFactory(region=lingcheng)
    sign_in(client, UserFactory(role="dispatcher", region=decheng))
    data = client.get(reverse("reports:targets_json")).json()
    assert [d["code"] for d in data["districts"]] == ["371402"] and data["schools"] == 1
    assert client.get(reverse("reports:targets") + "?region=371403").status_code == 404


def test_visitors_checked_in_at_the_gate_are_a_kept_gate_register(decheng, now):
    """The gate app's register counts (封闭化管理) without an access controller."""
    from campus_safety.gate import services as gate
    from tests.gate.conftest import visitor

    registering = SchoolFactory(region=decheng)
    silent = SchoolFactory(region=decheng)
    guard = UserFactory(role="guard", school=registering)
    now.advance(hours=-2)
    gate.check_in(registering, by=guard, **visitor())
    now.advance(hours=2)
    result = board_of(registering, silent)
    assert result[registering.pk].met[targets.CLOSED]
    assert not result[silent.pk].met[targets.CLOSED]


def test_the_board_asks_the_same_few_queries_however_many_schools(decheng, lingcheng, now):
    """Set-based: the whole city costs what two schools cost, and no list of school ids
    is sent as parameters (a city's two thousand are a subquery)."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(region, n: int) -> list[str]:
        for _i in range(n):
            school = SchoolFactory(region=region)
            gate_post(school)
            DeviceFactory(school=school, kind=Device.Kind.CAMERA, status=Device.Status.ONLINE)
        with CaptureQueriesContext(connection) as captured:
            board = targets.board(School.objects.filter(region=region), get_rule())
        assert board["schools"] == n
        return [q["sql"] for q in captured.captured_queries]

    few, many = queries(decheng, 2), queries(lingcheng, 8)
    assert len(many) == len(few)
    pks = {str(pk) for pk in School.objects.filter(region=lingcheng).values_list("pk", flat=True)}
    for sql in many:
        if "patrols_schooltimetable" in sql:
            continue  # patrols' timetables(ids) helper: its own API, a list of ids
        for listed in re.findall(r" IN \(([0-9, ]+)\)", sql):
            assert not pks <= set(listed.split(", ")), sql
