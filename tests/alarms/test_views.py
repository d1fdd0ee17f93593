"""The alarm console pages: the wall, a case's page and its steps, drills, statistics —
each role sees its own scope and gets only the buttons its role allows."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from campus_safety.alarms import escalation, workflow
from campus_safety.alarms.models import AlarmCase, TestWindow
from campus_safety.audit.models import AuditEntry
from tests.alarms.support import PoliceUnitFactory, send_alarm
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db
State = AlarmCase.State
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def english(settings):
    """Assert on the English msgids, whatever the Chinese catalogue says."""
    settings.LANGUAGE_CODE = "en"


def rows(html: str) -> list[int]:
    """Case ids in wall order."""
    import re

    return [int(m) for m in re.findall(r'data-case-id="(\d+)"', html)]


def wall_cases(client) -> str:
    return client.get(reverse("alarms:wall_cases")).content.decode()


# --- the wall ---


def test_the_wall_lists_open_cases_real_first_then_by_priority_then_age(
    client, clock, school, dispatcher
):
    sign_in(client, dispatcher)
    camera = DeviceFactory(school=school, kind="intrusion_detector")
    button = DeviceFactory(school=school)
    other_school = SchoolFactory(region=school.region, police_station=school.police_station)
    drill = send_alarm(DeviceFactory(school=other_school), clock, is_test=True)
    clock.advance(seconds=300)  # out of the merge window: separate cases
    low = send_alarm(camera, clock, priority=2)
    clock.advance(seconds=300)
    old_p1 = send_alarm(DeviceFactory(school=SchoolFactory(region=school.region)), clock)
    clock.advance(seconds=300)
    new_p1 = send_alarm(button, clock)
    closed = send_alarm(DeviceFactory(school=SchoolFactory(region=school.region)), clock)
    workflow.acknowledge_case(closed, by=dispatcher)
    workflow.close_case(closed, dispatcher, "误报，已核实", State.FALSE_ALARM)

    response = client.get(reverse("alarms:wall"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Command-centre alarm wall" in html
    assert rows(html) == [old_p1.pk, new_p1.pk, low.pk, drill.pk]
    assert 'id="recently-closed"' in html and f"/alarms/{closed.pk}/" in html
    points = json.loads(html.split('id="alarm-points" type="application/json">')[1].split("<")[0])
    assert {p["id"] for p in points} == {old_p1.pk, new_p1.pk, low.pk, drill.pk}
    assert html.count('class="ack-form"') == 3  # the drill needs no acknowledgement
    assert rows(wall_cases(client)) == [old_p1.pk, new_p1.pk, low.pk, drill.pk]


def test_each_console_has_its_own_wording_and_only_its_own_cases(
    client, clock, device, county, school_admin, bureau_staff
):
    mine = send_alarm(device, clock)
    elsewhere = send_alarm(DeviceFactory(school=SchoolFactory()), clock)  # another county
    sign_in(client, school_admin)
    html = client.get(reverse("alarms:wall")).content.decode()
    assert "Our school's alarms" in html
    assert rows(html) == [mine.pk]
    assert 'class="ack-form"' in html
    client.logout()
    sign_in(client, bureau_staff)
    html = client.get(reverse("alarms:wall")).content.decode()
    assert "Alarms at the schools of our county" in html and "Read only" in html
    assert rows(html) == [mine.pk] and elsewhere.pk not in rows(html)
    assert 'class="ack-form"' not in html
    assert 'id="alarm-summary"' in html  # the bureau sees the response figures


def test_a_police_station_console_says_so(client, clock, device, station):
    officer = UserFactory(role="police_officer", organisation=station)
    case = send_alarm(device, clock)
    sign_in(client, officer)
    html = client.get(reverse("alarms:wall")).content.decode()
    assert "Police-station alarm console" in html and rows(html) == [case.pk]


def test_the_banner_feed_lists_unacknowledged_real_cases_in_scope(
    client, clock, device, dispatcher, bureau_staff
):
    first = send_alarm(device, clock)
    send_alarm(DeviceFactory(school=SchoolFactory()), clock)  # out of scope
    send_alarm(DeviceFactory(school=device.school), clock, is_test=True)  # a drill
    sign_in(client, dispatcher)
    data = client.get(reverse("alarms:unacknowledged")).json()
    assert data["count"] == 1
    assert data["case"]["id"] == first.pk
    assert data["case"]["ack_url"] == reverse("alarms:acknowledge", args=[first.pk])
    client.post(reverse("alarms:acknowledge", args=[first.pk]), **HTMX)
    assert client.get(reverse("alarms:unacknowledged")).json()["count"] == 0
    client.logout()
    clock.advance(seconds=600)  # past the merge window: a new case
    second = send_alarm(DeviceFactory(school=device.school), clock)
    sign_in(client, bureau_staff)
    data = client.get(reverse("alarms:unacknowledged")).json()
    assert data["count"] == 1 and data["case"]["id"] == second.pk
    assert data["case"]["ack_url"] is None  # the bureau reads, it does not acknowledge


def test_the_navigation_and_the_banner_hook_follow_the_role(client, school, dispatcher):
    sign_in(client, dispatcher)
    html = client.get(reverse("alarms:wall")).content.decode()
    assert 'href="/alarms/"' in html and 'id="alarm-banner"' in html
    assert "campus_safety/alarm_console" in html and 'id="alarm-sound-toggle"' in html
    # Every other page of an alarm reader keeps the banner, the sound and the stream:
    # an alarm must reach a dispatcher who is looking at the school registry.
    html = client.get(reverse("schools:school_list")).content.decode()
    assert 'href="/alarms/"' in html and 'id="alarm-banner"' in html
    assert "alarm_console.js" in html and "live.js" in html and 'id="alarm-sound-toggle"' in html
    assert html.count('id="alarm-banner"') == 1
    client.logout()
    guard = UserFactory(role="guard", school=school)
    sign_in(client, guard)
    assert client.get(reverse("alarms:wall")).status_code == 403
    html = client.get(reverse("schools:school_list")).content.decode()
    assert 'id="alarm-banner"' not in html and "alarm_console.js" not in html


# --- a case, step by step ---


def test_a_dispatcher_works_a_case_from_the_pages(client, clock, device, dispatcher, unit):
    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    page = client.get(reverse("alarms:case_detail", args=[case.pk]))
    html = page.content.decode()
    assert 'id="ack-form"' in html and "王校长" in html and "13812345678" in html
    assert 'id="dispatch"' not in html  # acknowledge first

    response = client.post(reverse("alarms:acknowledge", args=[case.pk]), **HTMX)
    assert response.status_code == 204 and "alarm-refresh" in response["HX-Trigger"]
    html = client.get(reverse("alarms:case_detail", args=[case.pk])).content.decode()
    assert 'id="dispatch"' in html and f'value="{unit.pk}"' in html

    response = client.post(reverse("alarms:dispatch", args=[case.pk]), {"units": [unit.pk]})
    assert response.status_code == 302 and response.url == f"/alarms/{case.pk}/"
    clock.advance(seconds=20)
    client.post(reverse("alarms:en_route", args=[case.pk]), {"unit": unit.pk})
    clock.advance(seconds=100)
    client.post(reverse("alarms:arrive", args=[case.pk]), {"unit": unit.pk})
    case.refresh_from_db()
    assert case.state == State.ON_SCENE and not case.is_breach

    refused = client.post(
        reverse("alarms:close", args=[case.pk]), {"outcome": "resolved", "disposition": "  "}
    )
    assert refused.status_code == 400
    assert "Write what happened before closing the case." in refused.content.decode()
    case.refresh_from_db()
    assert case.closed_at is None

    done = client.post(
        reverse("alarms:close", args=[case.pk]),
        {"outcome": "resolved", "disposition": "民警到场，学生误触，已复位"},
    )
    assert done.status_code == 302
    case.refresh_from_db()
    unit.refresh_from_db()
    assert case.state == State.RESOLVED and case.closed_by == dispatcher
    assert case.disposition == "民警到场，学生误触，已复位" and unit.is_available
    sent = case.dispatches.get()
    assert 20 <= (sent.en_route_at - sent.dispatched_at).total_seconds() < 21
    assert sent.arrived_at and sent.cleared_at

    log = client.get(reverse("alarms:case_part", args=[case.pk]) + "?part=log").content.decode()
    labels = [
        "Case opened",
        "Alarm signal received",
        "Acknowledged",
        "Unit dispatched",
        "Unit en route",
        "Unit arrived",
        "On scene",
        "Closed: Resolved",
    ]
    positions = [log.index(label) for label in labels]
    assert positions == sorted(positions)
    assert log.count(dispatcher.username) >= 3  # each step names its person
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {
        "alarm.acknowledge",
        "alarm.dispatch",
        "alarm.en_route",
        "alarm.arrive",
        "alarm.close",
    }


def test_a_false_alarm_closes_without_dispatch(client, clock, device, dispatcher):
    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    client.post(reverse("alarms:acknowledge", args=[case.pk]))
    client.post(
        reverse("alarms:close", args=[case.pk]),
        {"outcome": "false_alarm", "disposition": "监控核实无异常"},
    )
    case.refresh_from_db()
    assert case.state == State.FALSE_ALARM


def test_a_drill_closes_as_a_drill(client, clock, device, dispatcher):
    case = send_alarm(device, clock, is_test=True)
    sign_in(client, dispatcher)
    html = client.get(reverse("alarms:case_detail", args=[case.pk])).content.decode()
    assert 'value="test"' in html and 'value="resolved"' not in html
    assert 'id="dispatch"' not in html
    client.post(
        reverse("alarms:close", args=[case.pk]), {"outcome": "test", "disposition": "月度测试"}
    )
    case.refresh_from_db()
    assert case.state == State.TEST and case.closed_at is not None


def test_a_second_acknowledgement_is_told_the_case_moved_on(client, clock, device, dispatcher):
    case = send_alarm(device, clock)
    other = UserFactory(role="dispatcher", region=dispatcher.region, display_name="李调度")
    workflow.acknowledge_case(case, by=other)
    sign_in(client, dispatcher)
    response = client.post(reverse("alarms:acknowledge", args=[case.pk]), **HTMX)
    assert response.status_code == 409
    assert "Acknowledged" in response.content.decode()
    response = client.post(reverse("alarms:acknowledge", args=[case.pk]), follow=True)
    assert "no longer possible" in response.content.decode()
    case.refresh_from_db()
    assert case.acknowledged_by == other


def test_dispatching_nothing_or_a_busy_unit_is_refused(client, clock, device, dispatcher, unit):
    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    client.post(reverse("alarms:acknowledge", args=[case.pk]))
    response = client.post(reverse("alarms:dispatch", args=[case.pk]), {})
    assert response.status_code == 400
    assert "Choose at least one police unit." in response.content.decode()
    unit.is_available = False
    unit.save()
    response = client.post(reverse("alarms:dispatch", args=[case.pk]), {"units": [unit.pk]})
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.state == State.ACKNOWLEDGED


def test_a_school_admin_acknowledges_own_alarms_only_and_cannot_dispatch_or_close(
    client, clock, device, school_admin, unit
):
    case = send_alarm(device, clock)
    theirs = send_alarm(DeviceFactory(school=SchoolFactory(region=device.school.region)), clock)
    sign_in(client, school_admin)
    assert client.get(reverse("alarms:case_detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("alarms:acknowledge", args=[theirs.pk])).status_code == 404
    html = client.get(reverse("alarms:case_detail", args=[case.pk])).content.decode()
    assert 'id="ack-form"' in html
    client.post(reverse("alarms:acknowledge", args=[case.pk]))
    case.refresh_from_db()
    assert case.state == State.ACKNOWLEDGED and case.acknowledged_by == school_admin
    html = client.get(reverse("alarms:case_detail", args=[case.pk])).content.decode()
    assert 'id="dispatch"' not in html and 'id="close"' not in html
    assert (
        client.post(reverse("alarms:dispatch", args=[case.pk]), {"units": [unit.pk]}).status_code
        == 403
    )
    closing = {"outcome": "resolved", "disposition": "x"}
    assert client.post(reverse("alarms:close", args=[case.pk]), closing).status_code == 403


def test_education_staff_follow_cases_read_only(client, clock, device, bureau_staff):
    case = send_alarm(device, clock)
    sign_in(client, bureau_staff)
    html = client.get(reverse("alarms:case_detail", args=[case.pk])).content.decode()
    assert 'id="ack-form"' not in html and "You follow this case" in html
    assert client.post(reverse("alarms:acknowledge", args=[case.pk])).status_code == 403
    case.refresh_from_db()
    assert case.state == State.RECEIVED


def test_the_case_page_shows_escalations_units_and_cameras(
    client, clock, device, dispatcher, station
):
    camera = DeviceFactory(
        school=device.school,
        kind="camera",
        key_area="entrance",
        name="大门摄像机",
        snapshot_url="http://192.0.2.1/snap.jpg",
    )
    PoliceUnitFactory(organisation=station, name="城区巡逻二组", longitude=116.35)
    case = send_alarm(device, clock)
    clock.advance(seconds=31)
    escalation.run_alarm_timers(clock.now())
    sign_in(client, dispatcher)
    html = client.get(reverse("alarms:case_detail", args=[case.pk])).content.decode()
    assert "Not acknowledged in time" in html and "Police sub-bureau" in html
    assert "escalated to level 1" in html
    assert camera.name in html and f'data-src="/devices/{camera.pk}/snapshot.jpg"' in html
    assert "城区巡逻二组" in html and " km" in html
    strip = client.get(reverse("alarms:case_part", args=[case.pk]) + "?part=strip")
    assert strip.status_code == 200 and "escalated to level 1" in strip.content.decode()
    actions = client.get(reverse("alarms:case_part", args=[case.pk]) + "?part=actions")
    assert 'id="ack-form"' in actions.content.decode()
    wall = wall_cases(client)  # the level it went to, in words (not "L1")
    assert "Police sub-bureau" in wall and 'title="escalated to level 1"' in wall


def test_actions_are_post_only(client, clock, device, dispatcher):
    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    for name in ("acknowledge", "dispatch", "en_route", "arrive", "close"):
        assert client.get(reverse(f"alarms:{name}", args=[case.pk])).status_code == 405


# --- drills and statistics ---


def test_a_school_admin_plans_a_drill_and_sees_untested_buttons(
    client, clock, device, school_admin
):
    sign_in(client, school_admin)
    html = client.get(reverse("alarms:drills")).content.decode()
    assert device.name in html and "1 one-key alarm not tested" in html
    now = clock.now()
    response = client.post(
        reverse("alarms:drills"),
        {
            "school": device.school_id,
            "device": device.pk,
            "starts_at": (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "reason": "月度一键报警测试",
        },
    )
    assert response.status_code == 302
    window = TestWindow.objects.get()
    assert window.created_by == school_admin and window.device == device
    bad = client.post(
        reverse("alarms:drills"),
        {
            "school": device.school_id,
            "starts_at": "2026-05-01T10:00",
            "ends_at": "2026-05-01T09:00",
            "reason": "x",
        },
    )
    assert bad.status_code == 400 and TestWindow.objects.count() == 1


def test_education_staff_read_drills_but_cannot_plan(client, device, bureau_staff):
    sign_in(client, bureau_staff)
    html = client.get(reverse("alarms:drills")).content.decode()
    assert 'id="drill-form"' not in html
    assert client.post(reverse("alarms:drills"), {"reason": "x"}).status_code == 403


def test_the_statistics_page_shows_response_times_per_district(
    client, clock, device, bureau_staff, dispatcher, unit
):
    case = send_alarm(device, clock)
    clock.advance(seconds=12)
    workflow.acknowledge_case(case, by=dispatcher)
    clock.advance(seconds=30)
    workflow.dispatch_units(case, [unit], by=dispatcher)
    clock.advance(seconds=200)
    workflow.record_arrival(case, by=dispatcher)
    workflow.close_case(case, dispatcher, "已处置", State.RESOLVED)
    sign_in(client, bureau_staff)
    response = client.get(reverse("alarms:statistics"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "德城区" in html and ">12 / 12</td>" in html and ">242 / 242</td>" in html


def test_a_police_officer_on_the_page_reports_only_their_own_stations_units(
    client, clock, device, dispatcher, unit, station, county
):
    from tests.alarms.support import station_chain

    neighbour = PoliceUnitFactory(organisation=station_chain(county))
    case = send_alarm(device, clock)
    workflow.acknowledge_case(case, by=dispatcher)
    workflow.dispatch_units(case, [unit, neighbour], by=dispatcher)
    sign_in(client, UserFactory(role="police_officer", organisation=station))
    url = reverse("alarms:arrive", args=[case.pk])
    refused = client.post(url, {"unit": neighbour.pk}, **HTMX)
    assert refused.status_code == 409 and "own police station" in refused.content.decode()
    case.refresh_from_db()
    assert case.state == State.DISPATCHED and case.arrived_at is None
    assert client.post(url, {"unit": unit.pk}, **HTMX).status_code == 204
    case.refresh_from_db()
    assert case.state == State.ON_SCENE
