"""Patrol figures: live coverage of 护学岗 windows, the 护学岗 setting and coverage
rates per district (the fourth of the 4×100% targets, RULES.md §3) and daily guard-tour
compliance (≥5 rounds a day, GB/T 29315-2022). Computed from the rows, never stored.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from django.db.models import Count, Q, QuerySet

from campus_safety import clock
from campus_safety.orgs.models import School
from campus_safety.patrols import peak_posts, services
from campus_safety.patrols.models import PeakPost, PostAssignment, PostCheckIn
from campus_safety.patrols.post_rules import (
    EMPTY,
    STAFFED,
    Timetable,
    coverage_state,
    is_school_day,
)

UPCOMING, LIVE, CLOSED = "upcoming", "live", "closed"
COVERAGE_DAYS = 7


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _presence(
    post_ids: Any, day: dt.date, now: dt.datetime
) -> tuple[dict[tuple[int, str], dict[str, int]], dict[tuple[int, str], dict[str, int]]]:
    """Head-counts per (post, peak) and person type on ``day``, counted by the database
    (one row per post, peak and type, not one per check-in): those there at ``now``
    (checked in, not yet out) and everyone who checked in."""
    present: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    everyone: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    for post_id, peak, kind, here, n in (
        PostCheckIn.objects.filter(assignment__day=day, post__in=post_ids)
        .order_by()
        .values_list("post_id", "assignment__peak", "person_type")
        .annotate(
            here=Count("pk", filter=Q(checked_out_at__isnull=True) | Q(checked_out_at__gt=now)),
            n=Count("pk"),
        )
        .values_list("post_id", "assignment__peak", "person_type", "here", "n")
    ):
        everyone[(post_id, peak)][kind] = n
        if here:
            present[(post_id, peak)][kind] = here
    return present, everyone


def window_summary(
    posts: QuerySet, day: dt.date, now: dt.datetime, live_limit: int = 500
) -> dict[str, Any]:
    """What a wall screen shows of ``day``'s windows, without loading a post as an
    object: windows by state and by phase, heads present and required, and the first
    ``live_limit`` posts whose window is open now (with the place to draw them). The
    head-counts are grouped in the database (``_presence``); the posts come as
    (id, school, required) rows; only the live posts' names and places are fetched."""
    active = posts.filter(is_active=True).order_by()
    rows = list(active.values_list("pk", "school_id", "required").order_by("pk"))
    tables = peak_posts.timetables({school for _pk, school, _req in rows})
    default = Timetable.default()
    present, everyone = _presence(active.values("pk"), day, now)
    by_state: Counter[str] = Counter()
    by_phase: Counter[str] = Counter()
    windows = heads = required_heads = 0
    live: list[tuple[int, str, int, int]] = []
    if is_school_day(day, services.holiday_calendar(day, day)):
        for pk, school_id, required in rows:
            need = sum(required.values())
            for peak, (opens, closes) in tables.get(school_id, default).windows(day).items():
                phase = UPCOMING if now < opens else LIVE if now <= closes else CLOSED
                here = (everyone if phase == CLOSED else present).get((pk, peak), {})
                state = coverage_state(required, here) if phase != UPCOMING else ""
                count = sum(here.values())
                windows += 1
                by_phase[phase] += 1
                heads += count
                required_heads += need
                if state:
                    by_state[state] += 1
                if phase == LIVE and len(live) < live_limit:
                    live.append((pk, state, count, need))
    places = {
        row[0]: row[1:]
        for row in PeakPost.objects.filter(pk__in=[p[0] for p in live]).values_list(
            "pk", "name", "school__name", "longitude", "latitude"
        )
    }
    return {
        "windows": windows,
        "by_state": dict(by_state),
        "by_phase": dict(by_phase),
        "present": heads,
        "required": required_heads,
        "live": [
            {
                "name": places[pk][0],
                "school": places[pk][1],
                "lon": places[pk][2],
                "lat": places[pk][3],
                "state": state,
                "present": count,
                "required": need,
            }
            for pk, state, count, need in live
        ],
    }


