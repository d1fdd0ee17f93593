"""The demo city's gate (issue #17): pick-up lists for its kindergartens and primary
schools, a few vehicles per school, a small police watch-list, a day of visits and
pick-ups up to now, and — while the simulator runs — visitors at the gates, now and
then one on the watch-list, so the police console shows a hit.

Seeding writes in bulk (no signals: ``demo.seed`` stands for it all, as for the rest of
the city); the live trickle goes through the gate's services like a guard's tablet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from campus_safety import clock, periodic
from campus_safety.gate import services
from campus_safety.gate.models import (
    Pickup,
    PickupPerson,
    Student,
    Vehicle,
    VehiclePassage,
    Visit,
    VisitInvitation,
    WatchlistEntry,
    WatchlistHit,
)
from campus_safety.gate.validators import id_check_character
from campus_safety.orgs.models import School

log = logging.getLogger(__name__)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"
CLASSES = ("大一班", "中二班", "一年级1班")
PURPOSES = ("送教材", "维修空调", "家长会", "食材配送", "设备巡检", "来访洽谈")
STUDENTS_PER_SCHOOL = 6
WATCHLIST_SIZE = 30
PICKUP_KINDS = (School.Kind.KINDERGARTEN, School.Kind.PRIMARY)
DEMO_PERIOD_SECONDS = 90.0  # a visitor somewhere in the city every minute and a half
HIT_EVERY = 40  # one visitor in forty (about one an hour city-wide): rare, as a real hit is


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def id_number(rng: random.Random, region_code: str, born: dt.date) -> str:
    """A resident ID number with a correct GB 11643 check character."""
    head = f"{region_code[:6]:0<6}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return head + id_check_character(head)


def _born(rng: random.Random, low: int, high: int) -> dt.date:
    return dt.date(rng.randint(low, high), rng.randint(1, 12), rng.randint(1, 28))


def _plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    if rng.random() < 0.3:
        return f"鲁N{rng.choice('DF')}{rng.randint(10000, 99999)}"
    return f"鲁N{rng.choice(letters)}{rng.randint(1000, 9999)}"


def write_gate(rng: random.Random, schools: Sequence[School], stations: Sequence[Any]) -> int:
    """Students and pick-up persons, school vehicles and the watch-list (seed-demo)."""
    students: list[Student] = []
    for school in schools:
        if school.kind not in PICKUP_KINDS:
            continue
        for n in range(STUDENTS_PER_SCHOOL):
            students.append(
                Student(
                    school=school,
                    student_number=f"{school.code[-4:]}{n + 1:03d}",
                    name=_name(rng),
                    class_name=(
                        CLASSES[n % 2] if school.kind == School.Kind.KINDERGARTEN else CLASSES[2]
                    ),
                    class_teacher=_name(rng) + "老师",
                    teacher_phone=f"139{rng.randint(10000000, 99999999)}",
                )
            )
    Student.objects.bulk_create(students, batch_size=2000)
    persons = []
    for student in students:
        for relation in ("mother", "father"):
            persons.append(
                PickupPerson(
                    student=student,
                    name=_name(rng),
                    relation=relation,
                    phone=f"138{rng.randint(10000000, 99999999)}",
                )
            )
    PickupPerson.objects.bulk_create(persons, batch_size=2000)
    vehicles = [
        Vehicle(school=school, plate=_plate(rng), kind=kind, owner=_name(rng))
        for school in schools
        for kind in ("staff", "supplier")
    ]
    Vehicle.objects.bulk_create(vehicles, batch_size=2000, ignore_conflicts=True)
    now = clock.now()
    entries = [
        WatchlistEntry(
            station=stations[i % len(stations)],
            name=_name(rng),
            birth_date=(born := _born(rng, 1965, 1995)),
            document_kind="id_card",
            document_number=id_number(rng, "371402", born),
            reason=rng.choice(list(WatchlistEntry.Reason.values)),
            plate=_plate(rng) if i % 5 == 0 else "",
            valid_from=now - dt.timedelta(days=30),
            valid_until=now + dt.timedelta(days=365),
            created_at=now - dt.timedelta(days=30),
        )
        for i in range(WATCHLIST_SIZE if stations else 0)
    ]
    WatchlistEntry.objects.bulk_create(entries)
    return len(students) + len(persons) + len(vehicles) + len(entries)


def fill_gate_day(now: dt.datetime | None = None, *, seed: int = 17) -> dict[str, int]:
    """Today's visits (from 08:00 up to now) at a quarter of the schools and today's
    pick-ups in the release windows already over. Idempotent for a day: made once."""
    now = now or clock.now()
    loiterers = fill_loiterer(now)
    start = services.start_of_day(now)
    if Visit.objects.filter(checked_in_at__gte=start).exists():
        return {"gate_visits": 0, "gate_pickups": 0, "gate_loiterers": loiterers}
    rng = random.Random(f"{seed}-{start.date()}")
    opening = start + dt.timedelta(hours=8)
    visits: list[Visit] = []
    if now > opening:
        span = (now - opening).total_seconds()
        for school in School.objects.filter(region__code__startswith="3714").order_by("pk")[::4]:
            for _ in range(rng.randint(1, 3)):
                born = _born(rng, 1960, 2000)
                at = opening + dt.timedelta(seconds=rng.uniform(0, span))
                minutes = rng.choice((30, 60, 90, 120))
                left = at + dt.timedelta(minutes=minutes * rng.uniform(0.5, 1.0))
                visits.append(
                    Visit(
                        school=school,
                        state=Visit.State.LEFT if left < now else Visit.State.ON_CAMPUS,
                        document_number=id_number(rng, school.region.code, born),
                        name=_name(rng),
                        birth_date=born,
                        phone=f"137{rng.randint(10000000, 99999999)}",
                        purpose=rng.choice(PURPOSES),
                        host=_name(rng) + "老师",
                        expected_minutes=minutes,
                        checked_in_at=at,
                        due_at=at + dt.timedelta(minutes=minutes),
                        checked_out_at=left if left < now else None,
                    )
                )
    Visit.objects.bulk_create(visits, batch_size=2000)
    pickups: list[Pickup] = []
    local = timezone.localtime(now)
    over = [end for _s, end in services.release_windows() if local.time() >= end]
    if over:
        end = over[-1]
        window_end = start.replace(hour=end.hour, minute=end.minute)
        persons: dict[int, list[PickupPerson]] = {}
        for person in PickupPerson.objects.filter(student__school__region__code__startswith="3714"):
            persons.setdefault(person.student_id, []).append(person)
        for student in Student.objects.filter(pk__in=persons).select_related("school"):
            person = rng.choice(persons[student.pk])
            refused = rng.random() < 0.01
            pickups.append(
                Pickup(
                    school=student.school,
                    student=student,
                    person=None if refused else person,
                    person_name=_name(rng) if refused else person.name,
                    outcome=Pickup.Outcome.REFUSED if refused else Pickup.Outcome.RELEASED,
                    reason=Pickup.Reason.NOT_AUTHORISED if refused else "",
                    at=window_end - dt.timedelta(minutes=rng.uniform(1, 35)),
                )
            )
    Pickup.objects.bulk_create(pickups, batch_size=2000)
    return {"gate_visits": len(visits), "gate_pickups": len(pickups), "gate_loiterers": loiterers}


LOITER_LOOK_BACK_DAYS = 10  # past a long holiday: the last school day's windows
LOITER_DISPOSITION = "门卫上前询问：接孩子的家长临时停车等候，已引导至停车区，车辆离开"


def _city_schools() -> list[School]:
    return list(
        School.objects.filter(region__code__startswith="3714", kind__in=PICKUP_KINDS)
        .select_related("region")
        .order_by("pk")
    )


def _unknown_plate(rng: random.Random, school: School, at: dt.datetime) -> str:
    """A plate neither on the school's list nor on the watch-list (a stranger's car)."""
    while True:
        plate = _plate(rng)
        if not services._known_plate(school, plate, at) and not services.match_plate(plate, at):
            return plate


def fill_loiterer(now: dt.datetime | None = None) -> int:
    """A stranger's car read again and again by some school's gate camera in the last
    peak window up to ``now``, so the demo has its loitering alarm whatever hour it
    starts: in a window under way (the rule's minutes in) the reads are the last
    minutes' and the case is open, live; else they fall in the last window before,
    and its case was acknowledged and closed then by the gate (history). The reads go
    through ``services.record_passage`` as camera reads, so the alarm is the rule's own.
    Once per window (the rule's event id); returns the cases opened (0 or 1)."""
    from campus_safety.alarms.models import AlarmCase, AlarmEvent

    now = now or clock.now()
    schools = _city_schools()
    if not schools:
        return 0
    today = timezone.localtime(now).date()
    rng = random.Random(f"loiter-{today}")
    rng.shuffle(schools)
    busy = set(AlarmCase.objects.filter(closed_at__isnull=True).values_list("school_id", flat=True))
    school = next((s for s in schools if s.pk not in busy), schools[0])
    reads, minutes = services.loiter_rule()
    under_way = dt.timedelta(minutes=minutes + 1)  # a window this far in has room for them
    windows = [
        window
        for back in range(LOITER_LOOK_BACK_DAYS, -1, -1)
        for window in services.peak_windows(school, today - dt.timedelta(days=back))
        if window[0] + under_way <= now
    ]
    if not windows:
        return 0
    start, end = windows[-1]
    live = now < end
    stamp = f"{timezone.localtime(start):%Y%m%d%H%M}"
    if AlarmEvent.objects.filter(
        event_id__startswith="loiter-", event_id__endswith=f"-{stamp}"
    ).exists():
        return 0  # made already for this window
    step = dt.timedelta(minutes=minutes / reads)  # all of them within the rule's minutes
    if live:  # the last minutes, the last read just now
        times = [now - step * (reads - 1 - n) for n in range(reads)]
    else:
        times = [start + dt.timedelta(minutes=10) + step * n for n in range(reads)]
    plate = _unknown_plate(rng, school, times[0])
    with transaction.atomic():
        for n, at in enumerate(times):
            services.record_passage(
                school,
                plate=plate,
                direction="in",
                source=VehiclePassage.Source.CAMERA,
                at=at,
                event_id=f"demo-loiter-{stamp}-{n}",
            )
        event = AlarmEvent.objects.filter(event_id=services.loiter_event_id(plate, start)).first()
        if event is None:
            return 0
        if not live:  # history: the case as it was handled in that window
            raised = times[-1]
            AlarmEvent.objects.filter(pk=event.pk).update(received_at=raised)
            AlarmCase.objects.filter(pk=event.case_id).update(
                opened_at=raised,
                last_event_at=raised,
                acknowledged_at=raised + dt.timedelta(seconds=rng.randint(20, 60)),
                closed_at=raised + dt.timedelta(minutes=rng.randint(8, 15)),
                state=AlarmCase.State.RESOLVED,
                disposition=LOITER_DISPOSITION,
                next_escalation_at=None,
            )
            services.record_passage(
                school,
                plate=plate,
                direction="out",
                source=VehiclePassage.Source.CAMERA,
                at=raised + dt.timedelta(minutes=6),
                event_id=f"demo-loiter-{stamp}-out",
            )
    log.info("demo: a stranger's car loitering at %s (%s)", school.name, plate)
    return 1


def delete_city_gate(prefix: str) -> dict[str, int]:
    """The demo city's gate rows, before its schools go (seed-demo --reset)."""
    counts = {}
    in_city = {"school__region__code__startswith": prefix}
    for model in (WatchlistHit, VehiclePassage, Pickup, Visit, VisitInvitation, Vehicle, Student):
        counts[model._meta.model_name] = model.objects.filter(**in_city).delete()[0]
    counts["watchlistentry"] = WatchlistEntry.objects.filter(
        station__region__code__startswith=prefix
    ).delete()[0]
    return counts


class GateVisitors:
    """The simulated gates: a visitor checks in somewhere now and then, leaves later;
    one in ``HIT_EVERY`` is a watch-listed person (the guard sees 请稍候，需核验); in
    each peak window one stranger's car loiters at a school's gate (``loiter``)."""

    def __init__(self, seed: int = 1717) -> None:
        self.rng = random.Random(seed)
        self.count = 0
        self.loiterer: list[Any] | None = None  # [school, plate, window stamp, reads so far]

    def loiter(self, now: dt.datetime) -> None:
        """Once per peak window city-wide, a stranger's car comes back to one school's
        gate at every step (the camera reads it) until the rule's reads are reached:
        the loitering alarm opens live. Outside peak windows, nothing."""
        from campus_safety.alarms.models import AlarmEvent

        if self.loiterer is None:
            schools = _city_schools()
            if not schools:
                return
            school = self.rng.choice(schools)
            window = services.peak_window(school, now)
            if window is None:
                return
            stamp = f"{timezone.localtime(window[0]):%Y%m%d%H%M}"
            if AlarmEvent.objects.filter(
                event_id__startswith="loiter-", event_id__endswith=f"-{stamp}"
            ).exists():
                return  # this window has its loiterer
            self.loiterer = [school, _unknown_plate(self.rng, school, now), stamp, 0]
        school, plate, stamp, count = self.loiterer
        services.record_passage(
            school,
            plate=plate,
            direction="in",
            source=VehiclePassage.Source.CAMERA,
            at=now,
            event_id=f"sim-loiter-{stamp}-{count}",
        )
        self.loiterer[3] = count + 1
        if count + 1 >= services.loiter_rule()[0]:
            log.info("simulator: a stranger's car loitering at %s", school.name)
            self.loiterer = None

    def step(self, now: dt.datetime) -> None:
        try:
            self.loiter(now)
        except services.GateError as exc:
            log.info("simulator: the gate camera's read refused: %s", exc)
            self.loiterer = None
        schools = list(
            School.objects.filter(region__code__startswith="3714")
            .select_related("region")
            .order_by("?")[:1]
        )
        if not schools:
            return
        school = schools[0]
        self.count += 1
        entry = None
        if self.count % HIT_EVERY == 0:
            entry = (
                WatchlistEntry.objects.filter(
                    ended_at__isnull=True, valid_until__gt=now, document_hash__gt=""
                )
                .order_by("?")
                .first()
            )
        try:
            with transaction.atomic():
                if entry is not None:
                    result = services.check_in(
                        school,
                        by=None,
                        document_kind="id_card",
                        document_number=entry.document_number,
                        name=entry.name,
                        purpose="找人",
                        host="值班老师",
                    )
                else:
                    born = _born(self.rng, 1960, 2000)
                    result = services.check_in(
                        school,
                        by=None,
                        document_kind="id_card",
                        document_number=id_number(self.rng, school.region.code, born),
                        name=_name(self.rng),
                        purpose=self.rng.choice(PURPOSES),
                        host=_name(self.rng) + "老师",
                        expected_minutes=self.rng.choice((30, 60, 90)),
                    )
            log.info("simulator: visitor at %s (%s)", school.name, result.visit.state)
            for visit in Visit.objects.filter(
                state=Visit.State.ON_CAMPUS, due_at__lt=now, school__region__code__startswith="3714"
            )[:3]:
                services.check_out(visit, by=None)
        except services.GateError as exc:
            log.info("simulator: gate refused a visitor: %s", exc)


async def run(stop: asyncio.Event, period: float = DEMO_PERIOD_SECONDS) -> None:
    """The simulated gates until ``stop`` is set (fleet.run_demo)."""
    gates = GateVisitors()
    await periodic.run_every(stop, period, lambda: gates.step(clock.now()), "demo-gate")
