"""Benchmark: evaluate one day of guard tours for the whole city.

Builds, in a fresh temporary data dir (SQLite; or ``--database-url`` for PostgreSQL),
2,029 schools with 10 checkpoints each on one route, a day plan of 5 rounds at every
school and a night plan of 2 rounds at one school in five (≥10,000 rounds), and the
day's scans (≥100,000: most rounds walked in order and on time, some late, out of
order, with a checkpoint missed or scanned twice). Then times what the patrol sweep
does for a day — ``services.evaluate_rounds``: read the rounds and the scans, assign
and evaluate, write every changed round and raise a patrol alarm per missed
checkpoint — ``--runs`` times from the same starting state, and prints each run and
the median. Target: median ≤ 10 s.

    .venv/bin/python bench/tour_eval.py [--runs 3] [--database-url postgres://…/]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import time

from bench_django import setup_django

TARGET_S = 10.0
SCHOOLS = 2029
CHECKPOINTS = 10
DAY = dt.date(2026, 3, 2)


def build_city(rng: random.Random) -> tuple[int, int]:
    """Schools, checkpoints, routes, plans, the day's rounds and scans (not timed)."""
    from zoneinfo import ZoneInfo

    from django.db import transaction

    from campus_safety.orgs.models import Region, School
    from campus_safety.patrols import services
    from campus_safety.patrols.bulk import insert_rows
    from campus_safety.patrols.models import (
        Checkpoint,
        RouteStop,
        TourPlan,
        TourRound,
        TourRoute,
        TourScan,
    )

    zone = ZoneInfo("Asia/Shanghai")
    with transaction.atomic():
        city = Region.objects.create(code="371400", name="德州市", level="city")
        county = Region.objects.create(code="371402", name="德城区", level="county", parent=city)
        schools = [
            School(code=f"{1371400000 + n:010d}", name=f"学校{n}", kind="primary", region=county,
                   students=600, is_boarding=n % 5 == 0, longitude=116.3, latitude=37.45)
            for n in range(SCHOOLS)
        ]  # fmt: skip
        School.objects.bulk_create(schools, batch_size=1000)
        checkpoints = [
            Checkpoint(school=s, name=f"点{k}", code=f"{k:02d}")
            for s in schools
            for k in range(CHECKPOINTS)
        ]
        Checkpoint.objects.bulk_create(checkpoints, batch_size=2000)
        routes = [TourRoute(school=s, name="路线") for s in schools]
        TourRoute.objects.bulk_create(routes, batch_size=2000)
        RouteStop.objects.bulk_create(
            [
                RouteStop(route=r, checkpoint=c, position=k + 1)
                for r, n in zip(routes, range(SCHOOLS), strict=True)
                for k, c in enumerate(checkpoints[n * CHECKPOINTS : (n + 1) * CHECKPOINTS])
            ],
            batch_size=2000,
        )
        plans = [
            TourPlan(school=s, route=r, name="日常", duration_minutes=40,
                     round_starts=["07:00", "10:00", "12:30", "16:30", "19:00"])
            for s, r in zip(schools, routes, strict=True)
        ] + [
            TourPlan(school=s, route=r, name="夜间", duration_minutes=40,
                     round_starts=["22:30", "02:00"])
            for s, r in zip(schools, routes, strict=True) if s.is_boarding
        ]  # fmt: skip
        TourPlan.objects.bulk_create(plans, batch_size=2000)
        services.ensure_rounds(DAY)
        scans = []
        for pk, school_id, detail, starts in TourRound.objects.filter(day=DAY).values_list(
            "pk", "school_id", "detail", "starts_at"
        ):
            stops = list(detail)
            roll = rng.random()
            if roll < 0.04:
                stops.pop(rng.randrange(len(stops)))
            elif roll < 0.07:
                i = rng.randrange(len(stops) - 1)
                stops[i], stops[i + 1] = stops[i + 1], stops[i]
            late = 0.07 <= roll < 0.12
            at = starts.timestamp()
            for n, stop in enumerate(stops):
                at += rng.uniform(120, 200)
                when = at + (900 if late and n == len(stops) - 1 else 0)
                repeats = 2 if rng.random() < 0.02 else 1
                for m in range(repeats):
                    moment = dt.datetime.fromtimestamp(when + m * 20, zone)
                    scans.append(
                        (school_id, stop["checkpoint"], "x", "device", "bench", f"{pk}-{n}-{m}",
                         moment, moment)
                    )  # fmt: skip
        insert_rows(
            TourScan,
            ("school_id", "checkpoint_id", "code", "source", "source_key", "event_id",
             "occurred_at", "received_at"),
            scans,
        )  # fmt: skip
    return TourRound.objects.filter(day=DAY).count(), len(scans)


def reset() -> None:
    """Back to "nothing evaluated yet" (not timed)."""
    from django.db import transaction

    from campus_safety.patrols.models import PatrolAlarm, TourRound

    with transaction.atomic():
        PatrolAlarm.objects.all().delete()
        TourRound.objects.update(status="pending", evaluated_at=None, stops_on_time=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL server URL (a database is created)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    data_dir = setup_django(args.database_url, "tour")
    try:
        from zoneinfo import ZoneInfo

        from campus_safety.patrols import services
        from campus_safety.patrols.models import PatrolAlarm, TourRound

        started = time.perf_counter()
        rounds, scans = build_city(random.Random(args.seed))
        print(f"built {SCHOOLS:,} schools, {rounds:,} rounds, {scans:,} scans "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        now = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(6), ZoneInfo("Asia/Shanghai"))
        times = []
        for run in range(args.runs):
            reset()
            started = time.perf_counter()
            results = services.evaluate_rounds(TourRound.objects.filter(day=DAY), now)
            elapsed = time.perf_counter() - started
            times.append(elapsed)
            by_status: dict[str, int] = {}
            for r in results:
                by_status[r.status] = by_status.get(r.status, 0) + 1
            print(f"run {run + 1}: {elapsed:.2f} s — {len(results):,} rounds "
                  f"{dict(sorted(by_status.items()))}, "
                  f"{PatrolAlarm.objects.count():,} patrol alarms")  # fmt: skip
        median = statistics.median(times)
        verdict = "OK" if median <= TARGET_S else "OVER TARGET"
        print(f"tour_eval: {rounds:,} rounds, {scans:,} scans — median {median:.2f} s "
              f"of {args.runs} runs (target ≤ {TARGET_S:.0f} s) {verdict}")  # fmt: skip
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        if args.database_url:
            import psycopg

            base = args.database_url.rstrip("/")
            with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "cs_tour_bench_{os.getpid()}"')
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
