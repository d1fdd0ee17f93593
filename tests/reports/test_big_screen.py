"""The big screen's page and its two JSON parts: scoped by district, open alarms on the
map with their units, today's alarms against the targets, devices online by kind with
a 24-hour trend rebuilt from the transitions, today's 护学岗 windows."""

import datetime as dt

import pytest
from django.urls import reverse

from campus_safety.alarms.models import AlarmCase
from campus_safety.devices.models import Device, StatusChange
from campus_safety.orgs.models import School
from campus_safety.reports import screen_data
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db


def open_case(school, device, at, **kwargs):
    return AlarmCase.objects.create(
        school=school, device=device, opened_at=at, last_event_at=at, priority=1, **kwargs
    )


def test_the_page_and_its_parts_for_a_city_user(client, dispatcher, decheng, lingcheng, clock):
    now = clock.now()
    a = SchoolFactory(region=decheng, name="德城一小")
    device = DeviceFactory(school=a, status=Device.Status.ONLINE)
    acknowledged = now - dt.timedelta(minutes=2)
    open_case(a, device, now - dt.timedelta(minutes=3), acknowledged_at=acknowledged)
    SchoolFactory(region=lingcheng)
    page = client.get(reverse("reports:big_screen"))
    body = page.content.decode()
    assert page.status_code == 200 and 'id="big-screen-config"' in body and "bs-map" in body
    live = client.get(reverse("reports:big_screen_live")).json()
    assert live["alarms"]["open_count"] == 1
    assert live["alarms"]["open"][0]["school"] == "德城一小"
    assert live["alarms"]["today"]["acknowledged"] == 1
    assert live["devices"]["online"] == 1
    kpi = client.get(reverse("reports:big_screen_kpi")).json()
    assert [d["code"] for d in kpi["districts"]] == ["371402", "371403"]
    narrowed = client.get(reverse("reports:big_screen_live") + "?region=371403").json()
    assert narrowed["alarms"]["open_count"] == 0


def test_a_districts_screen_shows_its_district_only(client, decheng, lingcheng, clock):
    now = clock.now()
    other = SchoolFactory(region=lingcheng)
    open_case(other, DeviceFactory(school=other), now)
    sign_in(client, UserFactory(role="dispatcher", region=decheng))
    SchoolFactory(region=decheng)
    assert client.get(reverse("reports:big_screen_live")).json()["alarms"]["open_count"] == 0
    kpi = client.get(reverse("reports:big_screen_kpi")).json()
    assert [d["code"] for d in kpi["districts"]] == ["371402"]
    assert client.get(reverse("reports:big_screen") + "?region=371403").status_code == 404


def test_a_role_without_the_big_screen_is_refused(client, decheng):
    school = SchoolFactory(region=decheng)
    sign_in(client, UserFactory(role="school_admin", school=school))
    assert client.get(reverse("reports:big_screen")).status_code == 403


def test_the_online_trend_is_rebuilt_backwards_from_the_transitions(decheng, clock):
    school = SchoolFactory(region=decheng)
    now = clock.now()
    camera = DeviceFactory(school=school, kind=Device.Kind.CAMERA, status=Device.Status.ONLINE)
    StatusChange.objects.create(
        device=camera, at=now - dt.timedelta(hours=5), from_status="offline", to_status="online"
    )
    data = screen_data.devices_part(School.objects.all(), now)
    series = data["trend"]["series"]["camera"]
    assert len(series) == screen_data.TREND_HOURS
    assert series[-1] == 1 and series[0] == 0  # offline a day ago, online now
    assert data["by_kind"][0]["online"] == 1


