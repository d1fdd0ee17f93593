"""Benchmark: the daily inspection of the whole demo city, and a VQD sweep end to end.
(Not named inspect.py: a script's folder comes first on sys.path, and that name would
hide the standard library's ``inspect`` from Django.)

In a fresh temporary data dir (SQLite; or ``--database-url`` for PostgreSQL): migrate,
``seed-demo`` (2,029 schools, their devices, guards, tours, posts, hazards …), then
time ``daily.run_daily_inspection`` for yesterday ``--runs`` times (each run scores
and ranks every school and upserts its result) and print each run and the median.
Target: median ≤ 30 s.

A seeded city's devices have not been heard from yet (未知): ``serve --simulate``
registers them before its first night's inspection. The bench first scores yesterday
as seeded (the devices items fail everywhere: the figure a bench without the simulator
used to print), then brings the devices online as the simulator's fleet does (a demo
with its MQTT broker) and times the runs on that city, printing the seeded history's
figures for the same day beside them: the two should tell the same story.

With ``--sweep N`` it also starts the simulator's snapshot server for N of the city's
cameras — in a process of its own, as cameras are machines of their own — and runs the
VQD sweep over them (HTTP fetch → decode → diagnose → store), printing cameras per
second, where the sweep's time went, and what a sweep of 36,000 cameras would take at
that rate (target: ≤ 10 minutes). ``--runs 0`` skips the daily inspection.

    .venv/bin/python bench/inspect_city.py [--runs 3] [--sweep 2000] [--workers 8] [--database-url postgres://…/]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from seed_demo import COMMAND, fresh_database  # noqa: E402

TARGET_S = 30.0
SWEEP_TARGET_MIN = 10.0
CITY_CAMERAS = 36_000


def _run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True,
                            check=False)  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"campus-safety {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def _serve_snapshots(cameras: dict[str, tuple[str, str]], ports) -> None:
    """The simulator's snapshot server, in a process of its own (spawned: no Django)."""
    from campus_safety.simulator.snapshots import SnapshotServer

    server = SnapshotServer(cameras)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ports.put(loop.run_until_complete(server.start("127.0.0.1", 0)))
    loop.run_forever()


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sweep(count: int, workers: int) -> None:
    from campus_safety.devices.models import Device
    from campus_safety.inspections.quality import sweep

    cameras = list(Device.objects.filter(kind=Device.Kind.CAMERA).select_related("school")[:count])
    spawn = multiprocessing.get_context("spawn")
    ports = spawn.Queue()
    simulator = spawn.Process(
        target=_serve_snapshots,
        args=({c.device_id: (c.name, c.school.name if c.school else "") for c in cameras}, ports),
        daemon=True,
    )
    simulator.start()
    port = ports.get(timeout=60)
    for camera in cameras:
        camera.snapshot_url = f"http://127.0.0.1:{port}/snapshots/{camera.device_id}.jpg"
    Device.objects.bulk_update(cameras, ["snapshot_url"], batch_size=1000)
    print(
        f"VQD sweep of {len(cameras):,} cameras served by the simulator (its own process), "
        f"{workers} workers, {os.cpu_count()} CPUs:"
    )
    rates = []
    for label in ("first (references)", "second", "third"):
        cpu, simulator_cpu = time.process_time(), _cpu_seconds(simulator.pid)
        result = sweep(cameras, workers=workers)
        cpu = (time.process_time() - cpu) / max(1, result.cameras) * 1000
        simulator_cpu = (
            (_cpu_seconds(simulator.pid) - simulator_cpu) / max(1, result.cameras) * 1000
        )
        rate = result.diagnosed / result.seconds if result.seconds else 0
        rates.append(rate)
        minutes = CITY_CAMERAS / rate / 60 if rate else float("inf")
        faults = ", ".join(f"{k} {v}" for k, v in sorted(result.by_fault.items())) or "none"
        stages = ", ".join(f"{k} {v:.1f}" for k, v in result.stage_seconds.items())
        print(
            f"  {label:<19} {result.seconds:6.1f} s, {rate:6.1f} cameras/s, "
            f"{result.faulty} faulty ({faults}), {result.errors} errors "
            f"→ 36,000 cameras in {minutes:.1f} min (target ≤ {SWEEP_TARGET_MIN:.0f})\n"
            f"  {'':<19} thread-seconds by stage: {stages}; CPU per camera: platform "
            f"{cpu:.1f} ms, simulator {simulator_cpu:.1f} ms "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
    median = statistics.median(rates)
    print(
        f"median {median:.1f} cameras/s → 36,000 cameras in "
        f"{CITY_CAMERAS / median / 60 if median else float('inf'):.1f} min"
    )
    simulator.terminate()
    simulator.join(5)


def _daily(runs: int) -> None:
    from django.db.models import Avg
    from django.utils import timezone

    from campus_safety import clock
    from campus_safety.devices.models import Device
    from campus_safety.inspections import daily, rules
    from campus_safety.inspections.models import DailyResult
    from campus_safety.orgs.models import School

    now = clock.now()
    day = timezone.localdate(now) - dt.timedelta(days=1)
    print(f"local time {timezone.localtime(now):%Y-%m-%d %H:%M %Z}; yesterday is {day}")
    seeded = DailyResult.objects.filter(day=day)
    print(
        f"  seeded history for {day}: mean score "
        f"{seeded.aggregate(m=Avg('score'))['m'] or 0:.1f}, "
        f"{seeded.filter(score__lt=daily.PASS_SCORE).count()} below 60"
    )
    as_seeded = daily.score_day(day, now)
    print(
        f"  as seeded (devices never heard from): mean score "
        f"{sum(r.score for r in as_seeded) / max(1, len(as_seeded)):.1f}, "
        f"{sum(1 for r in as_seeded if r.score < daily.PASS_SCORE)} below 60"
    )
    Device.objects.filter(is_approved=True).update(
        status=Device.Status.ONLINE, status_since=now, last_seen_at=now
    )
    print("  failing schools by item, seeded history → as the rules judge it (devices online):")
    live = daily.score_day(day)
    for item in rules.ITEMS:
        before = sum(1 for items in seeded.values_list("items", flat=True)
                     if not items[item.code]["ok"])  # fmt: skip
        after = sum(1 for r in live if not r.items[item.code]["ok"])
        print(f"    {item.code:<17} {before:5,} → {after:5,}")
    print(f"daily inspection of {School.objects.count():,} schools for {day} (devices online):")
    times = []
    for i in range(1, runs + 1):
        summary = daily.run_daily_inspection(day)
        times.append(summary.seconds)
        print(
            f"  run {i}: {summary.seconds:6.2f} s — mean score {summary.mean_score}, "
            f"{summary.below_pass} below 60"
        )
    median = statistics.median(times)
    verdict = "OK" if median <= TARGET_S else "SLOWER THAN TARGET"
    print(
        f"median {median:.2f} s (target ≤ {TARGET_S:.0f} s, ratio {median / TARGET_S:.2f}): "
        f"{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=371400)
    parser.add_argument("--sweep", type=int, default=0, help="cameras to sweep (0 = none)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args()
    with fresh_database(args.database_url) as env:
        migrate = _run(["migrate", "--noinput", "-v", "0"], env)
        seed = _run(["seed-demo", "--seed", str(args.seed), "-v", "0"], env)
        print(f"fresh demo city: migrate {migrate:.1f} s, seed-demo {seed:.1f} s")
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
        import django

        django.setup()
        if args.runs:
            _daily(args.runs)
        if args.sweep:
            with tempfile.TemporaryDirectory(prefix="cs-bench-media-") as media:
                from django.conf import settings

                settings.MEDIA_ROOT = media
                _sweep(args.sweep, args.workers)


if __name__ == "__main__":
    main()
