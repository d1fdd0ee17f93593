"""The fast scan's statistic against Kulldorff et al. 2005 (PLoS Med 2(3):e59), computed
here straight from the paper's definitions, cell by cell, with nothing shared with the
engine (no factorised expectation, no pruning, no lookup tables):

* expected cases in location z on day d: mu_zd = (sum_z' c_z'd) (sum_d' c_zd') / C;
* a cylinder A (a circle around a centre through every location within its radius,
  and a window of the last w days): c_A = sum of c_zd, mu_A = sum of mu_zd over A;
* its generalised likelihood ratio, high rates only (c_A > mu_A):
  (c_A / mu_A)^c_A ((C - c_A) / (C - mu_A))^(C - c_A); the statistic is its largest log.

Every circle (each centre, a radius through each location within the maximum radius, at
most ``max_share`` of all cases inside) and every window of 1..max_days days is tried.
The fast scan must give the same largest log likelihood ratio to 1e-9, and each cluster
it reports must be the best cylinder of its centre, with that cylinder's c_A and mu_A."""

from __future__ import annotations

import math

import numpy as np
import pytest

from campus_safety.intel.scan.engine import ScanInput, cartesian, scan


def expected_cells(counts: np.ndarray) -> np.ndarray:
    """mu_zd, one cell at a time as the paper writes it."""
    locations, days = counts.shape
    total = int(counts.sum())
    per_day = [sum(int(counts[z, d]) for z in range(locations)) for d in range(days)]
    per_location = [sum(int(counts[z, d]) for d in range(days)) for z in range(locations)]
    mu = np.zeros((locations, days))
    for z in range(locations):
        for d in range(days):
            mu[z, d] = per_day[d] * per_location[z] / total
    return mu


def log_glr(c: int, mu: float, total: int) -> float:
    """log of (c/mu)^c ((C-c)/(C-mu))^(C-c), for c > mu; 0 otherwise."""
    if c <= mu:
        return 0.0
    value = c * math.log(c / mu)
    if total > c:
        value += (total - c) * math.log((total - c) / (total - mu))
    return value


def every_cylinder(counts, points, max_radius, max_share, max_days, min_cases):
    """{centre: (best log GLR, locations inside, days, c_A, mu_A)} over every cylinder."""
    locations, days = counts.shape
    total = int(counts.sum())
    mu = expected_cells(counts)
    best = {}
    for k, centre in enumerate(points):
        distance = [math.dist(centre, p) for p in points]
        for radius in sorted({r for r in distance if r <= max_radius}):
            inside = [z for z in range(locations) if distance[z] <= radius]
            if sum(int(counts[z].sum()) for z in inside) > max_share * total:
                continue
            for w in range(1, min(max_days, days) + 1):
                cells = [(z, d) for z in inside for d in range(days - w, days)]
                c_a = sum(int(counts[z, d]) for z, d in cells)
                mu_a = sum(mu[z, d] for z, d in cells)
                if c_a < min_cases:
                    continue
                value = log_glr(c_a, mu_a, total)
                if value > best.get(k, (0.0,))[0] + 1e-12:
                    best[k] = (value, sorted(inside), w, c_a, mu_a)
    return best


def _sample(seed: int, grid: bool):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 16))
    if grid:  # integer points: many locations at equal distance from a centre
        points = {(int(x), int(y)) for x, y in rng.integers(0, 5, size=(3 * n, 2))}
        points = sorted(points)[:n]
    else:
        points = [tuple(p) for p in rng.uniform(0, 10, size=(n, 2))]
    days = int(rng.integers(5, 15))
    counts = rng.poisson(rng.uniform(0.2, 1.5), size=(len(points), days)).astype(np.int64)
    if rng.random() < 0.7:  # sometimes an outbreak in the last days around one location
        hot = int(rng.integers(len(points)))
        counts[hot, -int(rng.integers(1, 4)) :] += rng.integers(1, 5)
    if counts.sum() == 0:  # a scan needs cases: a quiet sample gets one, on its last day
        counts[int(rng.integers(len(points))), -1] = 1
    return points, counts


@pytest.mark.parametrize("seed", range(40))
def test_fast_scan_equals_the_papers_likelihood_ratio(seed):
    points, counts = _sample(seed, grid=seed % 2 == 0)
    rng = np.random.default_rng(1000 + seed)
    max_radius = float(rng.choice([1.5, 3.0, 100.0]))
    max_share = float(rng.choice([0.3, 0.5]))
    max_days = int(rng.integers(1, 8))
    coords = np.array(points, dtype=float)
    xyz = cartesian(coords[:, 0], coords[:, 1])
    result = scan(ScanInput(xyz, counts, xyz, max_radius, max_share, max_days, 2), replications=0)
    truth = every_cylinder(counts, points, max_radius, max_share, max_days, 2)
    top = max((v[0] for v in truth.values()), default=0.0)
    found = result.clusters[0].llr if result.clusters else 0.0
    assert abs(found - top) <= 1e-9, (found, top)
    for cluster in result.clusters:
        value, _inside, _w, _c, _mu = truth[cluster.centre]
        # the reported cylinder is its centre's best, with the paper's c_A and mu_A
        assert abs(cluster.llr - value) <= 1e-9
        members = sorted(cluster.locations)
        window = range(counts.shape[1] - cluster.days, counts.shape[1])
        mu = expected_cells(counts)
        assert cluster.observed == sum(int(counts[z, d]) for z in members for d in window)
        assert abs(cluster.expected - sum(mu[z, d] for z in members for d in window)) <= 1e-9
        assert abs(cluster.llr - log_glr(cluster.observed, cluster.expected, counts.sum())) <= 1e-9


def test_the_formula_by_hand():
    # 2 locations, 2 days: c = [[1, 3], [3, 1]]; C = 8; each mu_zd = 4 * 4 / 8 = 2.
    # Cylinder {location 0, last day}: c_A = 3, mu_A = 2:
    # log GLR = 3 ln(3/2) + 5 ln(5/6).
    counts = np.array([[1, 3], [3, 1]])
    assert np.allclose(expected_cells(counts), 2.0)
    truth = every_cylinder(counts, [(0.0, 0.0), (10.0, 0.0)], 1.0, 0.5, 1, 2)
    assert math.isclose(truth[0][0], 3 * math.log(1.5) + 5 * math.log(5 / 6), rel_tol=1e-15)