def test_the_trend_is_walked_once_an_hour_not_on_every_refetch(client, dispatcher, decheng, clock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    school = SchoolFactory(region=decheng)
    now = clock.now()
    camera = DeviceFactory(school=school, kind=Device.Kind.CAMERA, status=Device.Status.ONLINE)
    StatusChange.objects.create(
        device=camera, at=now - dt.timedelta(hours=5), from_status="offline", to_status="online"
    )
    url = reverse("reports:big_screen_live")
    first = client.get(url).json()["devices"]
    with CaptureQueriesContext(connection) as again:
        second = client.get(url).json()["devices"]
    assert second == first and second["trend"]["series"]["camera"][-1] == 1
    assert not [q for q in again.captured_queries if "devices_statuschange" in q["sql"]]


def first_of(page) -> dict:
    """The figures the page was sent with (its big-screen-first script)."""
    import json
    import re

    body = page.content.decode()
    match = re.search(r'<script id="big-screen-first" type="application/json">(.*?)</script>', body)
    return json.loads(match.group(1))


def test_a_screen_with_nothing_kept_gets_its_alarms_and_fetches_each_part_alone(
    client, dispatcher, decheng, clock
):
    school = SchoolFactory(region=decheng, name="德城一小")
    device = DeviceFactory(school=school, status=Device.Status.ONLINE)
    open_case(school, device, clock.now())
    cold = first_of(client.get(reverse("reports:big_screen")))
    assert cold["live"] is None and cold["alarms"]["open_count"] == 1  # counted now
    url = reverse("reports:big_screen_live")
    whole = client.get(url).json()
    for part in ("alarms", "posts", "devices", "hazards"):
        alone = client.get(url, {"part": part}).json()
        assert set(alone) == {"generated_at", part}
        assert alone[part] == whole[part], part
    assert client.get(url, {"part": "kpi"}).status_code == 400
    warm = first_of(client.get(reverse("reports:big_screen")))
    assert warm["live"]["alarms"]["open_count"] == 1 and warm["alarms"] is None


def test_the_page_comes_with_the_last_figures_and_todays_alarms_counted_now(
    client, dispatcher, decheng, clock
):
    school = SchoolFactory(region=decheng, name="德城一小")
    device = DeviceFactory(school=school, status=Device.Status.ONLINE)
    page = reverse("reports:big_screen")
    cold = first_of(client.get(page))
    assert cold["live"] is None and cold["kpi"] is None  # never computed: the page fetches
    client.get(reverse("reports:big_screen_live"))  # a screen's refetches keep the row warm
    client.get(reverse("reports:big_screen_kpi"))
    clock.advance(seconds=20)
    open_case(school, device, clock.now())  # after the row was written
    first = first_of(client.get(page))
    assert first["live"]["devices"]["online"] == 1
    assert first["live"]["alarms"]["open_count"] == 1  # counted now, not kept
    assert first["live"]["alarms"]["open"][0]["school"] == "德城一小"
    assert 20 <= first["live_age_s"] < 30
    assert [d["code"] for d in first["kpi"]["districts"]] == ["371402"]


def test_the_periodic_job_refreshes_the_viewed_scopes_and_forgets_the_rest(
    client, dispatcher, decheng, lingcheng, clock
):
    from campus_safety.reports import screen_snapshot
    from campus_safety.reports.models import ScreenSnapshot

    school = SchoolFactory(region=decheng)
    SchoolFactory(region=lingcheng)
    client.get(reverse("reports:big_screen"))
    client.get(reverse("reports:big_screen") + "?region=371403")
    assert ScreenSnapshot.objects.count() == 2
    assert screen_snapshot.refresh_due(clock.now()) == 2
    city = ScreenSnapshot.objects.get(region_code="")
    assert city.kpi["schools"] == 2 and city.live["devices"]["total"] == 0
    DeviceFactory(school=school, status=Device.Status.ONLINE)
    clock.advance(minutes=1)
    screen_snapshot.refresh_due(clock.now())
    city.refresh_from_db()
    assert city.live["devices"]["online"] == 1
    first = first_of(client.get(reverse("reports:big_screen")))
    assert first["live"]["devices"]["online"] == 1
    # a reader moved to another district: the rows made for the old scope are dropped
    dispatcher.region = lingcheng
    dispatcher.save()
    assert screen_snapshot.refresh_due(clock.now()) == 0
    assert not ScreenSnapshot.objects.exists()
    # and a scope nobody looked at for a week is forgotten
    client.get(reverse("reports:big_screen"))
    clock.advance(days=screen_snapshot.FORGET_DAYS, seconds=1)
    screen_snapshot.refresh_due(clock.now())
    assert not ScreenSnapshot.objects.exists()


def test_a_police_only_case_stays_off_the_education_bureaus_first_paint(
    client, decheng, dispatcher, clock
):
    school = SchoolFactory(region=decheng)
    open_case(school, DeviceFactory(school=school), clock.now(), police_only=True)
    client.get(reverse("reports:big_screen"))
    client.get(reverse("reports:big_screen_live"))
    assert first_of(client.get(reverse("reports:big_screen")))["live"]["alarms"]["open_count"] == 1
    sign_in(client, UserFactory(role="education_staff", region=decheng))
    page = reverse("reports:big_screen")
    client.get(page)
    client.get(reverse("reports:big_screen_live"))
    assert first_of(client.get(page))["live"]["alarms"]["open_count"] == 0


def alert_at(school, *, status="open", recurrence=400.0, reference="YJ-1", kind="theft"):
    from campus_safety.intel.models import Alert

    day = dt.date(2026, 3, 1)
    return Alert.objects.create(
        reference=reference,
        signature=reference,
        kind=kind,
        scan_date=day,
        raised_at=dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC),
        longitude=116.3,
        latitude=37.45,
        radius_m=800,
        window_start=day - dt.timedelta(days=28),
        window_end=day,
        observed=7,
        expected=1.5,
        statistic=9.1,
        p_value=0.001,
        recurrence_days=recurrence,
        school=school,
        region=school.region,
        status=status,
    )


