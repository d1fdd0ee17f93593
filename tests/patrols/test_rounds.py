"""Round evaluation rules on plain numbers (rounds.py is pure)."""

import pytest

from campus_safety.patrols import rounds
from campus_safety.patrols.rounds import Round, Stop, evaluate, evaluate_all

MIN = 60.0
START = 1_000_000.0


def a_round(*dues, grace=10, key=1, plan=1) -> Round:
    """Stops A=1, B=2, C=3… due ``dues`` minutes after the start; round ends at the last."""
    stops = tuple(Stop(n + 1, START + d * MIN) for n, d in enumerate(dues))
    due = START + max(dues) * MIN
    return Round(key, plan, START, due, due + grace * MIN, grace * MIN, stops)


def at(minutes: float) -> float:
    return START + minutes * MIN


def test_every_checkpoint_in_order_and_on_time_is_complete():
    r = a_round(10, 20, 30)
    r.scans = [(at(5), 1), (at(15), 2), (at(29), 3)]
    result = evaluate(r, now=at(60))
    assert result.status == rounds.COMPLETE
    assert (result.on_time, result.late, result.missed) == (3, 0, 0)


def test_a_checkpoint_reached_after_its_due_time_but_within_grace_is_late():
    r = a_round(10, 20, 30, grace=10)
    r.scans = [(at(5), 1), (at(25), 2), (at(30), 3)]
    result = evaluate(r, now=at(60))
    assert result.status == rounds.LATE
    assert [s[2] for s in result.stops] == ["on_time", "late", "on_time"]


def test_a_checkpoint_never_reached_is_missed_once_its_grace_is_over():
    r = a_round(10, 20, 30, grace=10)
    r.scans = [(at(5), 1), (at(29), 3)]
    assert evaluate(r, now=at(30)).status == rounds.PENDING  # B may still come (late)
    result = evaluate(r, now=at(30) + 1)
    assert result.status == rounds.MISSED
    assert result.missed == 1 and result.stops[1] == (2, None, "missed")


def test_a_scan_after_the_grace_does_not_save_the_checkpoint():
    r = a_round(10, grace=5)
    r.scans = [(at(15) + 1, 1)]
    assert evaluate(r, now=at(60)).status == rounds.MISSED


def test_the_due_and_grace_edges_are_inclusive():
    r = a_round(10, 20, grace=5)
    r.scans = [(at(10), 1), (at(25), 2)]
    result = evaluate(r, now=at(60))
    assert [s[2] for s in result.stops] == ["on_time", "late"]


def test_checkpoints_reached_out_of_route_order_make_a_wrong_order_round():
    r = a_round(30, 30, 30)
    r.scans = [(at(5), 1), (at(10), 3), (at(15), 2)]
    result = evaluate(r, now=at(60))
    assert result.status == rounds.WRONG_ORDER and result.is_out_of_order
    assert result.is_walked


def test_a_missed_checkpoint_outranks_wrong_order_and_lateness():
    r = a_round(10, 10, 10, grace=5)
    r.scans = [(at(12), 3), (at(13), 1)]
    result = evaluate(r, now=at(60))
    assert result.status == rounds.MISSED and result.is_out_of_order and not result.is_walked


def test_duplicate_scans_count_once_and_are_reported():
    r = a_round(10, 20)
    r.scans = [(at(2), 1), (at(3), 1), (at(4), 1), (at(12), 2)]
    result = evaluate(r, now=at(60))
    assert result.status == rounds.COMPLETE
    assert result.duplicates == 2 and result.on_time == 2


def test_a_repeated_scan_of_an_earlier_checkpoint_is_not_wrong_order():
    r = a_round(10, 20)
    r.scans = [(at(2), 1), (at(12), 2), (at(14), 1)]
    assert evaluate(r, now=at(60)).status == rounds.COMPLETE


def test_scans_go_to_the_round_whose_window_holds_them():
    morning = a_round(30, key="m")
    evening = Round("e", 1, at(120), at(150), at(160), 10 * MIN, (Stop(1, at(150)),))
    early = 10 * MIN
    results = evaluate_all([morning, evening], [(at(20), 1), (at(112), 1)], at(200), early)
    assert [r.status for r in results] == [rounds.COMPLETE, rounds.COMPLETE]
    assert morning.scans == [(at(20), 1)] and evening.scans == [(at(112), 1)]


def test_a_scan_between_rounds_counts_for_none():
    morning = a_round(30, key="m")
    results = evaluate_all([morning], [(at(90), 1)], at(200), 10 * MIN)
    assert results[0].status == rounds.MISSED


def test_a_checkpoint_on_two_plans_counts_for_both():
    one = a_round(30, key="a", plan="p1")
    two = a_round(30, key="b", plan="p2")
    results = evaluate_all([one, two], [(at(5), 1)], at(100), 0)
    assert [r.status for r in results] == [rounds.COMPLETE, rounds.COMPLETE]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([], "at least one"),
        (["25:00"], "not a time"),
        (["08:00", "08:00"], "repeat"),
        ([8], "strings"),
    ],
)
def test_bad_round_start_times_are_refused_with_a_reason(value, reason):
    with pytest.raises(ValueError, match=reason):
        rounds.parse_round_starts(value)
