"""How often a school must hold an evacuation drill, and whether it has (pure rules).

教基一厅〔2014〕2号 《中小学幼儿园应急疏散演练指南》: primary and secondary schools at
least one evacuation drill a month, kindergartens at least one a quarter; 《中小学幼儿园
安全管理办法》 (2006) asks for at least one a term. The numbers and sources are in
docs/linkage.md; the period per school kind is the setting ``LINKAGE_DRILL_PERIODS``.

A term is split into periods (calendar months or quarters, or the whole term); a
period counts when at least ``MIN_PERIOD_DAYS`` of it lie in the term (a term that
starts on 28 February owes no February drill). Each period is done (a drill held in
it), due (running, none yet), overdue (ended without one) or upcoming.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

MONTH, QUARTER, TERM = "month", "quarter", "term"
DEFAULT_PERIODS = {
    "kindergarten": QUARTER,
    "primary": MONTH,
    "junior": MONTH,
    "senior": MONTH,
    "nine_year": MONTH,
    "twelve_year": MONTH,
    "vocational": TERM,
    "special": MONTH,
}
MIN_PERIOD_DAYS = 14
DONE, DUE, OVERDUE, UPCOMING = "done", "due", "overdue", "upcoming"
SEVERITY = {OVERDUE: 3, DUE: 2, DONE: 1, UPCOMING: 0}


@dataclass(frozen=True)
class Term:
    name: str
    starts_on: dt.date
    ends_on: dt.date


@dataclass(frozen=True)
class Period:
    starts_on: dt.date
    ends_on: dt.date
    status: str
    drills: int


def default_term(day: dt.date) -> Term:
    """The term a day belongs to when the calendar has none: spring 1 Mar – 15 Jul,
    autumn 1 Sep – 20 Jan; a day in a holiday belongs to the term that just ended."""
    year = day.year
    autumn_prev = Term(f"{year - 1}秋", dt.date(year - 1, 9, 1), dt.date(year, 1, 20))
    spring = Term(f"{year}春", dt.date(year, 3, 1), dt.date(year, 7, 15))
    autumn = Term(f"{year}秋", dt.date(year, 9, 1), dt.date(year + 1, 1, 20))
    if day < spring.starts_on:
        return autumn_prev
    if day < autumn.starts_on:
        return spring
    return autumn


def _month_end(day: dt.date) -> dt.date:
    nxt = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _quarter_end(day: dt.date) -> dt.date:
    last_month = (day.month - 1) // 3 * 3 + 3
    return _month_end(dt.date(day.year, last_month, 1))


def periods_of(term: Term, period: str) -> list[tuple[dt.date, dt.date]]:
    """The spans of ``term`` that each need a drill (clipped to the term)."""
    if period == TERM:
        return [(term.starts_on, term.ends_on)]
    spans = []
    start = term.starts_on
    while start <= term.ends_on:
        end = min(_month_end(start) if period == MONTH else _quarter_end(start), term.ends_on)
        if (end - start).days + 1 >= MIN_PERIOD_DAYS:
            spans.append((start, end))
        start = end + dt.timedelta(days=1)
    return spans


def compliance(
    term: Term, period: str, drill_days: Iterable[dt.date], today: dt.date
) -> list[Period]:
    """Each period of the term with its status on ``today``."""
    days = sorted(drill_days)
    result = []
    for start, end in periods_of(term, period):
        held = sum(1 for d in days if start <= d <= end and d <= today)
        if held:
            status = DONE
        elif end < today:
            status = OVERDUE
        elif start <= today:
            status = DUE
        else:
            status = UPCOMING
        result.append(Period(start, end, status, held))
    return result


def overall(periods: list[Period]) -> str:
    """The school's status for the term: the worst of its periods so far."""
    seen = [p.status for p in periods if p.status != UPCOMING]
    if not seen:
        return UPCOMING
    return max(seen, key=SEVERITY.__getitem__)