def test_the_screen_shows_the_open_clusters_and_the_inspection_ranking_of_its_area(
    client, dispatcher, decheng, lingcheng, clock
):
    from campus_safety.inspections.models import DailyResult

    a = SchoolFactory(region=decheng, name="德城一小", code="A1")
    b = SchoolFactory(region=decheng, name="德城二小", code="A2")
    c = SchoolFactory(region=lingcheng, name="陵城一小", code="C1")
    alert_at(a, reference="YJ-weak", recurrence=400)
    alert_at(b, reference="YJ-strong", recurrence=900, kind="")
    alert_at(b, reference="YJ-closed", status="closed")
    alert_at(c, reference="YJ-elsewhere")
    old, last = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
    for school, score in ((a, 92.0), (b, 55.0), (c, 70.0)):
        DailyResult.objects.create(school=school, day=last, ruleset="default", score=score)
    DailyResult.objects.create(school=a, day=old, ruleset="default", score=10.0)  # superseded
    kpi = client.get(reverse("reports:big_screen_kpi")).json()
    assert kpi["alerts"]["open"] == 3
    ranking = kpi["ranking"]
    assert ranking["date"] == "2026-03-02"
    assert [d["name"] for d in ranking["districts"]] == ["陵城区", "德城区"]  # 70 < 73.5
    assert ranking["districts"][1]["mean"] == 73.5
    assert [s["name"] for s in ranking["schools"]] == ["德城二小", "陵城一小", "德城一小"]
    district = client.get(reverse("reports:big_screen_kpi") + "?region=371402").json()
    clusters = district["alerts"]["clusters"]
    assert [x["reference"] for x in clusters] == ["YJ-weak", "YJ-strong"]  # shortest interval
    assert clusters[1]["kind"] == "全部类型" and clusters[1]["radius_m"] == 800
    assert clusters[0]["kind"] == "盗窃"
    assert [s["name"] for s in district["ranking"]["schools"]] == ["德城二小", "德城一小"]
