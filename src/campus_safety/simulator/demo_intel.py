"""The demo city's crackdown-and-early-warning history (issue #18): a year of
school-related incidents around the schools at a realistic rate (~2,400 a year, more
near big urban schools), a few planted outbreaks (three in the past year, two in the
last three days so that today's scan raises alerts), a gang of suspects across several
incidents, leads at every stage, two special operations (one finished, one running)
with the leads, arrests and patrols they recorded, a saved 110 source whose exports are
in GCJ-02, then today's scan and group detection.

``serve --simulate`` calls ``fill_intel`` (demo_day.py); a city seeded earlier gets the
missing days at the same rate. Deterministic for a seed; bulk inserts."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
from django.db import transaction
from django.utils import timezone

from campus_safety import clock
from campus_safety.intel.early_warning import run_daily_scan
from campus_safety.intel.geo import km_between
from campus_safety.intel.groups import detect_groups
from campus_safety.intel.models import (
    CoordinateSystem,
    DispatchSource,
    Incident,
    Lead,
    LeadEvent,
    Operation,
    OperationEntry,
    Person,
    ScanRun,
)
from campus_safety.intel.services import person_key
from campus_safety.orgs.models import Organisation, Region, School

PER_YEAR = 2400
SEED = 371418
KINDS = {
    "theft": 30, "traffic": 18, "harassment": 10, "fraud": 9, "intrusion": 8, "assault": 7,
    "robbery": 6, "bullying": 5, "mental": 3, "other": 4,
}  # fmt: skip
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
STREETS = ("长江路", "湖滨大道", "新华路", "东风路", "解放路", "天衢路", "三八路", "德兴大道")


def _schools():
    rows = list(
        School.objects.exclude(latitude=None).values_list(
            "id", "latitude", "longitude", "region_id", "police_station_id", "students"
        )
    )
    ids = np.array([r[0] for r in rows])
    lat = np.array([r[1] for r in rows], float)
    lon = np.array([r[2] for r in rows], float)
    weight = np.array([max(r[5], 50) for r in rows], float) ** 1.3
    return rows, ids, lat, lon, weight / weight.sum()


def _local(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _id_number(rng: random.Random, minor: bool) -> str:
    year = rng.randint(2009, 2013) if minor else rng.randint(1970, 2004)
    return f"3714{rng.randint(2, 28):02d}{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" + (
        f"{rng.randint(0, 9999):04d}"
    )


class _Writer:
    def __init__(self, rng: random.Random, now: dt.datetime):
        self.rng = rng
        self.now = now
        self.rows, self.ids, self.lat, self.lon, self.weight = _schools()
        self.incidents: list[Incident] = []
        self.persons: list[tuple[int, dict]] = []
        self.serial = Incident.objects.filter(source=Incident.Source.DEMO).count()

    def incident(self, day, kind, lat, lon, *, status=None, persons=()):
        rng = self.rng
        hour = rng.choice((7, 7, 8, 11, 12, 16, 16, 17, 17, 18, 20, 22))
        self.serial += 1
        d = km_between(lat, lon, self.lat, self.lon)
        nearest = int(np.argmin(d))
        row = self.rows[nearest]
        age = (self.now.date() - day).days
        inc = Incident(
            reference=f"SJ{day:%Y%m%d}-D{self.serial:05d}",
            kind=kind,
            occurred_at=_local(day, hour, rng.randrange(60)),
            latitude=round(lat, 6),
            longitude=round(lon, 6),
            address=f"{rng.choice(STREETS)}{rng.randint(1, 400)}号附近",
            summary="",
            status=status
            or (
                Incident.Status.OPEN
                if age < 3
                else rng.choice(
                    [
                        Incident.Status.SOLVED,
                        Incident.Status.CLOSED,
                        Incident.Status.CLOSED,
                        Incident.Status.INVESTIGATING,
                    ]
                )
            ),
            source=Incident.Source.DEMO,
            school_id=row[0],
            region_id=row[3],
            police_station_id=row[4],
            created_at=_local(day, min(hour + 1, 23), 30),
        )
        inc._near = [int(self.ids[i]) for i in np.nonzero(d <= 1.0)[0]]
        self.incidents.append(inc)
        for p in persons:
            self.persons.append((len(self.incidents) - 1, p))
        return inc

    def random_incident(self, day):
        rng = self.rng
        i = int(np.random.default_rng(rng.randrange(1 << 30)).choice(len(self.ids), p=self.weight))
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        lat = self.lat[i] + rng.gauss(0, 0.0027)
        lon = self.lon[i] + rng.gauss(0, 0.0034)
        persons = []
        if rng.random() < 0.3:
            minor = rng.random() < 0.4
            persons.append(
                {
                    "role": "victim",
                    "name": _name(rng),
                    "is_minor": minor,
                    "id_number": _id_number(rng, minor),
                }
            )
            if rng.random() < 0.5:
                persons.append(
                    {
                        "role": "suspect",
                        "name": _name(rng),
                        "is_minor": False,
                        "id_number": _id_number(rng, False),
                    }
                )
        self.incident(day, kind, lat, lon, persons=persons)

    def outbreak(self, school_index, last_day, kind, count, days=3):
        rng = self.rng
        for k in range(count):
            day = last_day - dt.timedelta(days=k % days)
            self.incident(
                day,
                kind,
                self.lat[school_index] + rng.gauss(0, 0.0015),
                self.lon[school_index] + rng.gauss(0, 0.0019),
            )

    def save(self) -> int:
        Incident.objects.bulk_create(self.incidents, batch_size=1000)
        through = Incident.schools.through
        through.objects.bulk_create(
            [through(incident_id=i.pk, school_id=s) for i in self.incidents for s in i._near],
            batch_size=5000,
        )
        Person.objects.bulk_create(
            [
                Person(
                    incident_id=self.incidents[i].pk,
                    role=p["role"],
                    name=p["name"],
                    id_number=p.get("id_number", ""),
                    is_minor=p.get("is_minor", False),
                    person_key=person_key(p["name"], p.get("id_number", ""), ""),
                )
                for i, p in self.persons
            ],
            batch_size=1000,
        )
        return len(self.incidents)


def _urban_school(writer: _Writer, rng: random.Random, code_prefix: str = "371402") -> int:
    regions = dict(Region.objects.values_list("pk", "code"))
    candidates = [
        i
        for i, r in enumerate(writer.rows)
        if regions.get(r[3], "").startswith(code_prefix) and r[5] >= 800
    ] or list(range(len(writer.rows)))
    return rng.choice(candidates)


def fill_intel(now: dt.datetime | None = None, replications: int = 999) -> dict[str, int]:
    """A year of history on a fresh city, the missing days on an older one; then today's
    scan (once a day) and groups."""
    now = now or clock.now()
    today = timezone.localtime(now).date()
    if not School.objects.exists():
        return {"intel_incidents": 0}
    last = (
        Incident.objects.filter(source=Incident.Source.DEMO)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    rng = random.Random(SEED + today.toordinal())
    writer = _Writer(rng, now)
    fresh = last is None
    first_day = today - dt.timedelta(days=365) if fresh else timezone.localtime(last).date()
    with transaction.atomic():
        day = first_day + dt.timedelta(days=1)
        while day <= today:
            n = np.random.default_rng(rng.randrange(1 << 30)).poisson(PER_YEAR / 365)
            for _ in range(int(n)):
                writer.random_incident(day)
            day += dt.timedelta(days=1)
        if fresh:
            _plant(writer, rng, today)
        written = writer.save()
        if fresh:
            _leads(rng, writer, now)
            _operations(rng, writer, today)
    summary = None
    if not ScanRun.objects.filter(day=today).exists():
        summary = run_daily_scan(now, replications=replications)
        groups = detect_groups(now)
        ScanRun.objects.get_or_create(
            day=today, defaults={"finished_at": clock.now(), "summary": f"{summary} (demo)"[:200]}
        )
    else:
        groups = 0
    return {
        "intel_incidents": written,
        "intel_alerts": summary.alerts if summary else 0,
        "intel_groups": groups,
    }


def _plant(writer: _Writer, rng: random.Random, today: dt.date) -> None:
    """Outbreaks (three past, two ending today) and a gang of five across four incidents."""
    writer.planted = []
    for days_ago, kind in ((250, "theft"), (130, "robbery"), (40, "harassment")):
        school = _urban_school(writer, rng)
        writer.outbreak(school, today - dt.timedelta(days=days_ago), kind, 8)
        writer.planted.append((school, today - dt.timedelta(days=days_ago)))
    writer.outbreak(_urban_school(writer, rng), today, "robbery", 9)
    writer.outbreak(_urban_school(writer, rng, "3714"), today, "theft", 10)
    gang = [
        {
            "role": "suspect",
            "name": _name(rng),
            "id_number": _id_number(rng, minor),
            "is_minor": minor,
        }
        for minor in (False, False, True, True, False)
    ]
    school = _urban_school(writer, rng)
    for k, members in enumerate(([0, 1, 2], [1, 3], [2, 3, 4], [0, 4])):
        day = today - dt.timedelta(days=60 - 12 * k)
        writer.incident(
            day,
            "robbery",
            writer.lat[school] + rng.gauss(0, 0.003),
            writer.lon[school] + rng.gauss(0, 0.003),
            persons=[gang[m] for m in members],
        )


def _leads(rng: random.Random, writer: _Writer, now: dt.datetime) -> None:
    statuses = (
        ["new"] * 8
        + ["triaged"] * 6
        + ["verifying"] * 6
        + ["converted"] * 10
        + ["merged"] * 5
        + ["dismissed"] * 7
    )
    sources = ["citizen", "school", "guard", "police"]
    texts = (
        "校门口有陌生人多次向学生索要财物",
        "放学时段有人在校门附近推销贷款",
        "有人在围墙外拍摄学生",
        "校门口电动车逆行严重",
        "网吧接纳未成年学生",
        "有人冒充老师打电话要求家长转账",
    )
    leads, events = [], []
    recent = [i for i in writer.incidents if (now - i.occurred_at).days < 60]
    for n, status in enumerate(statuses):
        inc = rng.choice(recent)
        received = now - dt.timedelta(hours=rng.randint(2, 24 * 50))
        lead = Lead(
            reference=f"XS{timezone.localtime(received):%Y%m%d}-D{n:04d}",
            source=rng.choice(sources),
            kind=inc.kind,
            summary=rng.choice(texts),
            address=inc.address,
            latitude=inc.latitude,
            longitude=inc.longitude,
            status=status,
            priority=rng.choice(["low", "normal", "normal", "urgent"]),
            received_at=received,
            school_id=inc.school_id,
            region_id=inc.region_id,
            police_station_id=inc.police_station_id,
            reporter_phone=f"13{rng.randint(100000000, 999999999)}" if rng.random() < 0.5 else "",
        )
        steps = ["new"]
        flow = {
            "triaged": ["triaged"],
            "verifying": ["triaged", "verifying"],
            "converted": ["triaged", "verifying", "converted"],
            "merged": ["triaged", "merged"],
            "dismissed": ["dismissed"],
        }
        steps += flow.get(status, [])
        t = received
        for step in steps[1:]:
            t = t + dt.timedelta(hours=rng.randint(1, 30))
            if step == "triaged":
                lead.triaged_at = t
            elif step == "verifying":
                lead.verified_at = t
            else:
                lead.resolved_at = t
        if status in ("converted", "merged"):
            lead.incident_id = inc.pk
        if status == "dismissed":
            lead.dismissed_reason = rng.choice(["重复举报", "核实不属实", "不属于涉校警情"])
        lead._steps = steps
        leads.append(lead)
    Lead.objects.bulk_create(leads)
    for lead in leads:
        t = lead.received_at
        for step in lead._steps:
            at = (
                {
                    "new": lead.received_at,
                    "triaged": lead.triaged_at,
                    "verifying": lead.verified_at,
                }.get(step)
                or lead.resolved_at
                or t
            )
            events.append(LeadEvent(lead=lead, at=at, step=step))
    LeadEvent.objects.bulk_create(events)


def _operations(rng: random.Random, writer: _Writer, today: dt.date) -> None:
    school, outbreak_day = writer.planted[1]
    station = writer.rows[school][4]
    finished = Operation.objects.create(
        name="校园周边抢劫敲诈专项打击",
        starts_on=outbreak_day + dt.timedelta(days=3),
        ends_on=outbreak_day + dt.timedelta(days=45),
        target_kinds=["robbery", "theft"],
        created_at=_local(outbreak_day + dt.timedelta(days=2), 9, 0),
        school_id=writer.rows[school][0],
        region_id=writer.rows[school][3],
        police_station_id=station,
    )
    near = km_between(writer.lat[school], writer.lon[school], writer.lat, writer.lon) <= 2.0
    finished.schools.set([int(x) for x in writer.ids[near]])
    if station:
        finished.units.set([station])
    region = Region.objects.filter(code="371402").first()
    active = Operation.objects.create(
        name="护校安园秋季专项整治",
        starts_on=today - dt.timedelta(days=10),
        ends_on=today + dt.timedelta(days=20),
        target_kinds=[],
        created_at=_local(today - dt.timedelta(days=11), 9, 0),
        region_id=region.pk if region else None,
    )
    if region:
        active.regions.set([region])
        active.units.set(
            Organisation.objects.filter(kind=Organisation.Kind.POLICE_STATION, region=region)[:5]
        )
    _operation_records(rng, finished, today)
    _operation_records(rng, active, today)
    _dispatch_source(today)


PATROL_PLACES = ("校门口—长江路口", "湖滨大道沿线", "学校周边网吧", "放学路线", "围墙外侧")


def _operation_records(rng: random.Random, operation: Operation, today: dt.date) -> None:
    """Patrols every few days, a few arrests (with the robbery incidents of the area when
    there are some) and the leads of its station or district taken up."""
    last = min(operation.ends_on, today)
    entries, day = [], operation.starts_on
    made_at = timezone.make_aware(dt.datetime.combine(last, dt.time(18)))
    while day <= last:
        if rng.random() < 0.5:
            entries.append(
                OperationEntry(
                    operation=operation,
                    kind="patrol",
                    day=day,
                    persons=rng.randint(2, 6),
                    hours=rng.choice([1.5, 2, 2.5, 3, 4]),
                    place=rng.choice(PATROL_PLACES),
                    created_at=made_at,
                )
            )
        day += dt.timedelta(days=1)
    school_ids = list(operation.schools.values_list("pk", flat=True))
    robberies = list(
        Incident.objects.filter(
            kind__in=["robbery", "theft"],
            schools__in=school_ids,
            occurred_at__date__range=(operation.starts_on, last),
        ).distinct()[:3]
    )
    for n in range(3 if last >= operation.starts_on else 0):
        inc = robberies[n] if n < len(robberies) else None
        entries.append(
            OperationEntry(
                operation=operation,
                kind="arrest",
                incident=inc,
                persons=rng.randint(1, 3),
                day=timezone.localtime(inc.occurred_at).date() if inc else last,
                note="移送审查起诉" if n == 0 else "",
                created_at=made_at,
            )
        )
    leads = Lead.objects.filter(status__in=["converted", "triaged", "verifying"])
    if operation.police_station_id:
        leads = leads.filter(police_station_id=operation.police_station_id)
    elif operation.region_id:
        leads = leads.filter(region_id=operation.region_id)
    for lead in leads.order_by("received_at")[:3]:
        day = min(max(timezone.localtime(lead.received_at).date(), operation.starts_on), last)
        entries.append(
            OperationEntry(operation=operation, kind="lead", lead=lead, day=day, created_at=made_at)
        )
    OperationEntry.objects.bulk_create(entries)


def _dispatch_source(today: dt.date) -> None:
    """德州市110's saved mapping: its exports give GCJ-02 positions (AMap-based)."""
    DispatchSource.objects.get_or_create(
        name="德州市110指挥中心",
        defaults={
            "column_map": {
                "call_number": "接警单编号",
                "received_at": "报警时间",
                "longitude": "经度",
                "latitude": "纬度",
                "category": "警情类别",
                "address": "案发地址",
                "summary": "简要警情",
                "outcome": "处理结果",
            },
            "kind_map": {"校园滋扰": "harassment", "学生欺凌": "bullying"},
            "coordinate_system": CoordinateSystem.GCJ02,
            "updated_at": timezone.make_aware(dt.datetime.combine(today, dt.time(9))),
        },
    )
