"""The automatic daily inspection: every school scored by the rule set (rules.py),
ranked in its district and the city, stored per day (history and trend)."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from campus_safety import bus, clock
from campus_safety.inspections import rules
from campus_safety.inspections.models import DailyResult, InspectionRun
from campus_safety.orgs.models import School
from campus_safety.workforce.staffing import annotate_staffing

PASS_SCORE = 60.0


@dataclass
class RunSummary:
    day: dt.date
    schools: int
    mean_score: float
    below_pass: int
    seconds: float
    notices: int = 0  # issued automatically by this run (rules.NOTICE_*)


def inspection_moment(day: dt.date, now: dt.datetime | None = None) -> dt.datetime:
    """The moment a day is judged at: its end, or now when the day is today."""
    now = now or clock.now()
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    return min(end, now)


def _context(day: dt.date, now: dt.datetime) -> rules.Context:
    schools: dict[int, dict[str, Any]] = {}
    rows = annotate_staffing(School.objects.all()).values(
        "id", "kind", "is_boarding", "guard_gap", "region_id"
    )
    for row in rows:
        schools[row["id"]] = row
    return rules.Context(day=day, now=now, schools=schools)


def score_day(day: dt.date, now: dt.datetime | None = None) -> list[DailyResult]:
    """Every school's result for ``day`` (unsaved), ranked."""
    ctx = _context(day, inspection_moment(day, now))
    items: dict[int, dict[str, dict[str, Any]]] = {sid: {} for sid in ctx.schools}
    lost: dict[int, float] = defaultdict(float)
    for item in rules.ITEMS:
        failures = item.check(ctx)
        for school_id in ctx.schools:
            failure = failures.get(school_id)
            if failure is None:
                items[school_id][item.code] = {"ok": True}
                continue
            figure, words = failure
            items[school_id][item.code] = {
                "ok": False,
                "lost": item.weight,
                "value": figure,
                "detail": words,
            }
            lost[school_id] += item.weight
    results = [
        DailyResult(
            school_id=school_id,
            day=day,
            ruleset=rules.VERSION,
            score=max(0.0, 100.0 - lost[school_id]),
            items=items[school_id],
            failed=sum(1 for v in items[school_id].values() if not v["ok"]),
        )
        for school_id in ctx.schools
    ]
    _rank(results, ctx)
    return results


def _rank(results: list[DailyResult], ctx: rules.Context) -> None:
    """Competition ranking (1, 2, 2, 4) by score, in the district and the city."""

    def assign(group: list[DailyResult], attr: str) -> None:
        group.sort(key=lambda r: -r.score)
        previous, rank = None, 0
        for index, result in enumerate(group, start=1):
            if result.score != previous:
                rank, previous = index, result.score
            setattr(result, attr, rank)

    by_district: dict[int, list[DailyResult]] = defaultdict(list)
    for result in results:
        by_district[ctx.schools[result.school_id]["region_id"]].append(result)
    for group in by_district.values():
        assign(group, "district_rank")
    assign(list(results), "city_rank")


def run_daily_inspection(
    day: dt.date | None = None, now: dt.datetime | None = None, *, issue_notices: bool = True
) -> RunSummary:
    """Inspect every school for ``day`` (default: today) and store the results, then
    issue the notices the rule set asks for (notices.issue_daily_notices); a second run
    of the same day replaces the figures, keeps the notices issued from them and issues
    none twice."""
    started = time.perf_counter()
    now = now or clock.now()
    day = day or timezone.localdate(now)
    results = score_day(day, now)
    with transaction.atomic():
        DailyResult.objects.bulk_create(
            results,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["school", "day"],
            update_fields=[
                "ruleset",
                "score",
                "district_rank",
                "city_rank",
                "items",
                "failed",
            ],
        )
        seconds = time.perf_counter() - started
        InspectionRun.objects.create(
            day=day, ruleset=rules.VERSION, started_at=now, seconds=seconds, schools=len(results)
        )
        summary = RunSummary(
            day=day,
            schools=len(results),
            mean_score=round(sum(r.score for r in results) / len(results), 1) if results else 0,
            below_pass=sum(1 for r in results if r.score < PASS_SCORE),
            seconds=round(seconds, 2),
        )
        bus.publish_on_commit(
            "inspection.completed",
            day=day.isoformat(),
            schools=summary.schools,
            mean_score=summary.mean_score,
        )
    if issue_notices:
        from campus_safety.inspections.notices import issue_daily_notices

        summary.notices = len(issue_daily_notices(day).issued)
    return summary
