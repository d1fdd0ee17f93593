"""The alarm REST API as consoles use it: list, detail, actions, roles and scope."""

import datetime as dt

import pytest

from campus_safety.alarms.models import AlarmCase
from tests.alarms.support import send_alarm
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db
State = AlarmCase.State


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def test_a_dispatcher_acknowledges_dispatches_records_arrival_and_closes_over_the_api(
    client, clock, device, dispatcher, unit
):
    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    base = f"/api/v1/alarm-cases/{case.pk}"
    assert post(client, f"{base}/acknowledge/").json()["state"] == "acknowledged"
    assert post(client, f"{base}/dispatch/", {"units": [unit.pk]}).json()["state"] == "dispatched"
    clock.advance(seconds=15)
    assert post(client, f"{base}/en-route/", {"unit": unit.pk}).status_code == 200
    assert post(client, f"{base}/arrive/").json()["state"] == "on_scene"
    closed = post(client, f"{base}/resolve/", {"disposition": "已处置", "outcome": "resolved"})
    assert closed.status_code == 200 and closed.json()["state"] == "resolved"
    detail = client.get(f"{base}/").json()
    assert [e["step"] for e in detail["timeline"]] == [
        "opened",
        "acknowledged",
        "dispatched",
        "on_scene",
        "resolved",
    ]
    sent = detail["dispatches"][0]
    assert sent["unit"] == unit.pk and sent["en_route_at"] != sent["dispatched_at"]
    assert sent["arrived_at"] and sent["cleared_at"]


def test_an_invalid_step_is_a_409(client, clock, device, dispatcher, unit):
    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    response = post(client, f"/api/v1/alarm-cases/{case.pk}/dispatch/", {"units": [unit.pk]})
    assert response.status_code == 409


def test_closing_without_a_disposition_is_refused(client, clock, device, dispatcher):
    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    post(client, f"/api/v1/alarm-cases/{case.pk}/acknowledge/")
    response = post(client, f"/api/v1/alarm-cases/{case.pk}/resolve/", {"disposition": ""})
    assert response.status_code == 400


def test_a_school_admin_may_acknowledge_but_not_dispatch_or_close(
    client, clock, device, school_admin, unit
):
    case = send_alarm(device, clock)
    sign_in(client, school_admin)
    base = f"/api/v1/alarm-cases/{case.pk}"
    assert post(client, f"{base}/acknowledge/").status_code == 200
    assert post(client, f"{base}/dispatch/", {"units": [unit.pk]}).status_code == 403
    assert post(client, f"{base}/resolve/", {"disposition": "x"}).status_code == 403


def test_education_staff_read_cases_but_cannot_acknowledge(client, clock, device, bureau_staff):
    case = send_alarm(device, clock)
    sign_in(client, bureau_staff)
    assert client.get("/api/v1/alarm-cases/").json()["count"] == 1
    assert post(client, f"/api/v1/alarm-cases/{case.pk}/acknowledge/").status_code == 403


def test_a_school_sees_only_its_own_cases(client, clock, device, school_admin, county):
    mine = send_alarm(device, clock)
    other = send_alarm(DeviceFactory(school=SchoolFactory(region=county)), clock)
    sign_in(client, school_admin)
    ids = [c["id"] for c in client.get("/api/v1/alarm-cases/").json()["results"]]
    assert ids == [mine.pk]
    assert client.get(f"/api/v1/alarm-cases/{other.pk}/").status_code == 404
    assert post(client, f"/api/v1/alarm-cases/{other.pk}/acknowledge/").status_code == 404


def test_the_list_filters_by_state_and_open(client, clock, device, dispatcher, settings):
    settings.ALARM_MERGE_SECONDS = 0
    first = send_alarm(device, clock)
    clock.advance(seconds=1)
    send_alarm(device, clock)
    sign_in(client, dispatcher)
    post(client, f"/api/v1/alarm-cases/{first.pk}/acknowledge/")
    listed = client.get("/api/v1/alarm-cases/?state=acknowledged").json()["results"]
    assert [c["id"] for c in listed] == [first.pk]
    assert client.get("/api/v1/alarm-cases/?is_open=true").json()["count"] == 2


def test_the_case_list_query_count_does_not_grow_with_cases(
    client, clock, school, dispatcher, django_assert_max_num_queries, settings
):
    settings.ALARM_MERGE_SECONDS = 0
    for _ in range(15):
        send_alarm(DeviceFactory(school=school), clock)
        clock.advance(seconds=1)
    sign_in(client, dispatcher)
    with django_assert_max_num_queries(10):
        assert client.get("/api/v1/alarm-cases/").json()["count"] == 15


def test_the_case_detail_query_count_is_bounded(
    client, clock, device, dispatcher, station, django_assert_max_num_queries
):
    from tests.alarms.support import PoliceUnitFactory

    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    units = [PoliceUnitFactory(organisation=station) for _ in range(4)]
    post(client, f"/api/v1/alarm-cases/{case.pk}/acknowledge/")
    post(client, f"/api/v1/alarm-cases/{case.pk}/dispatch/", {"units": [u.pk for u in units]})
    with django_assert_max_num_queries(16):
        assert client.get(f"/api/v1/alarm-cases/{case.pk}/").status_code == 200


def test_a_school_admin_schedules_a_drill_for_its_own_school_only(
    client, clock, school, school_admin, county
):
    sign_in(client, school_admin)
    now = clock.now()
    body = {
        "school": school.pk,
        "starts_at": now.isoformat(),
        "ends_at": (now + dt.timedelta(hours=1)).isoformat(),
        "reason": "月度一键报警测试",
    }
    assert post(client, "/api/v1/test-windows/", body).status_code == 201
    other = SchoolFactory(region=county)
    assert post(client, "/api/v1/test-windows/", {**body, "school": other.pk}).status_code == 400


def test_police_units_are_listed_for_dispatchers_only(client, unit, dispatcher, school_admin):
    sign_in(client, dispatcher)
    assert client.get("/api/v1/police-units/").json()["count"] == 1
    sign_in(client, school_admin)
    assert client.get("/api/v1/police-units/").status_code == 403


def test_statistics_leave_drills_out(client, clock, device, dispatcher):
    send_alarm(device, clock, is_test=True)
    sign_in(client, dispatcher)
    body = client.get("/api/v1/alarm-statistics/").json()
    assert body["summary"]["total"] == 0 and body["response_times"] == []


def test_a_user_without_the_role_cannot_read_cases(client, clock, device, county):
    send_alarm(device, clock)
    sign_in(client, UserFactory(role="security_admin", region=county))
    assert client.get("/api/v1/alarm-cases/").status_code == 403
