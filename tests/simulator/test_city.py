"""The demo city plan (no database): exact report totals, believable rows, one seed one city."""

from collections import Counter

import pytest

from campus_safety.simulator import geography, guards, names
from campus_safety.simulator.city import SIZES, TOTAL_SCHOOLS, build_city
from campus_safety.simulator.geography import COUNTIES


@pytest.fixture(scope="module")
def city():
    return build_city()


def test_the_same_seed_builds_the_same_city():
    assert build_city(7, schools=150) == build_city(7, schools=150)


def test_a_different_seed_builds_a_different_city():
    a, b = build_city(7, schools=150), build_city(8, schools=150)
    assert a.schools != b.schools
    assert [s.name for s in a.schools] != [s.name for s in b.schools]


def test_a_sample_keeps_the_city_proportions():
    sample = build_city(7, schools=203)
    kinds = Counter(g.kind for g in sample.guards)
    assert len(sample.schools) == 203
    assert kinds == {"professional": 87, "full_time": 157, "part_time": 384}


def test_the_city_has_the_report_totals(city):
    assert len(city.schools) == TOTAL_SCHOOLS
    assert Counter(g.kind for g in city.guards) == guards.GUARD_TOTALS
    assert 20_300 <= sum(e.quantity for e in city.equipment) <= 20_950


def test_school_kinds_follow_a_believable_mix(city):
    share = {k: n / TOTAL_SCHOOLS for k, n in Counter(s.kind for s in city.schools).items()}
    assert 0.42 <= share["kindergarten"] <= 0.48
    assert 0.30 <= share["primary"] <= 0.36
    assert 0.08 <= share["junior"] <= 0.12
    assert share["special"] * TOTAL_SCHOOLS == len(COUNTIES)


def test_schools_are_spread_over_the_divisions_by_population(city):
    per_county = Counter(s.region_code for s in city.schools)
    total_weight = sum(c.weight for c in COUNTIES)
    for county in COUNTIES:
        assert per_county[county.code] == pytest.approx(
            TOTAL_SCHOOLS * county.weight / total_weight, abs=1
        )


def test_school_sizes_stay_within_the_range_of_their_kind(city):
    for school in city.schools:
        lows = [low for (kind, _), (low, _, _) in SIZES.items() if kind == school.kind]
        highs = [high for (kind, _), (_, high, _) in SIZES.items() if kind == school.kind]
        assert min(lows) <= school.students <= max(highs), school


def test_boarders_are_some_of_the_students_of_boarding_schools_only(city):
    for school in city.schools:
        assert school.boarders <= school.students
        assert school.is_boarding == (school.boarders > 0)
    boarding = Counter(s.kind for s in city.schools if s.is_boarding)
    assert boarding["kindergarten"] == 0
    assert boarding["senior"] > 0.7 * 61


def test_staff_number_about_one_per_thirteen_to_sixteen_students(city):
    for school in city.schools:
        if school.students >= 100:
            assert round(school.students / 16) <= school.staff <= round(school.students / 13)


def test_school_codes_are_unique_ten_digits_led_by_the_county_code(city):
    codes = [s.code for s in city.schools]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == 10 and c.isdigit() and c[1:7] == s.region_code
               for c, s in zip(codes, city.schools, strict=True))  # fmt: skip


def test_school_names_are_unique_and_name_their_county_or_city(city):
    school_names = [s.name for s in city.schools]
    assert len(set(school_names)) == len(school_names)
    county_names = {c.code: c.name for c in COUNTIES}
    for school in city.schools:
        assert school.name.startswith((county_names[school.region_code], "德州市"))


def test_every_division_has_eight_to_fifteen_police_stations(city):
    stations = Counter(o.region_code for o in city.organisations if o.kind == "police_station")
    assert set(stations) == {c.code for c in COUNTIES}
    assert all(8 <= n <= 15 for n in stations.values())


def test_each_school_answers_to_the_nearest_station_of_its_division(city):
    stations = [o for o in city.organisations if o.kind == "police_station"]
    for school in city.schools[::7]:
        own = [o for o in stations if o.region_code == school.region_code]
        point = (school.longitude, school.latitude)
        nearest = min(own, key=lambda o: geography.distance(point, (o.longitude, o.latitude)))
        assert school.police_station_name == nearest.name


def test_every_division_has_a_sub_bureau_and_an_education_bureau(city):
    kinds = Counter(o.kind for o in city.organisations)
    assert kinds["police_bureau"] == 1
    assert kinds["police_sub_bureau"] == len(COUNTIES)
    assert kinds["education_bureau"] == len(COUNTIES) + 1
    assert 8 <= kinds["security_company"] <= 15


def test_about_half_the_schools_have_a_campus_police_room_with_its_officer(city):
    rooms = [s for s in city.schools if s.has_police_room]
    assert 0.4 <= len(rooms) / TOTAL_SCHOOLS <= 0.6
    assert all(s.police_room_officer and s.police_room_phone for s in rooms)
    assert all(s.legal_vice_principal for s in city.schools)


def test_phones_are_eleven_digit_mobile_numbers(city):
    phones = [s.principal_phone for s in city.schools] + [g.phone for g in city.guards]
    assert all(len(p) == 11 and p.startswith("1") and p.isdigit() for p in phones)


def test_each_professional_guard_works_for_a_security_company(city):
    companies = {o.name for o in city.organisations if o.kind == "security_company"}
    for guard in city.guards:
        assert (guard.company_name in companies) == (guard.kind == "professional")


def test_most_guards_are_certified(city):
    certified = sum(bool(g.certificate_number) for g in city.guards)
    assert certified / len(city.guards) > 0.7


def test_guard_id_numbers_are_valid_and_from_the_guards_division(city):
    for guard, school in _guards_with_schools(city)[::50]:
        number = guard.id_number
        assert number[:6] == school.region_code
        assert names.national_id(number[:6], _birth(number), _Fixed(number[14:17])) == number


def test_every_school_has_someone_at_the_gate(city):
    per_school = Counter(g.school_code for g in city.guards)
    assert all(per_school[s.code] >= 1 for s in city.schools)


def test_bigger_schools_have_more_guards(city):
    per_school = Counter(g.school_code for g in city.guards)
    small = [per_school[s.code] for s in city.schools if s.students < 300]
    big = [per_school[s.code] for s in city.schools if s.students >= 1500]
    assert sum(big) / len(big) > 2 * sum(small) / len(small)


def test_every_school_holds_a_baton_and_a_steel_fork(city):
    held = {(e.school_code, e.kind) for e in city.equipment}
    assert all((s.code, "baton") in held and (s.code, "steel_fork") in held for s in city.schools)


def test_guards_first_fill_the_schools_that_need_fewest():
    assert guards.share_counted_guards([1, 2, 4], budget=3, rng=_Fixed("0")) == [1, 2, 0]


def test_a_target_share_of_schools_stays_short_even_with_guards_to_spare():
    counted = guards.share_counted_guards([2] * 10, budget=100, rng=_Fixed("0"),
                                          target_short_share=0.2)  # fmt: skip
    assert sum(c < 2 for c in counted) == 2
    assert sum(counted) == 100


def _guards_with_schools(city):
    by_code = {s.code: s for s in city.schools}
    return [(g, by_code[g.school_code]) for g in city.guards]


def _birth(number):
    from datetime import date

    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


class _Fixed:
    """A stand-in ``random.Random`` returning fixed draws, for exact expectations."""

    def __init__(self, digits: str) -> None:
        self.value = int(digits)

    def randrange(self, *args):
        return self.value

    def uniform(self, a, b):
        return a