def window_coverage(posts: QuerySet, day: dt.date, now: dt.datetime) -> list[dict[str, Any]]:
    """Each active post's two windows on ``day``: who is rostered, who is there (live:
    checked in and not yet out; closed: everyone who checked in), and the state."""
    posts = list(posts.filter(is_active=True).select_related("school"))
    tables = peak_posts.timetables({p.school_id for p in posts})
    default = Timetable.default()
    rostered: dict[tuple[int, str], int] = defaultdict(int)
    for post_id, peak, n in (
        PostAssignment.objects.filter(day=day, post__in=posts)
        .values_list("post_id", "peak")
        .annotate(n=Count("pk"))
        .values_list("post_id", "peak", "n")
    ):
        rostered[(post_id, peak)] = n
    present, everyone = _presence([p.pk for p in posts], day, now)
    rows = []
    school_day = is_school_day(day, services.holiday_calendar(day, day))
    for post in posts:
        if not school_day:
            continue
        for peak, (opens, closes) in tables.get(post.school_id, default).windows(day).items():
            phase = UPCOMING if now < opens else LIVE if now <= closes else CLOSED
            counted = everyone if phase == CLOSED else present
            here = dict(counted[(post.pk, peak)])
            rows.append(
                {
                    "post": post,
                    "peak": peak,
                    "opens": opens,
                    "closes": closes,
                    "phase": phase,
                    "required": post.required,
                    "required_total": post.required_total,
                    "rostered": rostered[(post.pk, peak)],
                    "present": here,
                    "present_total": sum(here.values()),
                    "state": coverage_state(post.required, here) if phase != UPCOMING else "",
                }
            )
    return rows


def coverage_by_district(
    schools: QuerySet, now: dt.datetime | None = None, days: int = COVERAGE_DAYS
) -> dict[str, Any]:
    """护学岗 setting rate (schools with an active post) and coverage rate (windows of
    the last ``days`` days that closed staffed), city-wide and per district."""
    now = now or clock.now()
    today = services.local_day(now)
    start = today - dt.timedelta(days=days - 1)
    calendar = services.holiday_calendar(start, today)
    school_rows = list(schools.order_by().values_list("pk", "region_id"))
    region_of = dict(school_rows)
    posts = list(
        PeakPost.objects.filter(is_active=True, school_id__in=region_of).values_list(
            "pk", "school_id", "required", "in_service_since"
        )
    )
    tables = peak_posts.timetables({p[1] for p in posts})
    default = Timetable.default()
    present: dict[tuple[int, dt.date, str], dict[str, int]] = defaultdict(dict)
    for post_id, day, peak, kind, n in (
        PostCheckIn.objects.filter(
            assignment__day__range=(start, today), post_id__in=[p[0] for p in posts]
        )
        .values_list("post_id", "assignment__day", "assignment__peak", "person_type")
        .annotate(n=Count("pk"))
        .values_list("post_id", "assignment__day", "assignment__peak", "person_type", "n")
    ):
        present[(post_id, day, peak)][kind] = n
    blank = {"schools": 0, "with_post": 0, "posts": 0, "windows": 0, "staffed": 0, "empty": 0}
    by_region: dict[int, dict[str, int]] = defaultdict(lambda: dict(blank))
    total = dict(blank)
    for _pk, region in school_rows:
        by_region[region]["schools"] += 1
    posted = set()
    for post_id, school_id, required, since in posts:
        region = region_of[school_id]
        row = by_region[region]
        row["posts"] += 1
        if school_id not in posted:
            posted.add(school_id)
            row["with_post"] += 1
        table = tables.get(school_id, default)
        for n in range(days):
            day = start + dt.timedelta(days=n)
            if day < since or not is_school_day(day, calendar):
                continue
            for peak, (_opens, closes) in table.windows(day).items():
                if closes > now:
                    continue
                state = coverage_state(required, present.get((post_id, day, peak), {}))
                row["windows"] += 1
                row["staffed"] += state == STAFFED
                row["empty"] += state == EMPTY
    from campus_safety.orgs.models import Region

    districts = []
    for region in Region.objects.filter(pk__in=by_region).order_by("code"):
        row = by_region[region.pk]
        for key in blank:
            total[key] += row[key]
        districts.append(
            {
                "code": region.code,
                "name": region.name,
                **row,
                "setting_rate": _rate(row["with_post"], row["schools"]),
                "coverage_rate": _rate(row["staffed"], row["windows"]),
            }
        )
    return {
        "from": start,
        "to": today,
        **total,
        "setting_rate": _rate(total["with_post"], total["schools"]),
        "coverage_rate": _rate(total["staffed"], total["windows"]),
        "districts": districts,
    }


def tour_compliance_rate(schools: QuerySet, day: dt.date) -> float:
    """Share of ``schools`` that walked at least the required rounds on ``day``."""
    rows = services.compliance(schools, day)
    return _rate(sum(r.is_compliant for r in rows.values()), len(rows))


def summary_block(schools: QuerySet | None = None) -> dict[str, Any]:
    """The summary report's ``patrols`` block: active posts, the 护学岗 coverage rate
    of the last 7 days' closed windows, and yesterday's tour compliance rate."""
    schools = School.objects.all() if schools is None else schools
    now = clock.now()
    coverage = coverage_by_district(schools, now)
    yesterday = services.local_day(now) - dt.timedelta(days=1)
    return {
        "posts": coverage["posts"],
        "post_coverage_rate": coverage["coverage_rate"],
        "tour_compliance_rate": tour_compliance_rate(schools, yesterday),
    }
