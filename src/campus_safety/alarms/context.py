"""Everything a dispatcher needs on one alarm case (警情上下文): the school, the device
and its key area, cameras to look through, whom to call, who is responsible, which
units are near, and the school's recent history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from campus_safety import clock
from campus_safety.accounts.roles import REVEAL, can
from campus_safety.alarms.dispatch import nearest_units
from campus_safety.alarms.models import AlarmCase
from campus_safety.audit import services as audit
from campus_safety.devices.models import Device, KeyArea
from campus_safety.personal_data import mask_phone
from campus_safety.workforce.models import Guard

GATE_AREAS = (KeyArea.ENTRANCE, KeyArea.OUTSIDE_GATE, KeyArea.GATE_ROOM)
RECENT_DAYS = 30


def _contacts(case: AlarmCase, user: Any) -> tuple[list[dict[str, str]], bool]:
    """School contacts; phones in full only for roles that may reveal personal data."""
    school = case.school
    reveal = can(user, REVEAL, "personal_data")
    show = (lambda v: v or "") if reveal else mask_phone
    contacts = [
        {"role": "principal", "name": school.principal_name, "phone": show(school.principal_phone)},
        {
            "role": "security_director",
            "name": school.security_director_name,
            "phone": show(school.security_director_phone),
        },
    ]
    if school.has_police_room:
        contacts.append(
            {
                "role": "police_room",
                "name": school.police_room_officer,
                "phone": show(school.police_room_phone),
            }
        )
    # TODO(patrols issue): the guard *on duty* from the duty roster; for now the school's guards.
    for guard in Guard.objects.filter(school=school).order_by("pk")[:3]:
        contacts.append({"role": "guard", "name": guard.name, "phone": show(guard.phone)})
    return contacts, reveal


def _camera(device: Device) -> dict[str, Any]:
    return {
        "id": device.pk,
        "device_id": device.device_id,
        "name": device.name,
        "key_area": device.key_area,
        "status": device.status,
        "snapshot_url": device.snapshot_url,
    }


def case_context(case: AlarmCase, user: Any) -> dict[str, Any]:
    """The context dict for a case; reading unmasked phones is audited."""
    device = case.device
    school = case.school
    context: dict[str, Any] = {
        "device": {
            "id": device.pk,
            "device_id": device.device_id,
            "name": device.name,
            "kind": device.kind,
            "key_area": case.key_area or device.key_area,
            "address": device.address,
            "status": device.status,
        },
        "school": None,
        "cameras": [],
        "contacts": [],
        "police_station": None,
        "nearest_units": [],
        "recent_alarms": [],
        # TODO(hazards issue: hazard rectification): open hazards of the school.
        "open_hazards": [],
    }
    if school is None:
        return context
    context["school"] = {
        "id": school.pk,
        "code": school.code,
        "name": school.name,
        "kind": school.kind,
        "address": school.address,
        "students": school.students,
        "boarders": school.boarders,
        "staff": school.staff,
        "longitude": school.longitude,
        "latitude": school.latitude,
        "region": school.region.name,
    }
    area = case.key_area or device.key_area
    cameras = Device.objects.filter(school=school, kind=Device.Kind.CAMERA).filter(
        key_area__in=[*GATE_AREAS, *([area] if area else [])]
    )
    context["cameras"] = [_camera(c) for c in cameras.order_by("key_area", "device_id")[:12]]
    context["contacts"], revealed = _contacts(case, user)
    if revealed:
        audit.record("alarm.context_contacts", case, user=user)
    station = school.police_station
    if station is not None:
        context["police_station"] = {"id": station.pk, "name": station.name, "phone": station.phone}
    lon = school.longitude if school.longitude is not None else device.longitude
    lat = school.latitude if school.latitude is not None else device.latitude
    context["nearest_units"] = nearest_units(lon, lat)
    since = clock.now() - dt.timedelta(days=RECENT_DAYS)
    recent = (
        AlarmCase.objects.filter(school=school, opened_at__gte=since)
        .exclude(pk=case.pk)
        .values("id", "opened_at", "state", "priority", "is_test")[:10]
    )
    context["recent_alarms"] = list(recent)
    return context
