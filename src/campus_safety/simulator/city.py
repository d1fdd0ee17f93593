"""The demo city generator: a synthetic 德州市 that adds up to the city's published figures.

《德州新闻网》, 六一 press report on "护校安园": 2,029 primary/secondary schools and
kindergartens, 874 professional guards from security companies, 1,565 full-time and
3,842 part-time security staff, and "20,000余件" pieces of protective equipment. The
generator reproduces those totals exactly and invents everything else (names, sizes,
coordinates) believably, from one ``random.Random(seed)``: the same seed gives the same
city, row for row. ``build_city`` is pure Python (no database); ``loading.py`` writes it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from campus_safety.simulator import device_plan, geography, guards, names
from campus_safety.simulator.geography import CITY_CODE, CITY_NAME, COUNTIES, County, Point, Ring
from campus_safety.simulator.plan import City, OrganisationRow, RegionRow, SchoolRow
from campus_safety.simulator.quotas import apportion, interleave

DEFAULT_SEED = 371400  # the city's GB/T 2260 code
TOTAL_SCHOOLS = 2029
# Kind mix: kindergartens ~45 %, primary ~34 %, junior ~10 %, nine-year ~5 %, senior ~3 %,
# vocational ~2 %, a few twelve-year schools and one special school per division.
KIND_COUNTS = {
    "special": 11, "senior": 61, "vocational": 41, "twelve_year": 10, "junior": 203,
    "nine_year": 101, "primary": 689, "kindergarten": 913,
}  # fmt: skip
MAX_STATIONS_PER_COUNTY = 15


@dataclass(frozen=True)
class Town:
    """乡镇/街道 — where schools and a police station sit."""

    name: str
    county: County
    point: Point

    @property
    def is_urban(self) -> bool:
        return names.is_urban(self.name)


def sub_bureau_name(county: County) -> str:
    """德州市公安局德城分局 for a district, 宁津县公安局 / 乐陵市公安局 otherwise."""
    if county.is_district:
        return f"{CITY_NAME}公安局{county.short_name}分局"
    return f"{county.name}公安局"


def education_bureau_name(county: County) -> str:
    return f"{county.name}教育和体育局"


POLICE_BUREAU = f"{CITY_NAME}公安局"
EDUCATION_BUREAU = f"{CITY_NAME}教育局"


def _place_towns(county: County, ring: Ring, rng: random.Random) -> list[Town]:
    """Streets huddle round the county seat; towns spread over the rest of the county.

    Towns use best-candidate sampling (the farthest of a dozen random points from those
    already placed), which spreads them evenly without a grid look.
    """
    towns: list[Town] = []
    placed: list[Point] = [county.seat]
    for town_name in names.TOWNS[county.code]:
        if names.is_urban(town_name):
            spread = 0.0 if not towns else 0.02
            point = geography.point_near(county.seat, spread, ring, rng, decimals=5)
        else:
            candidates = [geography.random_point_in(ring, rng) for _ in range(12)]
            best = max(candidates, key=lambda p: min(geography.distance(p, q) for q in placed))
            point = (round(best[0], 5), round(best[1], 5))
        placed.append(point)
        towns.append(Town(town_name, county, point))
    return towns


def _organisations(
    towns: dict[str, list[Town]], rng: random.Random
) -> tuple[list[OrganisationRow], dict[str, list[tuple[str, Point]]]]:
    """Police units, education bureaus and security companies; stations per county."""
    centre = geography.CITY_CENTRE
    rows = [
        OrganisationRow(POLICE_BUREAU, "police_bureau", CITY_CODE, None, "0534-2688110",
                        f"{CITY_NAME}德城区湖滨北大道1001号", *centre),
        OrganisationRow(EDUCATION_BUREAU, "education_bureau", CITY_CODE, None,
                        names.landline(rng), f"{CITY_NAME}德城区东方红路1166号",
                        centre[0] + 0.012, centre[1] - 0.006),
    ]  # fmt: skip
    for company in names.SECURITY_COMPANIES:
        point = geography.point_near(centre, 0.03, geography.city_ring(), rng, decimals=5)
        rows.append(OrganisationRow(company, "security_company", CITY_CODE, None,
                                    names.landline(rng),
                                    f"{CITY_NAME}德城区{rng.choice(names.ROADS)}"
                                    f"{rng.randrange(1, 400)}号", *point))  # fmt: skip
    stations: dict[str, list[tuple[str, Point]]] = {}
    for county in COUNTIES:
        seat_address = f"{CITY_NAME}{county.name}{rng.choice(names.ROADS)}"
        sub_bureau = sub_bureau_name(county)
        rows.append(OrganisationRow(sub_bureau, "police_sub_bureau", county.code, POLICE_BUREAU,
                                    names.landline(rng), f"{seat_address}{rng.randrange(1, 300)}号",
                                    *county.seat))  # fmt: skip
        rows.append(OrganisationRow(education_bureau_name(county), "education_bureau",
                                    county.code, EDUCATION_BUREAU, names.landline(rng),
                                    f"{seat_address}{rng.randrange(300, 600)}号",
                                    round(county.seat[0] + 0.004, 5),
                                    round(county.seat[1] + 0.003, 5)))  # fmt: skip
        county_towns = towns[county.code][:MAX_STATIONS_PER_COUNTY]
        stations[county.code] = []
        for town in county_towns:
            station = f"{sub_bureau}{names.town_short_name(town.name)}派出所"
            stations[county.code].append((station, town.point))
            rows.append(OrganisationRow(station, "police_station", county.code, sub_bureau,
                                        names.landline(rng),
                                        f"{CITY_NAME}{county.name}{town.name}"
                                        f"{rng.choice(names.ROADS)}{rng.randrange(1, 200)}号",
                                        *town.point))  # fmt: skip
    return rows, stations


# (low, high, mode) of students by kind and setting; rural "centre" schools are the
# town's central school (中心小学/中心幼儿园/镇中学), "village" ones the rest.
SIZES = {
    ("kindergarten", "urban"): (150, 450, 260),
    ("kindergarten", "centre"): (120, 380, 200),
    ("kindergarten", "village"): (60, 160, 62),
    ("primary", "urban"): (500, 2500, 900),
    ("primary", "centre"): (300, 1200, 550),
    ("primary", "village"): (150, 600, 220),
    ("junior", "urban"): (700, 2800, 1200),
    ("junior", "centre"): (300, 1400, 650),
    ("junior", "village"): (300, 900, 420),
    ("nine_year", "urban"): (700, 2600, 1100),
    ("nine_year", "centre"): (300, 1300, 600),
    ("nine_year", "village"): (300, 1000, 450),
    ("senior", "urban"): (800, 4000, 2400),
    ("senior", "centre"): (800, 2200, 1200),
    ("vocational", "urban"): (600, 3500, 1500),
    ("vocational", "centre"): (600, 2000, 1000),
    ("twelve_year", "urban"): (1500, 4500, 2500),
    ("special", "urban"): (60, 260, 120),
}
# Share of each kind that boards (rural, urban) and the boarders' share of students.
BOARDING = {
    "senior": (0.9, 0.8, 0.45, 0.9),
    "vocational": (0.75, 0.6, 0.4, 0.8),
    "twelve_year": (0.7, 0.6, 0.2, 0.5),
    "special": (0.5, 0.5, 0.2, 0.6),
    "junior": (0.7, 0.15, 0.4, 0.85),
    "nine_year": (0.6, 0.1, 0.2, 0.6),
    "primary": (0.06, 0.0, 0.1, 0.3),
    "kindergarten": (0.0, 0.0, 0.0, 0.0),
}
# Share of each kind placed in the county seat's streets (the city district: more).
URBAN_SHARE = {
    "senior": 0.8, "vocational": 0.9, "twelve_year": 1.0, "special": 1.0, "junior": 0.3,
    "nine_year": 0.25, "primary": 0.3, "kindergarten": 0.3,
}  # fmt: skip
# Chance of a campus police room (警务室): about half of all schools, more in big ones.
POLICE_ROOM = {
    "kindergarten": 0.25, "primary": 0.6, "junior": 0.8, "nine_year": 0.75, "senior": 0.85,
    "vocational": 0.8, "twelve_year": 0.8, "special": 0.5,
}  # fmt: skip


def _size(kind: str, setting: str, rng: random.Random) -> int:
    key = (kind, setting) if (kind, setting) in SIZES else (kind, "centre")
    if key not in SIZES:
        key = (kind, "urban")
    low, high, mode = SIZES[key]
    return round(rng.triangular(low, high, mode))


def _boarders(kind: str, urban: bool, students: int, rng: random.Random) -> int:
    rural_p, urban_p, low, high = BOARDING[kind]
    if rng.random() >= (urban_p if urban else rural_p):
        return 0
    return round(students * rng.uniform(low, high))


def _nearest(point: Point, stations: list[tuple[str, Point]]) -> str:
    return min(stations, key=lambda s: (geography.distance(point, s[1]), s[0]))[0]


def _kind_counts(total: int) -> dict[str, int]:
    if total == TOTAL_SCHOOLS:
        return dict(KIND_COUNTS)
    shares = apportion(total, list(KIND_COUNTS.values()))
    return dict(zip(KIND_COUNTS, shares, strict=True))


def _kinds_per_county(total: int) -> dict[str, list[str]]:
    """Which kinds of school each county gets: its population share of every kind."""
    quotas = apportion(total, [c.weight for c in COUNTIES])
    counts = _kind_counts(total)
    kinds = list(counts)
    dealt: list[list[str]] = [[] for _ in COUNTIES]
    if counts["special"] >= len(COUNTIES):  # one special school per division
        for i in range(len(COUNTIES)):
            dealt[i].append("special")
            quotas[i] -= 1
        counts["special"] -= len(COUNTIES)
    for i, got in enumerate(interleave([counts[k] for k in kinds], quotas)):
        dealt[i].extend(kinds[k] for k in got)
    return {c.code: dealt[i] for i, c in enumerate(COUNTIES)}


def _schools(
    towns: dict[str, list[Town]],
    rings: dict[str, Ring],
    stations: dict[str, list[tuple[str, Point]]],
    total: int,
    rng: random.Random,
) -> list[SchoolRow]:
    rows: list[SchoolRow] = []
    taken: set[str] = set()
    kinds_per_county = _kinds_per_county(total)
    for county in COUNTIES:
        ring = rings[county.code]
        urban_towns = [t for t in towns[county.code] if t.is_urban]
        rural_towns = [t for t in towns[county.code] if not t.is_urban]
        namer = names.SchoolNamer(rng, taken)
        city_prefix = CITY_NAME if county.code == "371402" else county.name
        centres_left: dict[str, list[Town]] = {}
        for serial, kind in enumerate(kinds_per_county[county.code], start=1):
            urban_share = URBAN_SHARE[kind] * (1.8 if county.code == "371402" else 1.0)
            urban = not rural_towns or rng.random() < min(urban_share, 0.95)
            if urban:
                town = rng.choice(urban_towns)
                setting, spread = "urban", 0.012
            else:
                # Each town first gets its central school of the kind, then village ones.
                left = centres_left.setdefault(kind, rng.sample(rural_towns, len(rural_towns)))
                if left:
                    town, setting, spread = left.pop(), "centre", 0.004
                else:
                    town, setting, spread = rng.choice(rural_towns), "village", 0.035
            point = geography.point_near(town.point, spread, ring, rng)
            village, road = names.village_name(rng), rng.choice(names.ROADS)
            name = namer.name(
                kind,
                county=county.name,
                town=town.name,
                city_prefix=city_prefix,
                village=village,
                road=road,
            )
            if urban:
                address = f"{CITY_NAME}{county.name}{road}{rng.randrange(1, 1200)}号"
            elif setting == "centre":
                address = f"{CITY_NAME}{county.name}{town.name}{road}{rng.randrange(1, 300)}号"
            else:
                address = f"{CITY_NAME}{county.name}{town.name}{village}村"
            students = _size(kind, setting, rng)
            boarders = _boarders(kind, urban, students, rng)
            staff = max(4, round(students / rng.uniform(13, 16)))
            police_room = rng.random() < POLICE_ROOM[kind] + (0.1 if urban else 0.0)
            officer = names.person_name(rng) if police_room else ""
            legal_vp = officer if police_room and rng.random() < 0.4 else names.person_name(rng)
            rows.append(SchoolRow(
                code=f"1{county.code}{serial:03d}", name=name, kind=kind,
                is_boarding=boarders > 0, students=students, boarders=boarders, staff=staff,
                address=address, longitude=point[0], latitude=point[1], region_code=county.code,
                police_station_name=_nearest(point, stations[county.code]),
                principal_name=names.person_name(rng), principal_phone=names.mobile_phone(rng),
                security_director_name=names.person_name(rng),
                security_director_phone=names.mobile_phone(rng),
                has_police_room=police_room, police_room_officer=officer,
                police_room_phone=names.mobile_phone(rng) if police_room else "",
                legal_vice_principal=legal_vp, is_urban=urban,
            ))  # fmt: skip
    return rows


def _regions(rings: dict[str, Ring]) -> list[RegionRow]:
    rows = [
        RegionRow(geography.PROVINCE_CODE, geography.PROVINCE_NAME, "province", None),
        RegionRow(CITY_CODE, CITY_NAME, "city", geography.PROVINCE_CODE,
                  geography.to_geojson(geography.city_ring())),
    ]  # fmt: skip
    rows += [
        RegionRow(c.code, c.name, "county", CITY_CODE, geography.to_geojson(rings[c.code]))
        for c in COUNTIES
    ]
    return rows


def build_city(seed: int = DEFAULT_SEED, schools: int = TOTAL_SCHOOLS) -> City:
    """The whole demo city for ``seed``; ``schools`` < 2,029 builds a scaled-down sample.

    Guard and equipment totals scale with the number of schools, so a sample keeps the
    city's proportions (tests use one to compare seeds quickly).
    """
    if schools < len(COUNTIES):
        raise ValueError(f"a demo city needs at least {len(COUNTIES)} schools")
    rng = random.Random(seed)
    rings = geography.county_rings()
    towns = {c.code: _place_towns(c, rings[c.code], rng) for c in COUNTIES}
    organisations, stations = _organisations(towns, rng)
    school_rows = _schools(towns, rings, stations, schools, rng)
    companies = [o.name for o in organisations if o.kind == "security_company"]
    guard_rows = guards.post_guards(school_rows, companies, rng, scale=schools / TOTAL_SCHOOLS)
    equipment_rows = guards.issue_equipment(
        school_rows, guard_rows, rng, scale=schools / TOTAL_SCHOOLS
    )
    return City(
        seed=seed,
        regions=tuple(_regions(rings)),
        organisations=tuple(organisations),
        schools=tuple(school_rows),
        guards=tuple(guard_rows),
        equipment=tuple(equipment_rows),
        devices=tuple(device_plan.equip_schools(school_rows, seed)),
    )
