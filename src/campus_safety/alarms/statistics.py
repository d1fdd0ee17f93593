"""Response-time statistics (出警统计): how fast alarms are acknowledged, dispatched and
reached, per district and month, and how many are false alarms. Drills (test cases)
never count."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from campus_safety.alarms.models import AlarmCase
from campus_safety.scoping import is_police

State = AlarmCase.State
STEPS = {"ack": "acknowledged_at", "dispatch": "dispatched_at", "arrive": "arrived_at"}


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value at rank ⌈p·n⌉): always an observed time."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def _seconds(start: dt.datetime, end: dt.datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


def real_cases(cases: QuerySet) -> QuerySet:
    return cases.filter(is_test=False)


def response_times(cases: QuerySet) -> list[dict[str, Any]]:
    """One row per (district, month): count and p50/p90 seconds for each step."""
    rows = real_cases(cases).values(
        "opened_at", *STEPS.values(), "school__region__code", "school__region__name"
    )
    groups: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(
        lambda: {k: [] for k in STEPS}
    )
    for row in rows.iterator():
        month = timezone.localtime(row["opened_at"]).strftime("%Y-%m")
        key = (row["school__region__code"] or "", row["school__region__name"] or "", month)
        for step, field in STEPS.items():
            seconds = _seconds(row["opened_at"], row[field])
            if seconds is not None:
                groups[key][step].append(seconds)
    return [
        {
            "district_code": code,
            "district": name,
            "month": month,
            **{
                step: {
                    "count": len(values),
                    "p50_s": percentile(values, 0.5),
                    "p90_s": percentile(values, 0.9),
                }
                for step, values in steps.items()
            },
        }
        for (code, name, month), steps in sorted(groups.items())
    ]


def false_alarm_rates(cases: QuerySet, by: str = "school") -> list[dict[str, Any]]:
    """Share of closed real cases that were false alarms, per school or per device."""
    key, label = ("school_id", "school__name") if by == "school" else ("device_id", "device__name")
    counts: dict[Any, dict[str, Any]] = {}
    closed = real_cases(cases).filter(state__in=[State.RESOLVED, State.FALSE_ALARM])
    for row in closed.values(key, label, "state").iterator():
        entry = counts.setdefault(row[key], {"id": row[key], "name": row[label], "closed": 0})
        entry["closed"] += 1
        entry["false_alarms"] = entry.get("false_alarms", 0) + (row["state"] == State.FALSE_ALARM)
    return [
        {**e, "rate": round(e["false_alarms"] / e["closed"], 3)}
        for e in sorted(counts.values(), key=lambda e: (-e["false_alarms"], str(e["name"])))
    ]


def summary_block(schools: QuerySet, reader: Any = None) -> dict[str, Any]:
    """``alarms`` block of the summary report over these schools' real cases.

    total = real cases opened; false_alarm_rate = false alarms / closed real cases;
    p50_ack_s and p90_arrival_s are nearest-rank seconds from opening. A watch-list
    hit's case is police-only: a ``reader`` who is not police (a page's or the API's
    user) counts without it; no reader (the command line) counts everything.
    """
    cases = AlarmCase.objects.filter(school__in=schools.order_by().values("pk"), is_test=False)
    if reader is not None and not is_police(reader):
        cases = cases.filter(police_only=False)
    rows = list(cases.values_list("state", "opened_at", "acknowledged_at", "arrived_at"))
    closed = [r for r in rows if r[0] in (State.RESOLVED, State.FALSE_ALARM)]
    false = sum(1 for r in closed if r[0] == State.FALSE_ALARM)
    acks = [s for r in rows if (s := _seconds(r[1], r[2])) is not None]
    arrivals = [s for r in rows if (s := _seconds(r[1], r[3])) is not None]
    return {
        "total": len(rows),
        "false_alarm_rate": round(false / len(closed), 3) if closed else 0.0,
        "p50_ack_s": percentile(acks, 0.5),
        "p90_arrival_s": percentile(arrivals, 0.9),
    }


# --- the statistics page: a period, a district, one row per district ----------------------

PERIODS = ("this_month", "last_3_months", "this_year", "custom")


def period_range(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """First and last local day of a named period ending in the month of ``today``:
    this month, this month and the two before it, or this calendar year."""
    month_start = today.replace(day=1)
    if period == "this_month":
        start = month_start
    elif period == "last_3_months":
        month = month_start.month - 2
        start = month_start.replace(
            year=month_start.year + (month - 1) // 12, month=(month - 1) % 12 + 1
        )
    elif period == "this_year":
        start = today.replace(month=1, day=1)
    else:
        raise ValueError(f"unknown period {period!r}")
    return start, today


def opened_between(cases: QuerySet, first: dt.date, last: dt.date) -> QuerySet:
    """Cases opened from ``first`` to ``last`` inclusive, in local days."""
    start = timezone.make_aware(dt.datetime.combine(first, dt.time()))
    end = timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
    return cases.filter(opened_at__gte=start, opened_at__lt=end)


class _Figures:
    """Running figures of one district (or of all): seconds per step, closed, false."""

    def __init__(self) -> None:
        self.alarms = self.closed = self.false_alarms = 0
        self.seconds: dict[str, list[float]] = {step: [] for step in STEPS}

    def add(self, row: dict[str, Any]) -> None:
        self.alarms += 1
        if row["state"] in (State.RESOLVED, State.FALSE_ALARM):
            self.closed += 1
            self.false_alarms += row["state"] == State.FALSE_ALARM
        for step, field in STEPS.items():
            seconds = _seconds(row["opened_at"], row[field])
            if seconds is not None:
                self.seconds[step].append(seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "alarms": self.alarms,
            **{
                step: {
                    "count": len(values),
                    "p50_s": percentile(values, 0.5),
                    "p90_s": percentile(values, 0.9),
                }
                for step, values in self.seconds.items()
            },
            "closed": self.closed,
            "false_alarms": self.false_alarms,
            "false_alarm_rate": round(self.false_alarms / self.closed, 3) if self.closed else 0.0,
        }


def by_district(cases: QuerySet) -> dict[str, Any]:
    """出警统计 — one row per district over ``cases`` (already narrowed to a period and
    a scope) and the total, each with: real alarms; count, median and 90th percentile
    seconds from opening to acknowledge, dispatch and arrival; closed cases, false
    alarms and the false-alarm rate (false alarms / closed). The total is computed over
    all the cases, never averaged from the rows."""
    rows = real_cases(cases).values(
        "state", "opened_at", *STEPS.values(), "school__region__code", "school__region__name"
    )
    districts: dict[tuple[str, str], _Figures] = defaultdict(_Figures)
    total = _Figures()
    for row in rows.iterator():
        key = (row["school__region__code"] or "", row["school__region__name"] or "")
        districts[key].add(row)
        total.add(row)
    return {
        "districts": [
            {"code": code, "name": name, **figures.as_dict()}
            for (code, name), figures in sorted(districts.items())
        ],
        "total": total.as_dict(),
    }
