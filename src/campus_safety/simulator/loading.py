"""Writing the demo city into the database, and taking it out again.

Bulk inserts in one transaction keep the full city (about 25,000 rows) to a few
seconds on SQLite; rows go in the plan's order, so a fresh database gets the same
primary keys every time and a dump of two seedings with one seed is byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import models, transaction

from campus_safety.audit import services as audit
from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.simulator import demo_users
from campus_safety.simulator.geography import CITY_CODE, PROVINCE_CODE
from campus_safety.simulator.plan import City
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
        users = demo_users.create_demo_users(city, orgs, by_code, regions)
        progress(len(users))
        # Bulk inserts send no signals: one entry stands for the whole city.
        audit.record("demo.seed", detail={"seed": city.seed, "schools": len(schools)})
    return {
        "regions": len(city.regions),
        "organisations": len(city.organisations),
        "schools": len(city.schools),
        "guards": len(city.guards),
        "equipment": sum(e.quantity for e in city.equipment),
        "users": len(users),
    }


def delete_demo_city() -> dict[str, int]:
    """Remove the demo users and everything under 德州市 (3714xx) before a re-seed.

    Guards and equipment (nine rows in ten) go in two plain DELETEs, recorded as one
    audit entry; schools, organisations, regions and users go through Django's delete,
    so each is audited and rows of other apps that still point at them (devices,
    alarms) stop the reset with ``ProtectedError`` instead of disappearing.
    """
    in_city = {"school__region__code__startswith": CITY_PREFIX}
    with transaction.atomic():
        counts = {}
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
