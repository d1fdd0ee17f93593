"""Benchmark: a special operation's page figures (intel/effect.py) on the demo city.

In a fresh temporary data dir (SQLite; ``--database-url`` for PostgreSQL): seeds the
demo city (``--schools``, default the full 2,029) and its year of school-related
incidents (``fill_intel``: ~2,400 incidents, the two demo operations), then times
``operation_effect`` — area, nearest-rate matching of the comparison schools, counts per
period and the difference in differences — for

1. the finished demo operation (the schools within 2 km of a planted outbreak);
2. the running demo operation over a whole district (德城区);
3. an operation over every school of the city's busiest district but one;

``--runs`` times each (5), printing the median, the number of area and comparison
schools and the during-vs-before difference in differences.

    .venv/bin/python bench/operation_effect.py [--schools 2029] [--runs 5] [--database-url …]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import time

from bench_django import setup_django


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    data_dir = setup_django(args.database_url, "effect")
    try:
        from django.core.management import call_command
        from django.db.models import Count
        from django.utils import timezone

        from campus_safety import clock
        from campus_safety.intel.effect import operation_effect
        from campus_safety.intel.models import Operation
        from campus_safety.orgs.models import School
        from campus_safety.simulator.demo_intel import fill_intel

        began = time.perf_counter()
        seed = ["seed_demo", "--verbosity", "0"]
        if args.schools:
            seed += ["--schools", str(args.schools)]
        call_command(*seed)
        counts = fill_intel(replications=99)
        print(
            f"demo city seeded in {time.perf_counter() - began:.1f} s: "
            f"{School.objects.count()} schools, {counts['intel_incidents']} incidents"
        )
        today = timezone.localtime(clock.now()).date()
        operations = list(Operation.objects.order_by("starts_on"))
        busiest = (
            School.objects.values("region")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .values_list("region", flat=True)
            .first()
        )
        big = Operation.objects.create(
            name="bench: a whole district",
            starts_on=today - dt.timedelta(days=30),
            ends_on=today,
            created_at=clock.now(),
        )
        big.regions.set([busiest])
        operations.append(big)
        for operation in operations:
            times, effect = [], None
            for _ in range(args.runs):
                start = time.perf_counter()
                effect = operation_effect(operation, today)
                times.append(time.perf_counter() - start)
            did = "—" if effect.did is None else f"{effect.did:+.2f}"
            print(
                f"{operation.name}: median {statistics.median(times) * 1000:.0f} ms "
                f"over {args.runs} runs; area {len(effect.area_school_ids)} schools, "
                f"comparison {len(effect.comparison_school_ids)} ({effect.method}); "
                f"DiD during {did} incidents per school per 30 days"
            )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
