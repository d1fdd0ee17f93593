"""How many guards a school needs (RULES.md §1–2), and how short of that it is.

Two selectable rules:

* ``gbt29315_2022`` (default) — GB/T 29315-2022, by *non-boarding* students:
  <100 → 1; 100–999 → 2; ≥1000 → 3 plus 1 per further 500.
* ``spec_2015`` — 《中小学幼儿园安全防范工作规范（试行）》公治〔2015〕168号, by
  *staff + students*: <100 → 1; 100–1000 → 2; >1000 → 2 plus 1 per further 500.

"Per further 500" counts started blocks by default (1,001 day students already need a
fourth guard); ``STAFFING_BLOCK_ROUNDING = "full"`` counts only full blocks. Boarding
has no national figure, so extra guards per boarder are off unless configured.

Only professional and full-time guards count towards the requirement: part-time staff
do not meet the 专职保安员配备率 target.

The rule exists twice on purpose: as a plain function (the specification, tested at
every band edge) and as a database expression, so lists can sort and filter by gap on
2,000 schools in one query. A test keeps the two equal on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, ExpressionWrapper, F, IntegerField, Q, Value, When
from django.db.models.functions import Greatest
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual, LessThan
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class StaffingRule:
    """A staffing policy: bands on a head-count basis plus blocks above the top band."""

    key: str
    label: str
    basis: str  # "day_students" or "staff_and_students"
    small_below: int  # basis below this → 1 guard
    top_from: int  # basis at or above (or above, see top_exclusive) → top_guards + blocks
    top_guards: int
    top_exclusive: bool  # spec 2015 says ">1000", GB/T 29315 says "≥1000"
    block: int = 500
    block_rounding: str = "started"
    boarders_per_guard: int = 0


RULES = {
    "gbt29315_2022": StaffingRule(
        key="gbt29315_2022",
        label=_("GB/T 29315-2022 (by non-boarding students)"),
        basis="day_students",
        small_below=100,
        top_from=1000,
        top_guards=3,
        top_exclusive=False,
    ),
    "spec_2015": StaffingRule(
        key="spec_2015",
        label=_("2015 security work specification (by staff + students)"),
        basis="staff_and_students",
        small_below=100,
        top_from=1000,
        top_guards=2,
        top_exclusive=True,
    ),
}
COUNTED_KINDS = ("professional", "full_time")


def get_rule(key: str | None = None) -> StaffingRule:
    """The configured rule (settings), or the one named by ``key``."""
    base = RULES.get(key or settings.STAFFING_RULE)
    if base is None:
        raise ValueError(f"unknown staffing rule {key!r}; choose one of {sorted(RULES)}")
    rounding = settings.STAFFING_BLOCK_ROUNDING
    if rounding not in {"started", "full"}:
        raise ValueError(f"STAFFING_BLOCK_ROUNDING must be 'started' or 'full', not {rounding!r}")
    return StaffingRule(
        **{
            **base.__dict__,
            "block_rounding": rounding,
            "boarders_per_guard": settings.STAFFING_BOARDERS_PER_GUARD,
        }
    )


def basis_of(rule: StaffingRule, *, students: int, boarders: int, staff: int) -> int:
    if rule.basis == "day_students":
        return max(students - boarders, 0)
    return students + staff


def required_guards(rule: StaffingRule, *, students: int, boarders: int = 0, staff: int = 0) -> int:
    """Guards the rule requires for a school of this size."""
    n = basis_of(rule, students=students, boarders=boarders, staff=staff)
    if n < rule.small_below:
        required = 1
    elif n < rule.top_from or (rule.top_exclusive and n == rule.top_from):
        required = 2
    else:
        extra = n - rule.top_from
        if rule.block_rounding == "started":
            blocks = -(-extra // rule.block)
        else:
            blocks = extra // rule.block
        required = rule.top_guards + blocks
    if rule.boarders_per_guard and boarders:
        required += -(-boarders // rule.boarders_per_guard)
    return required


def _basis_expression(rule: StaffingRule) -> ExpressionWrapper:
    if rule.basis == "day_students":
        expr = F("students") - F("boarders")
    else:
        expr = F("students") + F("staff")
    return ExpressionWrapper(expr, output_field=IntegerField())


def required_expression(rule: StaffingRule):
    """``required_guards`` as a SQL expression over School columns (same results)."""
    basis = _basis_expression(rule)
    extra = ExpressionWrapper(basis - Value(rule.top_from), output_field=IntegerField())
    if rule.block_rounding == "started":
        blocks = (extra + Value(rule.block - 1)) / Value(rule.block)
    else:
        blocks = extra / Value(rule.block)
    top = GreaterThan if rule.top_exclusive else GreaterThanOrEqual
    required = Case(
        When(LessThan(basis, rule.small_below), then=Value(1)),
        When(
            top(basis, rule.top_from),
            then=ExpressionWrapper(Value(rule.top_guards) + blocks, output_field=IntegerField()),
        ),
        default=Value(2),
        output_field=IntegerField(),
    )
    if rule.boarders_per_guard:
        per = rule.boarders_per_guard
        required = ExpressionWrapper(
            required + (F("boarders") + Value(per - 1)) / Value(per),
            output_field=IntegerField(),
        )
    return required


def annotate_staffing(schools, rule: StaffingRule | None = None):
    """Add ``basis``, ``guards_*`` counts, ``required_guards`` and ``guard_gap`` to schools."""
    rule = rule or get_rule()
    counted = Q(guards__kind__in=COUNTED_KINDS)
    return (
        schools.annotate(
            basis=_basis_expression(rule),
            guards_professional=Count("guards", filter=Q(guards__kind="professional")),
            guards_full_time=Count("guards", filter=Q(guards__kind="full_time")),
            guards_part_time=Count("guards", filter=Q(guards__kind="part_time")),
            guards_counted=Count("guards", filter=counted),
        )
        .annotate(required_guards=required_expression(rule))
        .annotate(guard_gap=Greatest(F("required_guards") - F("guards_counted"), Value(0)))
    )
