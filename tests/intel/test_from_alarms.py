"""Alarm cases closed as real become incidents: after the closing commits, once (a retry,
the daily sweep or a second process finds the one already made), linked back to the
case; false alarms and drills do not; a police-only case stays police-only (out of the
bureau's key-school list; the scan reads police_only=False)."""

from __future__ import annotations

import pytest
from django.utils import translation

from campus_safety.alarms import services as alarm_services
from campus_safety.alarms import workflow
from campus_safety.alarms.models import AlarmCase
from campus_safety.audit.models import AuditEntry
from campus_safety.intel.from_alarms import incident_from_case, sweep_closed_cases
from campus_safety.intel.models import Incident
from campus_safety.intel.risk import risk_ranking
from campus_safety.orgs.models import School
from tests.alarms.support import send_alarm
from tests.devices.support import DeviceFactory
from tests.factories import UserFactory, sign_in

pytestmark = pytest.mark.django_db
State = AlarmCase.State


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def dispatcher(world):
    return UserFactory(role="dispatcher", region=world["school"].region)


def _handled(case, dispatcher):
    workflow.acknowledge_case(case, by=dispatcher)
    return case


def test_a_case_closed_as_real_becomes_one_linked_incident(
    client, clock, world, dispatcher, django_capture_on_commit_callbacks
):
    school = world["school"]
    device = DeviceFactory(school=school, kind="intrusion_detector")
    case = _handled(send_alarm(device, clock), dispatcher)
    clock.advance(seconds=600)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.close_case(case, dispatcher, "翻墙人员已被带离，移交派出所", State.RESOLVED)
    incident = Incident.objects.get()
    assert incident.source == Incident.Source.ALARM and incident.alarm_case_id == case.pk
    assert incident.source_ref == str(case.pk)
    assert incident.kind == "intrusion" and incident.occurred_at == case.opened_at
    assert (incident.latitude, incident.longitude) == (school.latitude, school.longitude)
    assert incident.school == school and list(incident.schools.all()) == [school]
    assert incident.status == Incident.Status.CLOSED
    assert incident.outcome == "翻墙人员已被带离，移交派出所"
    assert "翻墙人员已被带离" in incident.summary and not incident.police_only
    assert incident.created_by == dispatcher
    assert AuditEntry.objects.filter(
        action="intel.incident.create", object_id=str(incident.pk)
    ).exists()
    # a retry, the sweep, another save of the closed case: still the one incident
    assert incident_from_case(case.pk) == incident
    assert sweep_closed_cases(clock.now()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        AlarmCase.objects.get(pk=case.pk).save()
    assert Incident.objects.count() == 1
    # the officer sees it with the link to its case's source
    sign_in(client, world["officer"])
    page = client.get(f"/intel/incidents/{incident.pk}/").content.decode()
    assert "Platform alarm" in page


def test_false_alarms_drills_and_open_cases_make_no_incident(
    clock, world, dispatcher, django_capture_on_commit_callbacks
):
    device = DeviceFactory(school=world["school"])
    false_alarm = _handled(send_alarm(device, clock), dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.close_case(false_alarm, dispatcher, "误报，已核实", State.FALSE_ALARM)
    clock.advance(seconds=3600)
    drill = send_alarm(device, clock, is_test=True)  # a drill's case opens as "test"
    with django_capture_on_commit_callbacks(execute=True):
        workflow.close_case(drill, dispatcher, "演练结束", State.RESOLVED)
    clock.advance(seconds=3600)
    open_case = _handled(send_alarm(device, clock), dispatcher)
    assert not Incident.objects.exists()
    assert sweep_closed_cases(clock.now()) == 0
    assert incident_from_case(open_case.pk) is None


def test_the_sweep_makes_what_a_lost_conversion_left_behind(clock, world, dispatcher):
    device = DeviceFactory(school=world["school"])
    case = _handled(send_alarm(device, clock), dispatcher)
    # closed without the after-commit conversion running (the process died)
    workflow.close_case(case, dispatcher, "劝离滋扰人员", State.RESOLVED)
    assert not Incident.objects.exists()
    assert sweep_closed_cases(clock.now()) == 1
    assert Incident.objects.get().alarm_case_id == case.pk
    assert sweep_closed_cases(clock.now()) == 0 and Incident.objects.count() == 1


def test_a_police_only_case_stays_police_only(
    client, clock, world, dispatcher, django_capture_on_commit_callbacks
):
    school = world["school"]
    device = DeviceFactory(school=school)
    now = clock.now()
    alarm_services.ingest_alarm(
        device_pk=device.pk, device_id=device.device_id, school_id=school.pk,
        event_id="watchlist-hit-1", occurred_at=now, received_at=now,
        protocol=device.protocol, priority=1, method=7, alarm_type="watchlist",
        description="Watch-list hit at the gate", police_only=True,
    )  # fmt: skip
    case = AlarmCase.objects.get(police_only=True)
    _handled(case, dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.close_case(case, dispatcher, "人员已控制", State.RESOLVED)
    incident = Incident.objects.get()
    assert incident.police_only and incident.kind == "other"
    # police count it on the key-school list; the bureau's list and the scan do not
    schools = School.objects.filter(pk=school.pk)
    (police_view,) = risk_ranking(schools, police=True)
    assert any("within 1 km" in r for r in police_view.reasons)
    (bureau_view,) = risk_ranking(schools, police=False)
    assert not any("within 1 km" in r for r in bureau_view.reasons)
    assert bureau_view.score < police_view.score
    sign_in(client, world["education"])
    assert "× Other within 1 km" not in client.get("/intel/risk/").content.decode()
    # the summary counts it for police readers only
    from campus_safety.intel.statistics import summary_block

    assert summary_block(schools, world["officer"])["incidents_90d"] == 1
    assert summary_block(schools, world["education"])["incidents_90d"] == 0
    assert summary_block(schools)["incidents_90d"] == 1  # the command line: everything
    assert client.get(f"/intel/incidents/{incident.pk}/").status_code == 403
