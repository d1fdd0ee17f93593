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


# --- arrivals: only a unit that was sent, reported by someone who may speak for it ---


@pytest.fixture
def english(settings):
    """Assert on the English msgids, whatever the Chinese catalogue says."""
    settings.LANGUAGE_CODE = "en"


def _dispatched(client, clock, device, dispatcher, *units):
    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    base = f"/api/v1/alarm-cases/{case.pk}"
    post(client, f"{base}/acknowledge/")
    assert post(client, f"{base}/dispatch/", {"units": [u.pk for u in units]}).status_code == 200
    case.refresh_from_db()
    return case, base


def test_arriving_with_a_unit_never_sent_is_refused_and_stops_no_clock(
    english, client, clock, device, dispatcher, unit
):
    from campus_safety.audit.models import AuditEntry
    from tests.alarms.support import PoliceUnitFactory

    stranger = PoliceUnitFactory()  # a car of another station, never sent here
    case, base = _dispatched(client, clock, device, dispatcher, unit)
    deadline = case.arrival_deadline
    clock.advance(seconds=60)
    response = post(client, f"{base}/arrive/", {"unit": stranger.pk})
    assert response.status_code == 400
    assert response.json()["detail"] == "That unit was not sent to this case."
    case.refresh_from_db()
    assert case.state == State.DISPATCHED and case.arrived_at is None
    assert case.arrival_deadline == deadline  # the response clock still runs
    assert not case.dispatches.filter(arrived_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="alarm.arrive").exists()
    rows = client.get("/api/v1/alarm-statistics/").json()["response_times"]
    assert [row["arrive"]["count"] for row in rows] == [0]


def test_a_police_officer_reports_arrival_for_their_own_stations_units_only(
    english, client, clock, device, dispatcher, unit, station, county
):
    from tests.alarms.support import PoliceUnitFactory, station_chain

    neighbour = PoliceUnitFactory(organisation=station_chain(county))  # sent to help
    case, base = _dispatched(client, clock, device, dispatcher, unit, neighbour)
    officer = UserFactory(role="police_officer", organisation=station)
    sign_in(client, officer)
    refused = post(client, f"{base}/arrive/", {"unit": neighbour.pk})
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "You may report only for the units of your own police station."
    )
    case.refresh_from_db()
    assert case.state == State.DISPATCHED and case.arrived_at is None
    # Without a unit, "every unit sent" is every unit of the officer's own station.
    assert post(client, f"{base}/arrive/").json()["state"] == "on_scene"
    arrived = dict(case.dispatches.values_list("unit_id", "arrived_at"))
    assert arrived[unit.pk] is not None and arrived[neighbour.pk] is None
    assert post(client, f"{base}/en-route/", {"unit": neighbour.pk}).status_code == 400
    # The dispatcher speaks for any unit sent to a case in their scope.
    sign_in(client, dispatcher)
    assert post(client, f"{base}/arrive/", {"unit": neighbour.pk}).status_code == 200
    assert case.dispatches.filter(arrived_at__isnull=True).count() == 0


def test_a_unit_that_already_arrived_cannot_arrive_again(
    english, client, clock, device, dispatcher, unit
):
    case, base = _dispatched(client, clock, device, dispatcher, unit)
    assert post(client, f"{base}/arrive/", {"unit": unit.pk}).status_code == 200
    first = case.dispatches.get().arrived_at
    clock.advance(seconds=30)
    again = post(client, f"{base}/arrive/", {"unit": unit.pk})
    assert again.status_code == 409 and unit.name in again.json()["detail"]
    assert post(client, f"{base}/arrive/").status_code == 409  # nobody left on the way
    assert case.dispatches.get().arrived_at == first


def test_refusals_carry_their_reason_in_chinese(client, clock, device, dispatcher, unit):
    from tests.alarms.support import PoliceUnitFactory

    _case, base = _dispatched(client, clock, device, dispatcher, unit)
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    stranger = PoliceUnitFactory()
    response = client.post(
        f"{base}/arrive/", {"unit": stranger.pk}, content_type="application/json", **zh
    )
    assert response.json()["detail"] == "该力量未被派往此警情。"
    response = client.post(f"{base}/acknowledge/", content_type="application/json", **zh)
    assert response.status_code == 409 and "已无法执行" in response.json()["detail"]


def test_a_dispatch_with_one_busy_unit_sends_none_of_them(
    english, client, clock, device, dispatcher, unit, station
):
    from tests.alarms.support import PoliceUnitFactory

    busy = PoliceUnitFactory(organisation=station, is_available=False)
    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    base = f"/api/v1/alarm-cases/{case.pk}"
    post(client, f"{base}/acknowledge/")
    response = post(client, f"{base}/dispatch/", {"units": [unit.pk, busy.pk]})
    assert response.status_code == 409 and busy.name in response.json()["detail"]
    unit.refresh_from_db()
    case.refresh_from_db()
    assert unit.is_available and not case.dispatches.exists()
    assert case.state == State.ACKNOWLEDGED and case.arrival_deadline is None
