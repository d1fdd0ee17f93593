"""The one-line banner's feed, bulk acknowledge on the wall, and the dispatch form
(issue #14 items 1 and 7): the banner says how many and which case first, never the
whole list; a supervisor acknowledges several cases at once, each its own audited
step, and hears what became of each; nothing in the dispatch form is ticked for them."""

import re

import pytest
from django.urls import reverse

from campus_safety.alarms import workflow
from campus_safety.alarms.models import AlarmCase
from campus_safety.audit.models import AuditEntry
from tests.alarms.support import PoliceUnitFactory, send_alarm, station_chain
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db
State = AlarmCase.State
HTMX = {"HTTP_HX_REQUEST": "true"}
BULK = "alarms:acknowledge_many"


@pytest.fixture(autouse=True)
def english(settings):
    """Assert on the English msgids, whatever the Chinese catalogue says."""
    settings.LANGUAGE_CODE = "en"


def alarm_at_a_new_school(school, clock, kind="one_key_alarm", **kwargs) -> AlarmCase:
    """An alarm at another school of the same county and station: a case of its own
    (a one-key alarm is always priority 1, an intrusion detector at most 2)."""
    other = SchoolFactory(region=school.region, police_station=school.police_station)
    return send_alarm(DeviceFactory(school=other, kind=kind), clock, **kwargs)


def feed(client) -> dict:
    return client.get(reverse("alarms:unacknowledged")).json()


def outcomes(html: str) -> list[tuple[int, str]]:
    """(case, outcome) in the order of the bulk acknowledge report."""
    found = re.findall(r'data-case-id="(\d+)" data-outcome="(\w+)"', html)
    return [(int(pk), outcome) for pk, outcome in found]


# --- the banner's feed ---


def test_the_banner_feed_counts_every_waiting_case_and_names_the_most_urgent_newest_one(
    client, clock, school, dispatcher
):
    """25 waiting cases (the old banner listed 20 rows of them): the feed gives the
    count, the newest case number and one case — priority 1 before 2, newest first."""
    older_p1 = [alarm_at_a_new_school(school, clock) for _ in range(12)]
    clock.advance(seconds=60)
    newest_p1 = alarm_at_a_new_school(school, clock)
    clock.advance(seconds=60)
    p2 = [
        alarm_at_a_new_school(school, clock, kind="intrusion_detector", priority=2)
        for _ in range(12)
    ]
    sign_in(client, dispatcher)

    data = feed(client)
    assert data["count"] == 25
    assert data["latest_id"] == max(c.pk for c in [*older_p1, newest_p1, *p2])
    assert data["case"]["id"] == newest_p1.pk and data["case"]["priority"] == 1
    assert data["case"]["school"] == newest_p1.school.name
    assert data["case"]["ack_url"] == reverse("alarms:acknowledge", args=[newest_p1.pk])
    assert "cases" not in data  # the list is the wall's, not the banner's


def test_the_banner_feed_is_empty_when_nothing_waits(client, clock, device, dispatcher):
    case = send_alarm(device, clock)
    workflow.acknowledge_case(case, by=dispatcher)
    sign_in(client, dispatcher)
    data = feed(client)
    assert data == {"count": 0, "latest_id": None, "now": data["now"], "case": None}


# --- bulk acknowledge ---


def test_a_dispatcher_acknowledges_several_cases_at_once_each_audited_on_its_own(
    client, clock, school, dispatcher
):
    cases = [alarm_at_a_new_school(school, clock) for _ in range(3)]
    sign_in(client, dispatcher)
    response = client.post(reverse(BULK), {"cases": [c.pk for c in cases]}, **HTMX)
    assert response.status_code == 200
    assert "alarm-refresh" in response["HX-Trigger"]
    html = response.content.decode()
    assert outcomes(html) == [(c.pk, "acknowledged") for c in cases]
    assert 'data-acknowledged="3"' in html and "3 cases acknowledged" in html
    for case in cases:
        case.refresh_from_db()
        assert case.state == State.ACKNOWLEDGED and case.acknowledged_by == dispatcher
    entries = AuditEntry.objects.filter(action="alarm.acknowledge")
    assert sorted(int(e.object_id) for e in entries) == sorted(c.pk for c in cases)
    assert feed(client)["count"] == 0


