"""Exact shares: the demo city's totals must add up to the report's figures."""

from campus_safety.simulator.quotas import apportion, interleave


def test_apportion_hits_the_total_exactly():
    shares = apportion(2029, [71, 50, 40, 30, 48, 58, 42, 46, 34, 59, 48])
    assert sum(shares) == 2029


def test_apportion_keeps_every_floor():
    assert apportion(10, [0, 0, 1], floors=[2, 1, 0]) == [2, 1, 7]


def test_apportion_gives_leftover_units_to_the_largest_remainders():
    assert apportion(3, [1, 1, 2]) == [1, 1, 1]


def test_apportion_breaks_ties_towards_the_earlier_index():
    assert apportion(2, [1, 1, 2]) == [1, 0, 1]


def test_interleave_gives_each_bin_its_share_of_every_kind():
    dealt = interleave([10, 30], [20, 20])
    assert [len(b) for b in dealt] == [20, 20]
    assert [b.count(0) for b in dealt] == [5, 5]
