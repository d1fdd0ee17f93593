"""Writing the demo city into the database, and taking it out again.

Bulk inserts in one transaction keep the full city (about 25,000 registry rows and
38,500 devices) to a few seconds on SQLite; rows go in the plan's order, so a fresh
database gets the same primary keys every time and two seedings with one seed hold
the same values (encrypted columns aside: their ciphertext is salted).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import models, transaction

from campus_safety.audit import services as audit
from campus_safety.devices.models import Device, DeviceEvent, MaintenanceWindow, StatusChange
from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.simulator import demo_alarms, demo_gate, demo_hazards, demo_users, patrol_demo
from campus_safety.simulator.geography import CITY_CODE, PROVINCE_CODE
from campus_safety.simulator.plan import City, DeviceRow
from campus_safety.workforce.models import Equipment, Guard

BATCH_SIZE = 1000
CITY_PREFIX = CITY_CODE[:4]  # 3714xx: every division of the demo city

Progress = Callable[[int], Any]


def has_schools() -> bool:
    return School.objects.exists()


def _bulk(model: type[models.Model], objects: Sequence[models.Model], progress: Progress) -> None:
    for start in range(0, len(objects), BATCH_SIZE):
        batch = objects[start : start + BATCH_SIZE]
        model.objects.bulk_create(batch, batch_size=BATCH_SIZE)
        progress(len(batch))


def _write_regions(city: City, progress: Progress) -> dict[str, Region]:
    """Regions already present (an operator may have created the city) are updated."""
    by_code = {r.code: r for r in Region.objects.filter(code__in=[r.code for r in city.regions])}
    for level in ("province", "city", "county"):
        new = []
        for row in (r for r in city.regions if r.level == level):
            region = by_code.get(row.code) or Region(code=row.code)
            region.name, region.level, region.outline = row.name, row.level, row.outline
            region.parent = by_code[row.parent_code] if row.parent_code else None
            if region.pk:
                region.save()
            else:
                new.append(region)
            by_code[row.code] = region
        _bulk(Region, new, progress)
    return by_code


def _write_organisations(
    city: City, regions: dict[str, Region], progress: Progress
) -> dict[str, Organisation]:
    """Parents before children: the bureaus, then sub-bureaus, then police stations."""
    by_name: dict[str, Organisation] = {}
    pending = list(city.organisations)
    while pending:
        ready = [o for o in pending if o.parent_name is None or o.parent_name in by_name]
        if not ready:
            raise ValueError("organisation parents form a cycle or are missing")
        objects = [
            Organisation(
                name=o.name, kind=o.kind, region=regions[o.region_code],
                parent=by_name.get(o.parent_name) if o.parent_name else None,
                phone=o.phone, address=o.address, longitude=o.longitude, latitude=o.latitude,
            )
            for o in ready
        ]  # fmt: skip
        _bulk(Organisation, objects, progress)
        by_name.update((o.name, o) for o in objects)
        ready_names = {o.name for o in ready}
        pending = [o for o in pending if o.name not in ready_names]
    return by_name


SCHOOL_FIELDS = (
    "code", "name", "kind", "is_boarding", "students", "boarders", "staff", "address",
    "longitude", "latitude", "principal_name", "principal_phone", "security_director_name",
    "security_director_phone", "has_police_room", "police_room_officer", "police_room_phone",
    "legal_vice_principal",
)  # fmt: skip


def write_city(city: City, progress: Progress | None = None) -> dict[str, int]:
    """Insert ``city`` and the demo users in one transaction; returns counts written."""
    progress = progress or (lambda n: None)
    with transaction.atomic():
        regions = _write_regions(city, progress)
        orgs = _write_organisations(city, regions, progress)
        schools = [
            School(
                **{f: getattr(row, f) for f in SCHOOL_FIELDS},
                region=regions[row.region_code],
                police_station=orgs[row.police_station_name],
            )
            for row in city.schools
        ]
        _bulk(School, schools, progress)
        by_code = {s.code: s for s in schools}
        _bulk(Guard, [
            Guard(name=g.name, kind=g.kind, school=by_code[g.school_code],
                  company=orgs[g.company_name] if g.company_name else None,
                  certificate_number=g.certificate_number, phone=g.phone,
                  id_number=g.id_number, hired_on=g.hired_on)
            for g in city.guards
        ], progress)  # fmt: skip
        _bulk(Equipment, [
            Equipment(school=by_code[e.school_code], kind=e.kind, quantity=e.quantity)
            for e in city.equipment
        ], progress)  # fmt: skip
        devices = _write_devices(city.devices, by_code, progress)
        rng = random.Random(city.seed)
        stations = [o for o in orgs.values() if o.kind == Organisation.Kind.POLICE_STATION]
        police_units = demo_alarms.write_police_units(rng, stations, schools)
        alarm_cases = demo_alarms.write_alarm_history(rng, schools, list(devices.values()))
        gate_rows = demo_gate.write_gate(rng, schools, stations)  # gate (issue #17)
        users = demo_users.create_demo_users(city, orgs, by_code, regions)
        progress(len(users))
        linkage_rows = _demo_linkage().write_linkage(rng, schools, users)  # linkage (issue #20)
        # Bulk inserts send no signals: one entry stands for the whole city.
        audit.record("demo.seed", detail={"seed": city.seed, "schools": len(schools)})
    return {
        "regions": len(city.regions),
        "organisations": len(city.organisations),
        "schools": len(city.schools),
        "guards": len(city.guards),
        "equipment": sum(e.quantity for e in city.equipment),
        "devices": len(devices),
        "police_units": police_units,
        "alarm_cases": alarm_cases,
        "gate_rows": gate_rows,
        "cameras": sum(d.kind == Device.Kind.CAMERA for d in city.devices),
        "one_key_alarms": sum(d.kind == Device.Kind.ONE_KEY_ALARM for d in city.devices),
        "users": len(users),
        "linkage": linkage_rows,
    }


def _demo_linkage():
    """The linkage app's demo rows (issue #20), kept in their own module."""
    from campus_safety.simulator import demo_linkage

    return demo_linkage


