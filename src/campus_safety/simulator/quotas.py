"""Splitting exact totals into whole shares: the demo city must add up to the report.

The press report gives exact figures (2,029 schools, 874 professional guards, …); the
generator shares each total out by weight and needs the shares to sum to it exactly,
which rounding each share on its own does not do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def apportion(
    total: int, weights: Sequence[float], floors: Sequence[int] | None = None
) -> list[int]:
    """Largest-remainder (Hamilton) shares of ``total`` by ``weights``, each ≥ its floor.

    Ties go to the earlier index, so the result depends only on the arguments.
    """
    floors = list(floors) if floors is not None else [0] * len(weights)
    rest = total - sum(floors)
    if rest < 0:
        raise ValueError(f"floors ({sum(floors)}) exceed the total ({total})")
    weight_sum = float(sum(weights))
    if weight_sum <= 0:
        raise ValueError("weights must not all be zero")
    exact = [rest * w / weight_sum for w in weights]
    shares = [math.floor(x) for x in exact]
    left = rest - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return [f + s for f, s in zip(floors, shares, strict=True)]


def interleave(counts: Sequence[int], quotas: Sequence[int]) -> list[list[int]]:
    """Deal items of several kinds to bins so each bin gets every kind in proportion.

    ``counts[k]`` items of kind ``k`` are dealt in kind order to bins whose sizes are
    ``quotas`` (summing to the same total); each item goes to the bin furthest behind
    its proportional share, so, for example, every county gets its fair part of the
    city's senior schools rather than whatever a shuffle leaves it. Returns, per bin,
    the list of kinds it received.
    """
    total = sum(counts)
    if total != sum(quotas):
        raise ValueError("counts and quotas must have the same total")
    dealt: list[list[int]] = [[] for _ in quotas]
    t = 0
    for kind, count in enumerate(counts):
        for _ in range(count):
            t += 1
            best = max(
                (b for b in range(len(quotas)) if len(dealt[b]) < quotas[b]),
                key=lambda b: (quotas[b] * t / total - len(dealt[b]), -b),
            )
            dealt[best].append(kind)
    return dealt
