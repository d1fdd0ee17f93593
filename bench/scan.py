"""Benchmark: the early-warning scan (intel/scan/engine.py) — speed, power, false alarms.

Geography: the demo city's schools (simulator/city.py, seed 371400) as the locations;
cases drawn at random over a year with weights by school size. Settings as the daily
scan: circles up to 1.5 km, windows ending today of 1..7 days, 999 replications.

* speed: 2,000 locations, 9,000 cases; median of ``--runs`` full scans (all 999
  replications, no early stop), with numba on all cores and on one;
* power: a planted cluster of relative risk 3 over the last 3 days within 1 km of a
  random school (extra cases = 2 x the expected count there, drawn by school size), the
  share of runs whose most likely cluster has p <= 0.01 and overlaps the planted area;
* false alarms: data without a planted cluster, the share of runs with p < 0.05
  (sequential Monte Carlo: a run stops once 50 replications beat its most likely
  cluster — its p-value could then no longer fall below 0.05, so the decision is the
  same as with all 999).

Goals: ≤ 30 s per scan; power ≥ 0.9; false alarms 0.05 ± 0.015 over ≥ 400 runs.

    .venv/bin/python bench/scan.py [--runs 3] [--power-runs 100] [--null-runs 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numba
import numpy as np

from campus_safety.intel.scan.engine import ScanInput, latlong_to_xyz, scan
from campus_safety.simulator.city import build_city

DAYS = 365
RADIUS_KM = 1.5
POISSON_ABOVE = 2_000_000


def geography(locations: int) -> tuple[np.ndarray, np.ndarray]:
    schools = build_city().schools[:locations]
    xyz = latlong_to_xyz(
        np.array([s.latitude for s in schools]), np.array([s.longitude for s in schools])
    )
    weight = np.array([max(s.students, 50) for s in schools], dtype=float)
    return xyz, weight / weight.sum()


def null_counts(rng: np.random.Generator, weight: np.ndarray, cases: int) -> np.ndarray:
    """A year of cases by school size, uniform in time. Above ``POISSON_ABOVE`` cases the
    cells are drawn as independent Poisson counts (the same null model up to the total,
    without an array per case)."""
    if cases > POISSON_ABOVE:
        return rng.poisson(np.outer(weight * cases / DAYS, np.ones(DAYS))).astype(np.int64)
    counts = np.zeros((len(weight), DAYS), dtype=np.int64)
    where = rng.choice(len(weight), size=cases, p=weight)
    when = rng.integers(0, DAYS, size=cases)
    np.add.at(counts, (where, when), 1)
    return counts


def data_for(xyz: np.ndarray, counts: np.ndarray) -> ScanInput:
    return ScanInput(xyz, counts, xyz, RADIUS_KM, 0.5, 7, 2)


def speed(xyz, weight, cases: int, runs: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts = null_counts(rng, weight, cases)
    scan(data_for(xyz, counts), replications=10)  # compile (cached) and warm up
    for threads in (numba.config.NUMBA_NUM_THREADS, 1):
        numba.set_num_threads(threads)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            result = scan(data_for(xyz, counts), replications=999)
            times.append(time.perf_counter() - start)
        print(
            f"speed: {len(xyz)} locations, {counts.sum()} cases, 7-day windows, 999 reps, "
            f"{threads} thread(s): median {statistics.median(times):.2f} s "
            f"(runs {', '.join(f'{t:.2f}' for t in times)}; "
            f"{result.replications} replications)"
        )
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def power(xyz, weight, cases: int, runs: int, seed: int, excess: int | None = None) -> None:
    """Planted clusters over the last 3 days within 1 km of a random school: of RR 3
    (the excess is Poisson(2 x expected)), or, with ``excess``, exactly that many extra
    cases (the relative risk is then 1 + excess / expected, printed). Power depends on
    how many cases the cylinder expects, so the expected count is printed with it."""
    rng = np.random.default_rng(seed + 1)
    hits = 0
    expected_all = []
    risks = []
    found = []
    for _ in range(runs):
        counts = null_counts(rng, weight, cases)
        centre = rng.integers(len(xyz))
        near = np.nonzero(np.sqrt(((xyz - xyz[centre]) ** 2).sum(axis=1)) <= 1.0)[0]
        total = counts.sum()
        last3 = counts[:, -3:].sum()
        expected = counts[near].sum() * last3 / total
        expected_all.append(expected)
        extra = int(rng.poisson(2 * expected)) if excess is None else excess
        if expected > 0:
            risks.append(1 + extra / expected)
        w = weight[near] / weight[near].sum()
        for loc in rng.choice(near, size=extra, p=w):
            counts[loc, DAYS - 1 - rng.integers(0, 3)] += 1
        result = scan(data_for(xyz, counts), replications=999, stop_when_exceeded=10)
        top = result.clusters[0] if result.clusters else None
        detected = bool(top and top.p_value <= 0.01 and set(top.locations) & set(near.tolist()))
        hits += detected
        found.append(detected)
    planted = "RR 3" if excess is None else f"{excess} extra cases"
    print(
        f"power: {cases} cases/year, {planted}, 3 days, 1 km (expected in the planted "
        f"cylinder: mean {np.mean(expected_all):.2f}, median {np.median(expected_all):.2f}; "
        f"relative risk: median {np.median(risks):.1f}, 10th percentile "
        f"{np.percentile(risks, 10):.1f}): {hits}/{runs} = {hits / runs:.3f} detected "
        f"at p <= 0.01"
    )
    # the same runs by the planted cylinder's expected count: power is a function of it
    expected_all, found = np.array(expected_all), np.array(found)
    for low, high in ((0, 2), (2, 5), (5, 10), (10, 20), (20, 40), (40, np.inf)):
        inside = (expected_all >= low) & (expected_all < high)
        if inside.any():
            print(
                f"  expected {low}-{high}: {int(found[inside].sum())}/{int(inside.sum())} "
                f"= {found[inside].mean():.3f}"
            )


def false_alarms(xyz, weight, cases: int, runs: int, seed: int) -> None:
    rng = np.random.default_rng(seed + 2)
    alarms = 0
    start = time.perf_counter()
    for _ in range(runs):
        counts = null_counts(rng, weight, cases)
        seed_run = int(rng.integers(1 << 30))
        result = scan(data_for(xyz, counts), replications=999, seed=seed_run, stop_when_exceeded=50)
        if result.clusters and result.clusters[0].p_value < 0.05:
            alarms += 1
    share = alarms / runs
    se = (0.05 * 0.95 / runs) ** 0.5
    print(
        f"false alarms: {alarms}/{runs} = {share:.3f} with p < 0.05 "
        f"(binomial s.e. at 0.05: {se:.3f}); {time.perf_counter() - start:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--locations", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=9000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--power-runs", type=int, default=100)
    parser.add_argument("--null-runs", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--power-cases",
        type=int,
        nargs="*",
        default=None,
        help="cases per year for the power runs (several: power as the counts grow)",
    )
    parser.add_argument(
        "--power-excess",
        type=int,
        nargs="*",
        default=None,
        help="plant exactly this many extra cases instead of RR 3 (several: power as it grows)",
    )
    parser.add_argument("--only", choices=["speed", "power", "null"], default=None)
    args = parser.parse_args()
    xyz, weight = geography(args.locations)
    if args.only in (None, "speed"):
        speed(xyz, weight, args.cases, args.runs, args.seed)
    if args.only in (None, "power"):
        for cases in args.power_cases or [args.cases]:
            for excess in args.power_excess or [None]:
                power(xyz, weight, cases, args.power_runs, args.seed, excess)
    if args.only in (None, "null"):
        false_alarms(xyz, weight, args.cases, args.null_runs, args.seed)


if __name__ == "__main__":
    main()
