"""学校首页 — a school administrator's home page (issue #14 item 2): the school's own
devices online and offline, open alarm cases, open hazards by deadline, today's tour
rounds and gate-post windows, and staffing; each block only for a role that may read
it, nothing of another school, and a query count that does not grow with the rows."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campus_safety import clock as clock_module
from campus_safety.devices.models import Device
from campus_safety.hazards.models import Hazard
from campus_safety.patrols import services as patrol_services
from tests.alarms.support import send_alarm, station_chain
from tests.devices.support import DeviceFactory
from tests.factories import GuardFactory, SchoolFactory, UserFactory, sign_in
from tests.hazards.support import internal
from tests.patrols.support import gate_post, local, tour

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)  # a Monday in term
MAX_QUERIES = 25


@pytest.fixture
def morning(clock):
    """10:00 on a school day: the 08:00 round is over, the 14:00 one still to come."""
    clock.start_at(local(DAY, "10:00"))
    return clock


def add_devices(school, online: int, offline: int, kind=Device.Kind.CAMERA) -> None:
    for n in range(online + offline):
        status = Device.Status.ONLINE if n < online else Device.Status.OFFLINE
        DeviceFactory(school=school, kind=kind, status=status, name=f"{school.name}设备{n}")


def add_hazards(school, admin, now) -> list[Hazard]:
    """Overdue, due in three days, not yet assigned (no deadline), and a closed one."""
    late, soon, fresh, done = (
        internal(admin, school, title=title)
        for title in ("围墙破损", "监控盲区", "门禁失灵", "灭火器过期")
    )
    Hazard.objects.filter(pk=late.pk).update(
        status="rectifying", deadline=now - dt.timedelta(days=1)
    )
    Hazard.objects.filter(pk=soon.pk).update(status="assigned", deadline=now + dt.timedelta(days=3))
    Hazard.objects.filter(pk=done.pk).update(status="closed", closed_at=now)
    return [late, soon, fresh, done]


@pytest.fixture
def world(morning, decheng):
    station = station_chain(decheng)
    school = SchoolFactory(
        region=decheng, police_station=station, name="德城区实验小学", students=900
    )
    other = SchoolFactory(region=decheng, police_station=station, name="德城区第二中学")
    admin = UserFactory(role="school_admin", school=school)
    add_devices(school, online=2, offline=1)
    add_devices(school, online=1, offline=0, kind=Device.Kind.ONE_KEY_ALARM)
    add_devices(other, online=0, offline=4)
    alarm_box = Device.objects.filter(school=school, kind=Device.Kind.ONE_KEY_ALARM).get()
    case = send_alarm(alarm_box, morning)
    send_alarm(DeviceFactory(school=other, name="第二中学一键报警"), morning)
    hazards = add_hazards(school, admin, morning.now())
    internal(admin, other, title="别校隐患")
    tour(school, starts=("08:00", "14:00"))
    tour(other, starts=("09:00",), codes=("X",))
    patrol_services.ensure_rounds(DAY)
    gate_post(school)
    GuardFactory.create_batch(2, school=school)
    return {"school": school, "other": other, "admin": admin, "case": case, "hazards": hazards}


def home(client, school):
    return client.get(reverse("reports:school_home", args=[school.pk]))


def test_the_school_home_shows_the_schools_own_day(client, world):
    school = world["school"]
    sign_in(client, world["admin"])
    page = home(client, school)
    assert page.status_code == 200
    devices = page.context["devices"]
    assert (devices["total"], devices["online"], devices["offline"]) == (4, 3, 1)
    html = page.content.decode()
    assert f'href="/devices/?school={school.pk}&amp;status=offline"' in html
    assert [c.pk for c in page.context["alarms"]["cases"]] == [world["case"].pk]
    late, soon, fresh, _done = world["hazards"]
    listed = page.context["hazards"]["open"]
    assert [h.pk for h in listed] == [late.pk, soon.pk, fresh.pk]  # nearest deadline first
    assert [h.overdue for h in listed] == [True, False, False]
    assert page.context["hazards"]["counts"]["overdue"] == 1
    assert (DAY - dt.timedelta(days=1)).isoformat() in html  # the overdue one's deadline
    rounds = page.context["tours"]["rounds"]
    assert [r.starts_at for r in rounds] == [local(DAY, "08:00"), local(DAY, "14:00")]
    assert [r.is_upcoming for r in rounds] == [False, True]
    posts = page.context["posts"]
    assert [w["peak"] for w in posts["windows"]] == ["arrival", "dismissal"]
    # the morning's window closed with nobody checked in; the afternoon's is still to come
    assert (posts["staffed"], posts["opened"], posts["upcoming"]) == (0, 1, 1)
    assert (school.guards.count(), page.context["school"].guards_counted) == (2, 2)
    for theirs in ("德城区第二中学", "别校隐患", "第二中学一键报警"):
        assert theirs not in html


def test_a_school_administrator_lands_on_it_and_it_links_the_school_profile(client, world):
    sign_in(client, world["admin"])
    response = client.get(reverse("reports:home"))
    assert response.url == reverse("reports:school_home", args=[world["school"].pk])
    html = client.get(response.url).content.decode()
    assert reverse("schools:school_detail", args=[world["school"].pk]) in html


def test_each_block_shows_only_for_a_role_that_may_read_it(client, world):
    school = world["school"]
    sign_in(client, UserFactory(role="volunteer", school=school))
    page = home(client, school)
    assert page.status_code == 200
    shown = {k for k in ("devices", "alarms", "hazards", "tours", "posts") if page.context[k]}
    assert shown == {"posts"}
    assert 'id="school-staffing"' not in page.content.decode()
    sign_in(client, UserFactory(role="guard", school=school))
    page = home(client, school)
    # A guard's day: tours, posts and hazards; not the devices (issue #14 item 4).
    assert page.context["alarms"] is None and page.context["devices"] is None
    assert page.context["hazards"] is not None and page.context["tours"] is not None


def test_another_schools_home_is_not_found(client, world):
    sign_in(client, world["admin"])
    assert home(client, world["other"]).status_code == 404


def test_a_police_station_opens_the_home_of_a_school_it_covers(client, world):
    officer = UserFactory(role="police_officer", organisation=world["school"].police_station)
    sign_in(client, officer)
    page = home(client, world["school"])
    assert page.status_code == 200 and page.context["alarms"]["count"] == 1


def test_the_school_home_answers_in_a_bounded_number_of_queries(
    client, world, django_assert_max_num_queries
):
    """Twice the devices, hazards, alarms and rounds: not one query more (no N+1)."""
    school, admin = world["school"], world["admin"]
    sign_in(client, admin)
    home(client, school)  # warm the session and the caches
    with CaptureQueriesContext(connection) as before:
        assert home(client, school).status_code == 200
    assert len(before) <= MAX_QUERIES  # 21 in 2026-12: session, user, school, one per figure
    add_devices(school, online=3, offline=2, kind=Device.Kind.NVR)
    add_hazards(school, admin, clock_module.now())
    for box in Device.objects.filter(school=school, kind=Device.Kind.NVR):
        send_alarm(box, clock_module)
    tour(school, starts=("11:00", "15:00", "19:00"), codes=("D", "E"))
    patrol_services.ensure_rounds(DAY)
    gate_post(school)
    with django_assert_max_num_queries(len(before)):
        assert home(client, school).status_code == 200