def test_bulk_acknowledge_reports_each_case_and_keeps_going(client, clock, school, dispatcher):
    """A case a colleague got to first, a drill, a case of another county and a number
    that does not exist are each reported; the cases around them are acknowledged."""
    first = alarm_at_a_new_school(school, clock)
    taken = alarm_at_a_new_school(school, clock)
    drill = alarm_at_a_new_school(school, clock, is_test=True)
    theirs = send_alarm(DeviceFactory(school=SchoolFactory()), clock)  # another county
    last = alarm_at_a_new_school(school, clock)
    colleague = UserFactory(role="dispatcher", region=dispatcher.region)
    workflow.acknowledge_case(taken, by=colleague)
    sign_in(client, dispatcher)

    ticked = [taken.pk, first.pk, drill.pk, theirs.pk, 987654, last.pk]
    response = client.post(reverse(BULK), {"cases": ticked}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert outcomes(html) == [
        (taken.pk, "moved_on"),
        (first.pk, "acknowledged"),
        (drill.pk, "moved_on"),
        (theirs.pk, "not_found"),
        (987654, "not_found"),
        (last.pk, "acknowledged"),
    ]
    assert f"Case #{taken.pk} is now “Acknowledged”" in html
    # out of scope reads exactly like a case that does not exist
    assert f"Case #{theirs.pk} is not among your cases." in html
    assert "Case #987654 is not among your cases." in html
    assert theirs.school.name not in html
    assert 'data-acknowledged="2" data-refused="4"' in html
    for case, state, by in [
        (first, State.ACKNOWLEDGED, dispatcher),
        (last, State.ACKNOWLEDGED, dispatcher),
        (taken, State.ACKNOWLEDGED, colleague),
        (drill, State.TEST, None),
        (theirs, State.RECEIVED, None),
    ]:
        case.refresh_from_db()
        assert (case.state, case.acknowledged_by) == (state, by)
    mine = AuditEntry.objects.filter(action="alarm.acknowledge", user=dispatcher)
    assert sorted(int(e.object_id) for e in mine) == sorted([first.pk, last.pk])


def test_bulk_acknowledge_without_javascript_reports_in_messages_and_returns_to_the_wall(
    client, clock, school, dispatcher
):
    done = alarm_at_a_new_school(school, clock)
    taken = alarm_at_a_new_school(school, clock)
    workflow.acknowledge_case(taken, by=UserFactory(role="dispatcher", region=school.region))
    sign_in(client, dispatcher)
    response = client.post(reverse(BULK), {"cases": [done.pk, taken.pk]})
    assert response.status_code == 302 and response.url == reverse("alarms:wall")
    html = client.get(response.url).content.decode()
    assert f"Acknowledged 1 cases: #{done.pk}." in html
    assert f"Case #{taken.pk} is now “Acknowledged”" in html


def test_only_a_supervisor_acknowledges_in_bulk(
    client, clock, device, school, station, county, school_admin, bureau_staff
):
    """The role table: a school acknowledges its alarms one by one, the bureau reads; a
    dispatcher or a police officer (their station's cases only) may tick several."""
    case = send_alarm(device, clock)
    for person in (school_admin, bureau_staff):
        sign_in(client, person)
        assert client.post(reverse(BULK), {"cases": [case.pk]}, **HTMX).status_code == 403
        client.logout()
    case.refresh_from_db()
    assert case.state == State.RECEIVED

    neighbour = station_chain(county)
    elsewhere = send_alarm(
        DeviceFactory(school=SchoolFactory(region=county, police_station=neighbour)), clock
    )
    officer = UserFactory(role="police_officer", organisation=station)
    sign_in(client, officer)
    response = client.post(reverse(BULK), {"cases": [case.pk, elsewhere.pk]}, **HTMX)
    assert outcomes(response.content.decode()) == [
        (case.pk, "acknowledged"),
        (elsewhere.pk, "not_found"),
    ]
    elsewhere.refresh_from_db()
    assert elsewhere.state == State.RECEIVED


def test_bad_bulk_input_is_refused_with_a_reason_and_acknowledges_nothing(
    client, clock, device, dispatcher
):
    case = send_alarm(device, clock)
    sign_in(client, dispatcher)
    url = reverse(BULK)
    nothing = client.post(url, {}, **HTMX)
    assert nothing.status_code == 400
    assert "Tick at least one case to acknowledge." in nothing.content.decode()
    for bad in ("x", "-3", "0", "١٢", "9" * 40, "1" * 5000):
        response = client.post(url, {"cases": [case.pk, bad]}, **HTMX)
        assert response.status_code == 400, bad
        assert "is not a case number." in response.content.decode()
    too_many = client.post(url, {"cases": list(range(1, 502))}, **HTMX)
    assert too_many.status_code == 400
    assert "Tick at most 500 cases at a time." in too_many.content.decode()
    assert client.get(url).status_code == 405
    case.refresh_from_db()
    assert case.state == State.RECEIVED
    assert not AuditEntry.objects.filter(action="alarm.acknowledge").exists()


def test_the_wall_offers_ticks_to_a_supervisor_on_unacknowledged_real_cases_only(
    client, clock, school, dispatcher, school_admin
):
    waiting = alarm_at_a_new_school(school, clock)
    seen = alarm_at_a_new_school(school, clock)
    workflow.acknowledge_case(seen, by=dispatcher)
    alarm_at_a_new_school(school, clock, is_test=True)
    send_alarm(DeviceFactory(school=school), clock)
    sign_in(client, dispatcher)
    html = client.get(reverse("alarms:wall")).content.decode()
    assert 'id="bulk-ack"' in html and 'id="bulk-all"' in html
    ticks = re.findall(r'name="cases" value="(\d+)" form="bulk-ack"', html)
    mine = AlarmCase.objects.get(school=school)
    assert sorted(int(pk) for pk in ticks) == sorted([waiting.pk, mine.pk])
    client.logout()
    sign_in(client, school_admin)
    html = client.get(reverse("alarms:wall")).content.decode()
    assert 'id="bulk-ack"' not in html and 'class="bulk-tick"' not in html


# --- the dispatch form ---


def checked_units(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="units" value="(\d+)" checked', html)]


def offered_units(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="units" value="(\d+)"', html)]


def test_nothing_is_ticked_in_the_dispatch_form_not_even_after_a_dispatch(
    client, clock, device, dispatcher, station
):
    """The nearest unit used to be ticked, and after a dispatch the next one was: a
    second press sent a unit nobody chose."""
    units = [PoliceUnitFactory(organisation=station, longitude=116.31 + n / 100) for n in range(3)]
    case = send_alarm(device, clock)
    workflow.acknowledge_case(case, by=dispatcher)
    sign_in(client, dispatcher)
    page = reverse("alarms:case_detail", args=[case.pk])
    html = client.get(page).content.decode()
    assert offered_units(html) == [u.pk for u in units]
    assert checked_units(html) == []

    client.post(reverse("alarms:dispatch", args=[case.pk]), {"units": [units[0].pk]})
    html = client.get(page).content.decode()
    assert offered_units(html) == [units[1].pk, units[2].pk]
    assert checked_units(html) == []
    part = reverse("alarms:case_part", args=[case.pk]) + "?part=actions"
    assert checked_units(client.get(part).content.decode()) == []


def test_a_refused_dispatch_keeps_what_the_dispatcher_ticked(
    client, clock, device, dispatcher, station
):
    free = PoliceUnitFactory(organisation=station)
    busy = PoliceUnitFactory(organisation=station, is_available=False)
    case = send_alarm(device, clock)
    workflow.acknowledge_case(case, by=dispatcher)
    sign_in(client, dispatcher)
    response = client.post(
        reverse("alarms:dispatch", args=[case.pk]), {"units": [free.pk, busy.pk]}
    )
    assert response.status_code == 400
    assert checked_units(response.content.decode()) == [free.pk]
    case.refresh_from_db()
    assert case.state == State.ACKNOWLEDGED


def test_the_dispatch_button_reads_unambiguously_in_chinese(
    client, clock, device, dispatcher, unit, settings
):
    """ "派出所选力量" read as 派出所 / 选力量 (a police station choosing units)."""
    settings.LANGUAGE_CODE = "zh-hans"
    case = send_alarm(device, clock)
    workflow.acknowledge_case(case, by=dispatcher)
    sign_in(client, dispatcher)
    html = client.get(reverse("alarms:case_detail", args=[case.pk])).content.decode()
    assert "派遣勾选的出警力量" in html and "派出所选力量" not in html


def test_the_banner_feed_and_the_live_wall_take_a_few_queries_however_many_cases(
    client, clock, school, dispatcher, station, django_assert_max_num_queries
):
    """Every page of every console asks the feed on each alarm event, and the wall
    refreshes its list: neither may grow with the number of open cases (N+1)."""
    cases = [alarm_at_a_new_school(school, clock) for _ in range(30)]
    units = [PoliceUnitFactory(organisation=station) for _ in range(3)]
    for case, unit in zip(cases, units, strict=False):
        workflow.acknowledge_case(case, by=dispatcher)
        workflow.dispatch_units(case, [unit], by=dispatcher)
    sign_in(client, dispatcher)
    # signed in (session, user, second factor, scope: 4), the figures and the one case
    # (2), and the session's idle clock saved (3)
    with django_assert_max_num_queries(9):
        assert feed(client)["count"] == 27
    with django_assert_max_num_queries(9):  # the cases and their units sent (2)
        assert client.get(reverse("alarms:wall_cases")).status_code == 200
