"""Editing an incident after it is recorded (police in scope, validated, audited), and
the kind an alarm case closed as real gives its incident."""

from __future__ import annotations

import pytest
from django.utils import translation

from campus_safety.alarms import services as alarm_services
from campus_safety.alarms import workflow
from campus_safety.alarms.models import AlarmCase
from campus_safety.audit.models import AuditEntry
from campus_safety.intel.from_alarms import kind_for_case
from campus_safety.intel.models import Incident
from tests.alarms.support import send_alarm
from tests.devices.support import DeviceFactory
from tests.factories import UserFactory, sign_in

from .support import incident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _post(inc, **extra):
    data = {
        "kind": inc.kind,
        "status": inc.status,
        "outcome": inc.outcome,
        "latitude": inc.latitude,
        "longitude": inc.longitude,
        "address": inc.address,
        "summary": inc.summary,
    }
    data.update(extra)
    return data


def test_officer_edits_kind_status_outcome_and_it_is_audited(client, world):
    inc = incident(world["school"].latitude, world["school"].longitude, kind="other")
    sign_in(client, world["officer"])
    page = client.get(f"/intel/incidents/{inc.pk}/")
    assert f"/intel/incidents/{inc.pk}/edit/" in page.content.decode()
    assert client.get(f"/intel/incidents/{inc.pk}/edit/").status_code == 200
    response = client.post(
        f"/intel/incidents/{inc.pk}/edit/",
        _post(inc, kind="robbery", status="solved", outcome="两名嫌疑人已抓获", summary="改"),
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    inc.refresh_from_db()
    assert (inc.kind, inc.status, inc.outcome, inc.summary) == (
        "robbery",
        "solved",
        "两名嫌疑人已抓获",
        "改",
    )
    entry = AuditEntry.objects.get(action="intel.incident.update", object_id=str(inc.pk))
    assert entry.detail["kind"] == {"from": "other", "to": "robbery"}
    assert set(entry.detail) == {"kind", "status", "outcome", "summary"}
    assert entry.user == world["officer"]


def test_nothing_changed_writes_no_audit_entry(client, world):
    inc = incident(world["school"].latitude, world["school"].longitude)
    sign_in(client, world["officer"])
    assert client.post(f"/intel/incidents/{inc.pk}/edit/", _post(inc)).status_code == 302
    assert not AuditEntry.objects.filter(action="intel.incident.update").exists()


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"kind": "arson"}, "Select a valid choice"),
        ({"status": "lost"}, "Select a valid choice"),
        ({"latitude": "95"}, "less than or equal to 90"),
        ({"longitude": "abc"}, "Enter a number"),
        ({"status": "closed", "outcome": ""}, "Say how it ended"),
        ({"outcome": "x" * 401}, "at most 400 characters"),
    ],
)
def test_bad_input_is_a_400_with_the_reason_and_changes_nothing(client, world, extra, error):
    inc = incident(world["school"].latitude, world["school"].longitude)
    sign_in(client, world["officer"])
    response = client.post(f"/intel/incidents/{inc.pk}/edit/", _post(inc, **extra))
    assert response.status_code == 400
    assert error in response.content.decode()
    fresh = Incident.objects.get(pk=inc.pk)
    assert (fresh.kind, fresh.status, fresh.latitude) == (inc.kind, inc.status, inc.latitude)


def test_moving_the_place_relinks_schools_and_stays_in_the_officers_area(client, world):
    school, other = world["school"], world["other"]
    inc = incident(school.latitude, school.longitude)
    sign_in(client, world["officer"])
    # into another station's area: refused on the latitude, nothing moves
    response = client.post(
        f"/intel/incidents/{inc.pk}/edit/",
        _post(inc, latitude=other.latitude, longitude=other.longitude),
    )
    assert response.status_code == 400
    assert "outside your area" in response.content.decode()
    inc.refresh_from_db()
    assert inc.latitude == school.latitude and list(inc.schools.all()) == [school]
    # 3 km away from every school, but nearest to the officer's: kept, no school nearby
    response = client.post(
        f"/intel/incidents/{inc.pk}/edit/", _post(inc, latitude=school.latitude + 0.027)
    )
    assert response.status_code == 302
    inc.refresh_from_db()
    assert list(inc.schools.all()) == [] and inc.school == school


