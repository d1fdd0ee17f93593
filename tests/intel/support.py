"""Helpers for intel tests: schools on a small grid, incidents through the service."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from campus_safety.intel import services
from tests import factories

BASE_LAT, BASE_LON = 37.45, 116.30
KM_LAT = 1 / 111.2  # degrees of latitude per km


def schools_grid(region, station=None, n=3, spacing_km=3.0):
    """``n`` × ``n`` schools ``spacing_km`` apart."""
    schools = []
    for i in range(n):
        for j in range(n):
            schools.append(
                factories.SchoolFactory(
                    region=region,
                    police_station=station,
                    latitude=BASE_LAT + i * spacing_km * KM_LAT,
                    longitude=BASE_LON + j * spacing_km * KM_LAT * 1.26,
                )
            )
    return schools


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def incident(lat=BASE_LAT, lon=BASE_LON, when=None, kind="theft", persons=(), **extra):
    return services.record_incident(
        kind=kind,
        occurred_at=when or timezone.now(),
        latitude=lat,
        longitude=lon,
        source="manual",
        persons=persons,
        **extra,
    )


def scope_matrix_objects(school, station, mark):
    """For tests/accounts/test_scope_matrix.py: an incident with a person, a lead, an
    alert, a group and an operation at ``school``, each carrying ``mark``."""
    from campus_safety import clock
    from campus_safety.intel.models import Alert, Group, Operation

    now = clock.now()
    inc = services.record_incident(
        kind="theft",
        occurred_at=now,
        latitude=school.latitude,
        longitude=school.longitude,
        source="manual",
        address=f"{mark}街",
        summary=mark,
        persons=[{"role": "suspect", "name": f"{mark}嫌疑人"}],
    )
    lead = services.submit_lead(
        source="police", summary=f"{mark}线索", latitude=school.latitude, longitude=school.longitude
    )
    placing = {"school": school, "region": school.region, "police_station": station}
    # the matrix's two schools stand on the same spot: place the records by hand
    for record in (inc, lead):
        type(record).objects.filter(pk=record.pk).update(**placing)
        record.refresh_from_db()
    inc.schools.set([school])
    alert = Alert.objects.create(
        reference=f"YJ{mark}"[:24],
        signature=f"matrix:{mark}",
        kind="theft",
        scan_date=now.date(),
        raised_at=now,
        latitude=school.latitude,
        longitude=school.longitude,
        radius_m=300,
        window_start=now.date(),
        window_end=now.date(),
        observed=3,
        expected=0.4,
        statistic=4.0,
        p_value=0.001,
        recurrence_days=1000,
        **placing,
    )
    alert.schools.set([school])
    alert.incidents.set([inc])
    group = Group.objects.create(
        signature=f"matrix:{mark}",
        detected_at=now,
        persons=3,
        graph={"nodes": [{"id": "n0", "name": f"{mark}*", "category": 0}], "links": []},
        **placing,
    )
    group.incidents.set([inc])
    operation = Operation.objects.create(
        name=f"{mark}专项", starts_on=now.date(), ends_on=now.date(), created_at=now, **placing
    )
    operation.schools.set([school])
    return {
        "intel_incident": inc,
        "intel_person": inc.persons.get(),
        "intel_lead": lead,
        "intel_alert": alert,
        "intel_group": group,
        "intel_operation": operation,
    }
