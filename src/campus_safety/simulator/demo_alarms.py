"""The demo city's police units and its year of alarm history (演示数据).

Every police station gets two patrol cars and a foot patrol near the station, and each
school with a campus police room (警务室) gets that room as a unit, so the console's
"nearest available units" and dispatch have something real to work with.

The history: real alarms, false alarms and quarterly drills, with response times that
mostly meet the circles, written with ``bulk_create`` (no per-row audit or bus traffic:
this is seeded history, not something a person did), so ~3,000 cases take a couple of
seconds. A demo started days after it was seeded gets the days in between
(``fill_alarm_history``); today's alarms are the live ones (fleet.py, duty.py).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from campus_safety import clock
from campus_safety.accounts.models import User
from campus_safety.alarms.models import AlarmCase, AlarmEvent, PoliceUnit
from campus_safety.alarms.workflow import KIND_PRIORITY, circle_minutes
from campus_safety.devices.models import Device
from campus_safety.orgs.models import Organisation, School

DUTY_PREFIX = "sim-dispatcher"  # the command centre's simulated people on duty (duty.py)
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
    today = clock.now().astimezone(timezone.get_current_timezone()).date()
    return build(rng, schools, devices, today)


MAX_GAP_DAYS = 30  # a demo database seeded long ago gets its last month, not every day


def fill_alarm_history(now: dt.datetime) -> int:
    """The days between the end of the history (the last seeded case) and today, at the
    same rates; returns the cases written."""
    zone = timezone.get_current_timezone()
    today = now.astimezone(zone).date()
    last = AlarmEvent.objects.filter(event_id__startswith="demo-").aggregate(at=Max("occurred_at"))
    if last["at"] is None:
        return 0
    days = min((today - last["at"].astimezone(zone).date()).days - 1, MAX_GAP_DAYS)
    if days < 1:
        return 0
    schools = list(School.objects.select_related("region"))
    devices = list(Device.objects.filter(kind__in=KIND_PRIORITY, school__isnull=False))
    rng = random.Random(f"alarms-{today.isoformat()}")
    return build(rng, schools, devices, today, days=days, drills_per_year=0)


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
    counts["duty_dispatchers"] = User.objects.filter(username__startswith=DUTY_PREFIX).delete()[0]
    return counts


State = AlarmCase.State
FALSE_ALARM_SHARE = 0.55  # most one-key presses are accidental (children, cleaning)
DISPOSITIONS = {
    State.RESOLVED: [
        "校外人员滋扰，民警到场劝离，已登记",
        "家长纠纷，现场调解完毕",
        "可疑人员徘徊，盘查后排除嫌疑",
        "学生斗殴，已制止并移交学校处理",
    ],
    State.FALSE_ALARM: ["学生误触报警按钮", "保洁误碰，已复位", "设备故障误报，已报修"],
    State.TEST: ["月度一键报警测试，联动正常"],
}


def _moment(rng: random.Random, first_day: dt.date, days: int, tz: Any) -> dt.datetime:
    day = first_day + dt.timedelta(days=rng.randrange(days))
    hour = rng.choice([7, 7, 8, 11, 12, 16, 16, 17, 9, 14, 20, 2])
    minute, second = rng.randrange(60), rng.randrange(60)
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz)


def _real_case(rng: random.Random, case: AlarmCase, circle_s: int) -> None:
    """Acknowledge in seconds, dispatch within a minute, arrive mostly inside the circle."""
    t = case.opened_at + dt.timedelta(seconds=max(2, rng.gauss(12, 6)))
    case.acknowledged_at = t
    if rng.random() < FALSE_ALARM_SHARE:
        case.state, case.closed_at = State.FALSE_ALARM, t + dt.timedelta(minutes=rng.randint(2, 10))
    else:
        case.dispatched_at = t + dt.timedelta(seconds=max(5, rng.gauss(40, 15)))
        travel = rng.gauss(circle_s * 0.6, circle_s * 0.2)
        if rng.random() < 0.06:  # a few miss the circle (traffic, far-off schools)
            travel = circle_s * rng.uniform(1.05, 1.8)
        case.arrived_at = case.dispatched_at + dt.timedelta(seconds=max(40, travel))
        case.is_breach = case.arrived_at > case.dispatched_at + dt.timedelta(seconds=circle_s)
        case.state = State.RESOLVED
        case.closed_at = case.arrived_at + dt.timedelta(minutes=rng.randint(10, 60))
    case.disposition = rng.choice(DISPOSITIONS[case.state])


def build(
    rng: random.Random,
    schools: Sequence[Any],
    devices: Sequence[Device],
    end: dt.date,
    *,
    days: int = 365,
    cases_per_school: float = 1.5,
    drills_per_year: int = 4,
) -> int:
    """Write the ``days`` before ``end`` of cases (and one event each) for ``devices``;
    returns how many.

    Most one-key alarms get ``drills_per_year`` drills (quarterly by default, which keeps
    a 2,000-school city to ~10,000 rows) in every whole quarter of the span; real cases
    land on random alarm devices, ``cases_per_school`` per school a year on average.
    """
    tz = timezone.get_current_timezone()
    first_day = end - dt.timedelta(days=days)
    school_region = {s.pk: s.region.code for s in schools}
    alarm_devices = [d for d in devices if d.kind in KIND_PRIORITY and d.school_id in school_region]
    if not alarm_devices:
        return 0
    cases: list[AlarmCase] = []

    def new_case(device: Device, at: dt.datetime, is_test: bool) -> AlarmCase:
        return AlarmCase(
            school_id=device.school_id,
            device=device,
            key_area=device.key_area,
            priority=KIND_PRIORITY[device.kind],
            state=State.TEST if is_test else State.RECEIVED,
            is_test=is_test,
            alarm_type="1",
            opened_at=at,
            last_event_at=at,
        )

    for _ in range(round(len(school_region) * cases_per_school * days / 365)):
        device = rng.choice(alarm_devices)
        case = new_case(device, _moment(rng, first_day, days, tz), is_test=False)
        _real_case(rng, case, circle_minutes(school_region[device.school_id]) * 60)
        cases.append(case)
    for device in alarm_devices:
        if device.kind != Device.Kind.ONE_KEY_ALARM or not drills_per_year:
            continue
        quarter = 365 // drills_per_year
        for n in range(days // quarter):
            if rng.random() < 0.8:  # most schools keep to the test schedule
                day = first_day + dt.timedelta(days=n * quarter + rng.randrange(quarter))
                at = dt.datetime(day.year, day.month, day.day, 10, rng.randrange(60), tzinfo=tz)
                case = new_case(device, at, is_test=True)
                case.acknowledged_at = at + dt.timedelta(seconds=rng.randint(3, 20))
                case.closed_at = at + dt.timedelta(minutes=5)
                case.disposition = DISPOSITIONS[State.TEST][0]
                cases.append(case)
    with transaction.atomic():
        AlarmCase.objects.bulk_create(cases, batch_size=1000)
        AlarmEvent.objects.bulk_create(
            [
                AlarmEvent(
                    device_id=c.device_id,
                    school_id=c.school_id,
                    event_id=f"demo-{c.pk}",
                    occurred_at=c.opened_at,
                    received_at=c.opened_at,
                    priority=c.priority,
                    protocol=c.device.protocol,
                    is_test=c.is_test,
                    case_id=c.pk,
                )
                for c in cases
            ],
            batch_size=1000,
        )
    return len(cases)
