"""Posting the city's guards and issuing its protective equipment, school by school.

The totals are the press report's: 874 professional guards (from security companies),
1,565 full-time and 3,842 part-time security staff, and "20,000余件" of equipment.
Only professional and full-time guards count towards GB/T 29315-2022 (see
``workforce.staffing``), and 2,439 of them cannot staff 2,029 schools of real sizes in
full: the requirement is ≥2 for every school with 100 or more day students. Counted
guards therefore go first to the schools that need fewest (cheapest first, with some
noise), which leaves as few schools short as the totals allow — mostly mid-sized
rural schools kept by part-time staff, as in practice. Should the totals ever allow
more, ``TARGET_SHORT_SHARE`` of schools are still left short so the demo has gaps to
show. Part-time staff go by school size, and every school has at least one person
at the gate.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta

from campus_safety.simulator import names
from campus_safety.simulator.plan import EquipmentRow, GuardRow, SchoolRow
from campus_safety.simulator.quotas import apportion
from campus_safety.workforce.staffing import RULES, required_guards

# The national rule as published, not the configured one: the demo city must not
# change with settings.
RULE = RULES["gbt29315_2022"]
GUARD_TOTALS = {"professional": 874, "full_time": 1565, "part_time": 3842}
TARGET_SHORT_SHARE = 0.15
EQUIPMENT_TOTAL_RANGE = (20_300, 20_950)  # "配备橡胶棒等防护装备20000余件"
# Pieces per guard by kind (before scaling to the total) and the chance a school holds
# the kind at all; every school has at least one baton and one steel fork.
KIT = {
    "baton": (1.0, 1.0),
    "steel_fork": (0.5, 1.0),
    "shield": (0.4, 1.0),
    "stab_vest": (0.5, 1.0),
    "cut_gloves": (0.5, 1.0),
    "helmet": (0.5, 0.75),
    "flashlight": (0.5, 0.8),
    "pepper_spray": (0.3, 0.35),
}
ALWAYS_HELD = ("baton", "steel_fork")
CERTIFIED_SHARE = {"professional": 0.98, "full_time": 0.9, "part_time": 0.6}


def required_for(school: SchoolRow) -> int:
    return required_guards(
        RULE, students=school.students, boarders=school.boarders, staff=school.staff
    )


def share_counted_guards(
    required: Sequence[int], budget: int, rng: random.Random,
    target_short_share: float = TARGET_SHORT_SHARE,
) -> list[int]:  # fmt: skip
    """Professional + full-time guards per school, ``budget`` in all.

    Cheapest requirement first (noise lets a 3-guard school beat a 2-guard one now and
    then); once the budget or the target runs out, the rest are short. Short schools
    get single guards from what is left, never reaching their requirement; anything
    still left is surplus for staffed schools, bigger ones first.
    """
    n = len(required)
    max_staffed = n - round(target_short_share * n)
    noise = [rng.uniform(0, 1.5) for _ in range(n)]
    order = sorted(range(n), key=lambda i: (required[i] + noise[i], i))
    counted = [0] * n
    left, staffed = budget, 0
    for i in order:
        if staffed < max_staffed and required[i] <= left:
            counted[i], left, staffed = required[i], left - required[i], staffed + 1
    short = [i for i in order if counted[i] < required[i]]
    while left and any(counted[i] < required[i] - 1 for i in short):
        for i in short:
            if left and counted[i] < required[i] - 1:
                counted[i] += 1
                left -= 1
    if left:
        full = [i for i in range(n) if counted[i] >= required[i]]
        for i, extra in zip(full, apportion(left, [required[i] for i in full]), strict=True):
            counted[i] += extra
    return counted


def _professional_split(
    schools: Sequence[SchoolRow], counted: Sequence[int], total: int, rng: random.Random
) -> list[int]:
    """How many of each school's counted guards come from a security company.

    Weighted sampling of guard posts without replacement (Efraimidis–Spirakis): urban
    and bigger schools contract companies more often.
    """
    keys: list[tuple[float, int]] = []
    for i, school in enumerate(schools):
        weight = (4.0 if school.is_urban else 1.0) * (1.0 + school.students / 1000)
        keys.extend((rng.random() ** (1.0 / weight), i) for _ in range(counted[i]))
    keys.sort(reverse=True)
    professional = [0] * len(schools)
    for _, i in keys[:total]:
        professional[i] += 1
    return professional


def _guard(kind: str, school: SchoolRow, company: str | None, serial: int,
           rng: random.Random) -> GuardRow:  # fmt: skip
    hired = date(2012, 1, 1) + timedelta(days=rng.randrange(14 * 365))
    born = hired - timedelta(days=rng.randrange(20 * 365, 55 * 365))  # hired aged 20–55
    certified = rng.random() < CERTIFIED_SHARE[kind]
    return GuardRow(
        name=names.person_name(rng), kind=kind, school_code=school.code, company_name=company,
        certificate_number=f"SD{hired.year}{serial:06d}" if certified else "",
        phone=names.mobile_phone(rng),
        id_number=names.national_id(school.region_code, born, rng), hired_on=hired,
    )  # fmt: skip


def post_guards(
    schools: Sequence[SchoolRow], companies: Sequence[str], rng: random.Random,
    scale: float = 1.0,
) -> list[GuardRow]:  # fmt: skip
    """Every guard of the city, at exactly the report's totals (times ``scale``)."""
    totals = {kind: round(n * scale) for kind, n in GUARD_TOTALS.items()}
    required = [required_for(s) for s in schools]
    counted = share_counted_guards(required, totals["professional"] + totals["full_time"], rng)
    professional = _professional_split(schools, counted, totals["professional"], rng)
    weights = [s.students**0.6 * rng.uniform(0.5, 1.5) for s in schools]
    floors = [1 if c == 0 else 0 for c in counted]
    part_time = apportion(totals["part_time"], weights, floors)
    served_by = {}  # each county is served by two of the companies
    for school in schools:
        if school.region_code not in served_by:
            served_by[school.region_code] = rng.sample(list(companies), 2)
    rows: list[GuardRow] = []
    for i, school in enumerate(schools):
        company = rng.choice(served_by[school.region_code])
        for kind, n in (("professional", professional[i]),
                        ("full_time", counted[i] - professional[i]),
                        ("part_time", part_time[i])):  # fmt: skip
            for _ in range(n):
                rows.append(_guard(kind, school, company if kind == "professional" else None,
                                   len(rows) + 1, rng))  # fmt: skip
    return rows


def issue_equipment(
    schools: Sequence[SchoolRow], guards: Sequence[GuardRow], rng: random.Random,
    scale: float = 1.0,
) -> list[EquipmentRow]:  # fmt: skip
    """Each school's kit, in proportion to its guards, adding up to "20,000余件"."""
    low, high = EQUIPMENT_TOTAL_RANGE
    total = round(rng.randint(low, high) * scale)
    per_school: dict[str, int] = {}
    for guard in guards:
        per_school[guard.school_code] = per_school.get(guard.school_code, 0) + 1
    cells: list[tuple[str, str]] = []
    weights: list[float] = []
    floors: list[int] = []
    for school in schools:
        n_guards = per_school.get(school.code, 0)
        for kind, (per_guard, held) in KIT.items():
            if kind in ALWAYS_HELD or rng.random() < held:
                cells.append((school.code, kind))
                weights.append(n_guards * per_guard * rng.uniform(0.7, 1.3))
                floors.append(1 if kind in ALWAYS_HELD else 0)
    quantities = apportion(total, weights, floors)
    return [
        EquipmentRow(school_code=code, kind=kind, quantity=q)
        for (code, kind), q in zip(cells, quantities, strict=True)
        if q > 0
    ]
