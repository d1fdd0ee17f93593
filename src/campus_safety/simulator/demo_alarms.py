"""The demo city's police units and its year of alarm history.

Every police station gets two patrol cars and a foot patrol near the station, and each
school with a campus police room (警务室) gets that room as a unit, so the console's
"nearest available units" and dispatch have something real to work with.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from campus_safety import clock
from campus_safety.alarms import demo_history
from campus_safety.alarms.models import AlarmCase, AlarmEvent, PoliceUnit
from campus_safety.devices.models import Device
from campus_safety.orgs.models import Organisation, School

PATROL_CARS_PER_STATION = 2
FOOT_PATROLS_PER_STATION = 1


def _near(rng: random.Random, value: float | None, spread: float = 0.01) -> float | None:
    return None if value is None else round(value + rng.uniform(-spread, spread), 6)


def write_police_units(
    rng: random.Random, stations: Sequence[Organisation], schools: Sequence[School]
) -> int:
    """Patrol cars and foot patrols per station, plus the campus police rooms."""
    units: list[PoliceUnit] = []
    for station in stations:
        short = station.name.rsplit("分局", 1)[-1].removesuffix("派出所")
        for n in range(1, PATROL_CARS_PER_STATION + 1):
            units.append(PoliceUnit(
                name=f"{short}巡逻车{n}号", kind=PoliceUnit.Kind.PATROL_CAR, organisation=station,
                longitude=_near(rng, station.longitude), latitude=_near(rng, station.latitude),
            ))  # fmt: skip
        for n in range(1, FOOT_PATROLS_PER_STATION + 1):
            units.append(PoliceUnit(
                name=f"{short}步巡组{n}", kind=PoliceUnit.Kind.FOOT_PATROL, organisation=station,
                longitude=_near(rng, station.longitude, 0.004),
                latitude=_near(rng, station.latitude, 0.004),
            ))  # fmt: skip
    for school in schools:
        if school.has_police_room and school.police_station_id:
            units.append(PoliceUnit(
                name=f"{school.name}警务室", kind=PoliceUnit.Kind.POLICE_ROOM,
                organisation_id=school.police_station_id,
                longitude=school.longitude, latitude=school.latitude,
            ))  # fmt: skip
    PoliceUnit.objects.bulk_create(units, batch_size=1000)
    return len(units)


def write_alarm_history(
    rng: random.Random, schools: Sequence[School], devices: Sequence[Device]
) -> int:
    """The 365 days before today (local date), so this month's dashboards have data."""
    today = clock.now().astimezone(dt.UTC).date()
    return demo_history.build(rng, schools, devices, today)


def delete_city_alarms(region_prefix: str) -> dict[str, int]:
    """Alarm rows and police units under ``region_prefix``, before the schools and
    stations themselves go (they protect them)."""
    in_city = {"school__region__code__startswith": region_prefix}
    counts = {
        "alarmevent": AlarmEvent.objects.filter(**in_city).delete()[0],
        "alarmcase": AlarmCase.objects.filter(**in_city).delete()[0],
    }
    units = PoliceUnit.objects.filter(organisation__region__code__startswith=region_prefix)
    counts["policeunit"] = units.delete()[0]
    return counts
