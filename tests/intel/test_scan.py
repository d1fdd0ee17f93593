"""The scan statistic on cases small enough to work out by hand, against a brute-force
search, and its properties under hypothesis."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from campus_safety.intel.scan.engine import ScanInput, cartesian, llr_high, scan


def test_llr_by_hand():
    # 6 cases in the cylinder where 2 were expected, 20 in all:
    # 6 ln(6/2) + 14 ln(14/18)
    assert math.isclose(llr_high(6, 2, 20), 6 * math.log(3) + 14 * math.log(14 / 18))
    assert llr_high(2, 2, 20) == 0
    assert llr_high(1, 3, 20) == 0
    assert math.isclose(llr_high(5, 1, 5), 5 * math.log(5))


def test_two_locations_by_hand():
    # location 0: 1 case on day 0, 3 on day 1; location 1: 3 on day 0, 1 on day 1.
    counts = np.array([[1, 3], [3, 1]])
    data = ScanInput(
        xyz=cartesian(np.array([0.0, 10.0]), np.array([0.0, 0.0])),
        counts=counts,
        centres=cartesian(np.array([0.0, 10.0]), np.array([0.0, 0.0])),
        max_radius=1.0,
        max_share=0.5,
        max_days=1,
        min_cases=2,
    )
    result = scan(data, replications=0)
    best = result.clusters[0]
    # location 0 on the last day: n = 3, mu = 4 * 4 / 8 = 2
    assert best.locations == [0] and best.days == 1
    assert best.observed == 3 and math.isclose(best.expected, 2.0)
    assert math.isclose(best.llr, 3 * math.log(3 / 2) + 5 * math.log(5 / 6))


def brute_force(counts, coords, max_radius, max_share, max_days, min_cases):
    """Every circle (centre, radius = a location's distance), every window: the top LLR."""
    total = counts.sum()
    loc_total = counts.sum(axis=1)
    days = counts.shape[1]
    top = 0.0
    for centre in coords:
        d = np.hypot(*(coords - centre).T)
        for r in sorted(set(d[d <= max_radius])):
            inside = d <= r
            if loc_total[inside].sum() > max_share * total:
                continue
            for w in range(1, min(max_days, days) + 1):
                n = counts[inside, days - w :].sum()
                mu = loc_total[inside].sum() * counts[:, days - w :].sum() / total
                if n >= min_cases:
                    top = max(top, llr_high(n, mu, total))
    return top


small_data = st.integers(2, 7).flatmap(
    lambda n_loc: st.tuples(
        st.lists(
            st.tuples(st.integers(0, 6), st.integers(0, 6)),
            min_size=n_loc,
            max_size=n_loc,
            unique=True,
        ),
        st.lists(
            st.lists(st.integers(0, 4), min_size=5, max_size=5), min_size=n_loc, max_size=n_loc
        ),
    )
)


@settings(max_examples=60, deadline=None)
@given(small_data, st.floats(0.5, 9), st.sampled_from([0.3, 0.5, 1.0]), st.integers(1, 4))
def test_matches_brute_force(sample, radius, share, max_days):
    points, rows = sample
    counts = np.array(rows, dtype=np.int64)
    if counts.sum() == 0:
        return
    coords = np.array(points, dtype=float)
    xyz = cartesian(coords[:, 0], coords[:, 1])
    data = ScanInput(xyz, counts, xyz, radius, share, max_days, 2)
    result = scan(data, replications=0)
    expected = brute_force(counts, coords, radius, share, max_days, 2)
    found = result.clusters[0].llr if result.clusters else 0.0
    assert math.isclose(found, expected, rel_tol=1e-9, abs_tol=1e-9)
    for cluster in result.clusters:
        assert cluster.llr > 0
        assert cluster.observed >= 2


@settings(max_examples=40, deadline=None)
@given(small_data, st.randoms(use_true_random=False))
def test_invariant_under_location_order_and_expected_totals(sample, rng):
    points, rows = sample
    counts = np.array(rows, dtype=np.int64)
    if counts.sum() == 0:
        return
    coords = np.array(points, dtype=float)
    xyz = cartesian(coords[:, 0], coords[:, 1])
    order = list(range(len(points)))
    rng.shuffle(order)
    one = scan(ScanInput(xyz, counts, xyz, 5.0, 0.5, 3, 2), replications=0)
    two = scan(ScanInput(xyz[order], counts[order], xyz[order], 5.0, 0.5, 3, 2), replications=0)
    top_one = one.clusters[0].llr if one.clusters else 0.0
    top_two = two.clusters[0].llr if two.clusters else 0.0
    assert math.isclose(top_one, top_two, rel_tol=1e-12, abs_tol=1e-12)
    # the permutation model's expected counts over all locations give back each day's total
    total = counts.sum()
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / total
    assert np.allclose(expected.sum(axis=0), counts.sum(axis=0))
    assert np.allclose(expected.sum(axis=1), counts.sum(axis=1))


def test_monte_carlo_p_values_and_seed():
    rng = np.random.default_rng(3)
    coords = rng.uniform(0, 10, size=(40, 2))
    counts = rng.poisson(0.3, size=(40, 30))
    counts[0, -2:] += 6  # a planted outbreak at location 0 in the last two days
    xyz = cartesian(coords[:, 0], coords[:, 1])
    data = ScanInput(xyz, counts, xyz, 2.0, 0.5, 7, 2)
    one = scan(data, replications=199, seed=7)
    two = scan(data, replications=199, seed=7)
    assert 0 in one.clusters[0].locations
    assert one.clusters[0].p_value == two.clusters[0].p_value <= 0.01
    assert one.replications == 199
    # every simulated maximum is a valid statistic
    assert (one.simulated >= 0).all()
    # early stop: a null-looking cluster stops after the first batch that beats it enough
    flat = ScanInput(xyz, rng.poisson(0.3, size=(40, 30)), xyz, 2.0, 0.5, 7, 2)
    stopped = scan(flat, replications=999, stop_when_exceeded=20, batch=100)
    if stopped.clusters and stopped.clusters[0].p_value > 0.2:
        assert stopped.replications < 999


def test_windows_by_hand_over_combinations():
    """Each cylinder's counts from the factorised expectation equal the direct sums."""
    counts = np.array([[0, 1, 2], [1, 0, 0], [2, 2, 1]])
    total = counts.sum()
    for members in itertools.chain.from_iterable(
        itertools.combinations(range(3), k) for k in (1, 2, 3)
    ):
        for w in (1, 2, 3):
            direct = sum(
                counts[i].sum() * counts[:, 3 - w :].sum(axis=0).sum() / total for i in members
            )
            factorised = counts[list(members)].sum() * counts[:, 3 - w :].sum() / total
            assert math.isclose(direct, factorised)