def snapshot_url(device_id: str) -> str:
    """Where the simulator serves this camera's picture (``SIMULATOR_SNAPSHOT_URL``)."""
    base = settings.SIMULATOR_SNAPSHOT_URL
    return f"{base if base.endswith('/') else base + '/'}{device_id}.jpg"


def _demo_inspections():
    """The inspections app's demo rows (issue #19), kept in their own module."""
    from campus_safety.simulator import demo_inspections

    return demo_inspections


def _write_devices(
    rows: Sequence[DeviceRow], schools: dict[str, School], progress: Progress
) -> dict[str, Device]:
    """NVRs and standalone devices first, then the cameras behind them (they need their
    NVR's primary key). No signals: nothing is announced, audited or live yet."""
    by_id: dict[str, Device] = {}
    for wave in ([r for r in rows if r.parent_id is None], [r for r in rows if r.parent_id]):
        objects = [
            Device(
                device_id=r.device_id, name=r.name, kind=r.kind, protocol=r.protocol,
                school=schools[r.school_code], key_area=r.key_area,
                parent=by_id[r.parent_id] if r.parent_id else None,
                manufacturer=r.manufacturer, model=r.model, address=r.address,
                longitude=r.longitude, latitude=r.latitude, secret=r.secret,
                snapshot_url=snapshot_url(r.device_id) if r.kind == Device.Kind.CAMERA else "",
            )
            for r in wave
        ]  # fmt: skip
        _bulk(Device, objects, progress)
        by_id.update((d.device_id, d) for d in objects)
    # auto_now_add stamps the wall clock: a fixed date keeps two seedings equal
    Device.objects.filter(school__region__code__startswith=CITY_PREFIX).update(
        created_at=demo_users.JOINED
    )
    return by_id


def _delete_devices() -> dict[str, int]:
    """The city's devices and what hangs on them. Records of other apps that point at a
    device (alarm events and cases) go through Django's delete, with their cascades;
    the device tables' own rows go in plain DELETEs (tens of thousands: one audit
    entry stands for them)."""
    devices = Device.objects.filter(school__region__code__startswith=CITY_PREFIX)
    pks = devices.values("pk")
    counts: dict[str, int] = {}
    own = (StatusChange, DeviceEvent, MaintenanceWindow)
    for relation in Device._meta.related_objects:
        model = relation.related_model
        if model is Device:
            continue
        rows = model._base_manager.filter(**{f"{relation.field.name}__in": pks})
        if model in own:
            counts[model._meta.model_name] = rows._raw_delete(rows.db)
        else:
            counts[model._meta.model_name] = rows.delete()[0]
    for part in (devices.filter(parent__isnull=False), devices):  # channels first
        counts["device"] = counts.get("device", 0) + part._raw_delete(part.db)
    return counts


def delete_demo_city() -> dict[str, int]:
    """Remove the demo users and everything under 德州市 (3714xx) before a re-seed.

    Guards and equipment (nine rows in ten) go in two plain DELETEs, recorded as one
    audit entry; schools, organisations, regions and users go through Django's delete,
    so each is audited and rows of other apps that still point at them (devices,
    alarms) stop the reset with ``ProtectedError`` instead of disappearing.
    """
    in_city = {"school__region__code__startswith": CITY_PREFIX}
    with transaction.atomic():
        # other apps' demo rows first: they point at demo schools, devices and users
        _demo_inspections().delete_inspections()  # issue #19: its notices hold hazards
        counts = demo_hazards.delete_city_hazards(CITY_PREFIX)
        counts.update(_demo_linkage().delete_city_linkage(CITY_PREFIX))  # linkage (issue #20)
        counts.update(patrol_demo.delete_patrols())
        counts.update(demo_gate.delete_city_gate(CITY_PREFIX))
        counts.update(demo_alarms.delete_city_alarms(CITY_PREFIX))
        counts.update(_delete_devices())
        for model in (Equipment, Guard):
            queryset = model.objects.filter(**in_city)
            counts[model._meta.model_name] = queryset._raw_delete(queryset.db)
        audit.record("demo.reset", detail={"deleted": counts})
        demo_users.delete_demo_users()
        counts["school"] = School.objects.filter(region__code__startswith=CITY_PREFIX).delete()[0]
        orgs = Organisation.objects.filter(region__code__startswith=CITY_PREFIX)
        orgs.update(parent=None)
        counts["organisation"] = orgs.delete()[0]
        Region.objects.filter(code__startswith=CITY_PREFIX, level="county").delete()
        Region.objects.filter(code=CITY_CODE).delete()
        Region.objects.filter(code=PROVINCE_CODE, children__isnull=True).delete()
    return counts
