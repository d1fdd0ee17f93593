"""Nearest units and the context a dispatcher sees on a case."""

import pytest

from campus_safety.alarms.context import case_context
from campus_safety.alarms.dispatch import haversine_m, nearest_units
from tests.alarms.support import PoliceUnitFactory, send_alarm
from tests.devices.support import DeviceFactory

pytestmark = pytest.mark.django_db


def test_haversine_gives_about_111_km_per_degree_of_latitude():
    assert haversine_m(116.3, 37.0, 116.3, 38.0) == pytest.approx(111_195, rel=1e-3)


def test_nearest_units_are_available_ones_nearest_first(station):
    far = PoliceUnitFactory(organisation=station, longitude=116.40, latitude=37.45)
    near = PoliceUnitFactory(organisation=station, longitude=116.301, latitude=37.45)
    PoliceUnitFactory(organisation=station, longitude=116.3, latitude=37.45, is_available=False)
    ranked = nearest_units(116.3, 37.45)
    assert [u["id"] for u in ranked] == [near.pk, far.pk]
    assert ranked[0]["distance_m"] == pytest.approx(88, abs=2)


def test_the_context_has_gate_and_area_cameras_station_and_recent_alarms(
    clock, device, school, station, unit, dispatcher
):
    gate = DeviceFactory(school=school, kind="camera", key_area="outside_gate")
    DeviceFactory(school=school, kind="camera", key_area="canteen")
    earlier = send_alarm(device, clock)
    clock.advance(hours=1)
    case = send_alarm(device, clock)
    context = case_context(case, dispatcher)
    assert [c["id"] for c in context["cameras"]] == [gate.pk]
    assert context["police_station"]["id"] == station.pk
    assert context["nearest_units"][0]["id"] == unit.pk
    assert [a["id"] for a in context["recent_alarms"]] == [earlier.pk]
    assert context["open_hazards"] == []


def test_contacts_are_masked_for_roles_that_may_not_reveal(clock, device, county):
    from tests.factories import UserFactory

    auditor = UserFactory(role="auditor", region=county)
    context = case_context(send_alarm(device, clock), auditor)
    principal = next(c for c in context["contacts"] if c["role"] == "principal")
    assert principal["phone"] == "138****5678"


def test_contacts_are_shown_to_a_dispatcher_and_the_read_is_audited(clock, device, dispatcher):
    from campus_safety.audit.models import AuditEntry

    context = case_context(send_alarm(device, clock), dispatcher)
    phones = {c["role"]: c["phone"] for c in context["contacts"]}
    assert phones["principal"] == "13812345678" and phones["police_room"] == "13900001111"
    assert AuditEntry.objects.filter(action="alarm.context_contacts").count() == 1
