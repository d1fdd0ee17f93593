"""The staffing rules at their band edges (RULES.md §1–2), in Python and in SQL."""

import pytest
from django.test import override_settings

from campus_safety.orgs.models import School
from campus_safety.workforce.staffing import annotate_staffing, get_rule, required_guards
from tests.factories import GuardFactory, SchoolFactory

# GB/T 29315-2022 by non-boarding students; "started" blocks of 500 above 1,000.
GBT_STARTED = [
    (0, 1),
    (99, 1),
    (100, 2),
    (999, 2),
    (1000, 3),
    (1001, 4),
    (1499, 4),
    (1500, 4),
    (1501, 5),
    (2000, 5),
    (2001, 6),
]
GBT_FULL = [
    (99, 1),
    (100, 2),
    (999, 2),
    (1000, 3),
    (1499, 3),
    (1500, 4),
    (1501, 4),
    (1999, 4),
    (2000, 5),
]
# 2015 规范 by staff + students: 100–1000 inclusive → 2, above 1000 +1 per 500.
SPEC_STARTED = [(99, 1), (100, 2), (999, 2), (1000, 2), (1001, 3), (1499, 3), (1500, 3), (1501, 4)]


@pytest.mark.parametrize(("students", "expected"), GBT_STARTED)
def test_gbt29315_rule_counts_started_blocks_by_default(students, expected):
    assert required_guards(get_rule("gbt29315_2022"), students=students) == expected


@pytest.mark.parametrize(("students", "expected"), GBT_FULL)
@override_settings(STAFFING_BLOCK_ROUNDING="full")
def test_gbt29315_rule_can_count_only_full_blocks(students, expected):
    assert required_guards(get_rule("gbt29315_2022"), students=students) == expected


@pytest.mark.parametrize(("basis", "expected"), SPEC_STARTED)
def test_spec_2015_rule_counts_staff_and_students(basis, expected):
    rule = get_rule("spec_2015")
    assert required_guards(rule, students=basis - 10, staff=10) == expected


def test_gbt29315_rule_ignores_boarders():
    rule = get_rule("gbt29315_2022")
    assert required_guards(rule, students=1100, boarders=200) == 2


@override_settings(STAFFING_BOARDERS_PER_GUARD=300)
def test_configured_boarder_ratio_adds_guards_per_started_block():
    rule = get_rule("gbt29315_2022")
    assert required_guards(rule, students=900, boarders=301) == 2 + 2


def test_unknown_rule_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown staffing rule"):
        get_rule("nonsense")


@pytest.mark.django_db
@pytest.mark.parametrize("rule_key", ["gbt29315_2022", "spec_2015"])
@pytest.mark.parametrize("rounding", ["started", "full"])
def test_database_expression_equals_python_rule_at_every_edge(rule_key, rounding):
    sizes = [
        0,
        50,
        99,
        100,
        101,
        500,
        989,
        990,
        999,
        1000,
        1001,
        1499,
        1500,
        1501,
        2000,
        2001,
        4321,
    ]
    for n in sizes:
        SchoolFactory(students=n, boarders=n // 10, staff=10)
    with override_settings(STAFFING_BLOCK_ROUNDING=rounding, STAFFING_BOARDERS_PER_GUARD=150):
        rule = get_rule(rule_key)
        rows = annotate_staffing(School.objects.all(), rule)
        for school in rows:
            expected = required_guards(
                rule, students=school.students, boarders=school.boarders, staff=school.staff
            )
            assert school.required_guards == expected, school.students


@pytest.mark.django_db
def test_gap_counts_professional_and_full_time_but_not_part_time():
    school = SchoolFactory(students=1200)  # needs 4
    GuardFactory(school=school, kind="full_time")
    GuardFactory(school=school, kind="part_time")
    GuardFactory(school=school, kind="part_time")
    row = annotate_staffing(School.objects.filter(pk=school.pk)).get()
    assert (row.guards_counted, row.guards_part_time, row.required_guards, row.guard_gap) == (
        1,
        2,
        4,
        3,
    )


@pytest.mark.django_db
def test_gap_is_never_negative():
    school = SchoolFactory(students=50)
    GuardFactory.create_batch(3, school=school)
    assert annotate_staffing(School.objects.filter(pk=school.pk)).get().guard_gap == 0