def test_only_police_in_scope_edit(client, world):
    inc = incident(world["school"].latitude, world["school"].longitude)
    for user in (world["education"], world["school_admin"]):
        sign_in(client, user)
        assert client.post(f"/intel/incidents/{inc.pk}/edit/", _post(inc)).status_code == 403
    other_officer = UserFactory(role="police_officer", organisation=world["other"].police_station)
    sign_in(client, other_officer)
    assert client.get(f"/intel/incidents/{inc.pk}/edit/").status_code == 404
    assert not AuditEntry.objects.filter(action="intel.incident.update").exists()


def _real_case(world, clock, *, device_kind="one_key_alarm", key_area="", disposition="已处置"):
    dispatcher = UserFactory(role="dispatcher", region=world["school"].region)
    device = DeviceFactory(school=world["school"], kind=device_kind, key_area=key_area)
    case = send_alarm(device, clock)
    workflow.acknowledge_case(case, by=dispatcher)
    workflow.close_case(case, dispatcher, disposition, AlarmCase.State.RESOLVED)
    return AlarmCase.objects.get(pk=case.pk)


@pytest.mark.parametrize(
    ("device_kind", "key_area", "disposition", "kind"),
    [
        ("one_key_alarm", "", "两名校外人员在门口殴打学生，已带回", "assault"),
        ("one_key_alarm", "", "一男子向学生索要财物，已抓获（抢劫）", "robbery"),
        ("one_key_alarm", "", "精神异常人员在校门口滞留，已送医", "mental"),
        ("intrusion_detector", "", "已处置", "intrusion"),
        ("access_controller", "", "已处置", "intrusion"),
        ("emergency_button", "perimeter", "已处置", "intrusion"),
        ("emergency_button", "canteen", "已处置", "other"),
        # the dispatcher's words outrank the device: an intrusion detector set off by a
        # thief is a theft
        ("intrusion_detector", "", "盗窃电动车嫌疑人已抓获", "theft"),
    ],
)
def test_an_alarm_case_gives_a_sensible_kind(
    world, clock, device_kind, key_area, disposition, kind
):
    case = _real_case(
        world, clock, device_kind=device_kind, key_area=key_area, disposition=disposition
    )
    assert kind_for_case(case) == kind


def test_video_intrusion_and_a_loitering_vehicle(world, clock):
    school = world["school"]
    camera = DeviceFactory(school=school, kind="camera")
    now = clock.now()
    cases = {}
    alarms = (("v6", 5, "6"), ("v1", 2, "6"), ("car", 5, "vehicle_loiter"))
    for event_id, method, alarm_type in alarms:
        alarm_services.ingest_alarm(
            device_pk=camera.pk, device_id=camera.device_id, school_id=school.pk,
            event_id=event_id, occurred_at=now, received_at=now, protocol=camera.protocol,
            priority=2, method=method, alarm_type=alarm_type,
        )  # fmt: skip
        case = AlarmCase.objects.order_by("-pk").first()
        AlarmCase.objects.filter(pk=case.pk).update(
            state=AlarmCase.State.RESOLVED, closed_at=now, disposition="已处置"
        )
        cases[event_id] = AlarmCase.objects.get(pk=case.pk)
        clock.advance(seconds=7200)  # a separate case each
        now = clock.now()
    assert kind_for_case(cases["v6"]) == "intrusion"  # GB/T 28181 video intrusion (5/6)
    assert kind_for_case(cases["v1"]) == "other"  # method 2 type 6: a device alarm, not that
    assert kind_for_case(cases["car"]) == "traffic"


def test_api_patch_edits_like_the_page(client, world):
    inc = incident(world["school"].latitude, world["school"].longitude, kind="other")
    sign_in(client, world["officer"])
    url = f"/api/v1/intel/incidents/{inc.pk}/"
    response = client.patch(
        url,
        {"kind": "theft", "status": "solved", "outcome": "已追回"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content.decode()
    assert (response.json()["kind"], response.json()["status"]) == ("theft", "solved")
    assert AuditEntry.objects.filter(action="intel.incident.update").count() == 1
    bad = [
        ({"kind": "arson"}, "kind"),
        ({"status": "closed", "outcome": ""}, "outcome"),
        ({"latitude": 37.5}, "non_field_errors"),
        ({"latitude": world["other"].latitude, "longitude": world["other"].longitude}, "latitude"),
    ]
    for data, key in bad:
        response = client.patch(url, data, content_type="application/json")
        assert response.status_code == 400 and key in response.json(), (data, response.json())
    assert client.put(url, {}, content_type="application/json").status_code == 405
    sign_in(client, world["education"])
    assert client.patch(url, {"kind": "other"}, content_type="application/json").status_code == 403
    assert Incident.objects.get(pk=inc.pk).kind == "theft"
