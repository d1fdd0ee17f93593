"""The demo's today (演示的“今天”): whatever day and hour the demo starts, it looks like
a normal day in a real city — tours walked up to now (mostly on time, some late, a few
checkpoints missed and followed up by the school), rounds still to come not started,
gate posts staffed in the windows already over, and no alarm raised or escalated
merely because the platform started (open hazards' deadlines move with the days off).

Made when ``seed-demo`` seeds the city and again when ``serve --simulate`` starts,
before the platform's periodic jobs run: a database seeded days ago gets the days in
between (at most a few), at the same rates. From then on the simulated people keep the
day going (patrol_walkers.py, duty.py).
"""

from __future__ import annotations

import datetime as dt

from campus_safety import clock
from campus_safety.patrols.services import local_day, zone
from campus_safety.simulator import demo_alarms, demo_gate, demo_hazards, patrol_history

ROSTER_BACK_DAYS = 7  # a fresh city's roster starts a week back (coverage of 7 days)


def make_today(now: dt.datetime | None = None, *, is_fresh: bool = False) -> dict[str, int]:
    """History up to ``now`` (default: the clock); ``is_fresh`` for a city seeded just
    now (yesterday's tours, the week's roster). Returns what was written."""
    now = now or clock.now()
    today = local_day(now)
    if is_fresh:
        counts = patrol_history.fill_tours(now, since=today - dt.timedelta(days=1))
        counts.update(
            patrol_history.fill_posts(now, since=today - dt.timedelta(days=ROSTER_BACK_DAYS))
        )
        counts.update(_demo_inspections().fill_inspections(now, is_fresh=True))  # issue #19
        counts["alarm_cases"] = 0
        counts.update(demo_gate.fill_gate_day(now))  # gate (issue #17)
        return counts
    hazards_carried = demo_hazards.carry_forward(now)  # first: before any new hazard
    counts = patrol_history.fill_tours(now)
    counts["hazards_carried"] = hazards_carried
    counts.update(patrol_history.fill_posts(now))
    counts.update(demo_gate.fill_gate_day(now))  # gate (issue #17)
    # after the days' tours and posts: yesterday is judged on them (issue #19)
    counts.update(_demo_inspections().fill_inspections(now))
    counts["alarm_cases"] = demo_alarms.fill_alarm_history(now)
    return counts


def start_demo_day() -> str:
    """``serve --simulate``: make today before anything else runs; a line to print."""
    now = clock.now()
    counts = make_today(now)
    from campus_safety.simulator import demo_intel  # intel (issue #18): its own module

    demo_intel.fill_intel(now)  # the year's incidents (once), today's scan and alerts
    return (
        f"Demo day made up to {now.astimezone(zone()):%Y-%m-%d %H:%M}: "
        f"{counts['tour_rounds']:,} tour rounds ({counts['tour_scans']:,} scans, "
        f"{counts['patrol_alarms']:,} past patrol alarms followed up), "
        f"{counts['post_check_ins']:,} gate-post check-ins, "
        f"{counts['alarm_cases']:,} past alarm cases."
    )


def _demo_inspections():
    """The inspections app's demo rows (issue #19), kept in their own module."""
    from campus_safety.simulator import demo_inspections

    return demo_inspections
