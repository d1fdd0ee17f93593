"""The prospective space-time permutation scan statistic (Kulldorff et al. 2005, PLoS
Med 2(3):e59), fast enough to run daily.

Why it is fast:

* The permutation model's expected count of a cylinder factorises: with ``A`` the cases
  of the circle's locations over the whole study period and ``B_w`` the cases of the
  whole region in the last ``w`` days, ``mu = A * B_w / C``. Shuffling the case times
  keeps every ``A`` and ``B_w``; only the observed counts change.
* Only the cases whose (permuted) time falls in the last ``W`` days can be inside a
  prospective cylinder, so a replication draws just those ``B_W`` cases (a partial
  Fisher-Yates shuffle) instead of permuting all ``C``.
* Adding a location without recent cases lowers a high-rate cylinder's likelihood, so
  the ratio is evaluated only where a circle gains recent cases; ``x ln x`` and
  ``ln A`` come from tables.
* The replications run in numba-compiled code, in parallel over the CPU's cores, each
  with its own seed (results do not depend on thread scheduling), in batches that stop
  early once the p-value cannot get below the caller's interest (SaTScan's sequential
  Monte Carlo), if asked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

EARTH_RADIUS_KM = 6367.0  # the radius SaTScan uses for latitude/longitude coordinates


@dataclass(frozen=True)
class ScanInput:
    """Cases aggregated per location and day; day 0 is the study start, the last day
    (``days - 1``) the study end. ``centres`` are points in the same units as ``xyz``."""

    xyz: np.ndarray  # (L, 3) location coordinates (Cartesian, or on the sphere in km)
    counts: np.ndarray  # (L, days) int64 cases per location and day
    centres: np.ndarray  # (K, 3) circle centres
    max_radius: float = math.inf  # same unit as xyz
    max_share: float = 0.5  # of all cases inside a circle (SaTScan: % "population")
    max_days: int = 7  # windows ending on the last day of 1..max_days days
    min_cases: int = 2  # SaTScan's minimum cases in high-rate clusters


@dataclass
class Cluster:
    """One circle's most likely cylinder."""

    centre: int
    locations: list[int]  # nearest first
    radius: float
    days: int  # the window is the last ``days`` days
    observed: int
    expected: float
    llr: float
    p_value: float = 1.0
    rank: int = 0

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else math.inf

    def recurrence_days(self, unit_days: float = 1.0) -> float:
        """SaTScan's recurrence interval of a daily prospective analysis: 1 / p units."""
        return unit_days / self.p_value if self.p_value > 0 else math.inf


@dataclass
class ScanResult:
    clusters: list[Cluster]
    total_cases: int
    replications: int  # run (fewer than asked when stopped early)
    simulated: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))


def latlong_to_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on a sphere of SaTScan's Earth radius (km); straight-line distances."""
    lat_r = np.radians(np.asarray(lat, dtype=np.float64))
    lon_r = np.radians(np.asarray(lon, dtype=np.float64))
    return np.column_stack(
        (
            EARTH_RADIUS_KM * np.cos(lat_r) * np.cos(lon_r),
            EARTH_RADIUS_KM * np.cos(lat_r) * np.sin(lon_r),
            EARTH_RADIUS_KM * np.sin(lat_r),
        )
    )


def cartesian(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.column_stack((x, np.asarray(y, dtype=np.float64), np.zeros_like(x)))


def llr_high(n: float, mu: float, total: float) -> float:
    """The Poisson generalised likelihood ratio (log) of a cylinder, high rates only."""
    if n <= mu:
        return 0.0
    value = n * math.log(n / mu)
    if total - n > 0:
        value += (total - n) * math.log((total - n) / (total - mu))
    return value


@dataclass(frozen=True)
class Neighbours:
    """Per centre, the locations within reach, nearest first, with the index of the
    last location of each group at equal distance (a circle takes all or none)."""

    offsets: np.ndarray
    index: np.ndarray
    distance: np.ndarray
    group_end: np.ndarray  # bool: evaluate after this location


def neighbours(data: ScanInput, location_totals: np.ndarray) -> Neighbours:
    total = float(location_totals.sum())
    limit = data.max_share * total
    offsets = [0]
    index: list[np.ndarray] = []
    dist: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    for centre in data.centres:
        d = np.sqrt(((data.xyz - centre) ** 2).sum(axis=1))
        order = np.lexsort((np.arange(len(d)), d))
        d_sorted = d[order]
        keep = d_sorted <= data.max_radius * (1 + 1e-12)
        order, d_sorted = order[keep], d_sorted[keep]
        # whole distance groups only, and only while the circle's cases stay in bounds
        group_end = np.ones(len(order), dtype=bool)
        if len(order) > 1:
            group_end[:-1] = d_sorted[1:] > d_sorted[:-1]
        cum = np.cumsum(location_totals[order])
        ok_groups = group_end & (cum <= limit + 1e-9)
        last = int(np.nonzero(ok_groups)[0].max()) + 1 if ok_groups.any() else 0
        order, d_sorted, group_end = order[:last], d_sorted[:last], group_end[:last]
        index.append(order.astype(np.int64))
        dist.append(d_sorted)
        ends.append(group_end)
        offsets.append(offsets[-1] + last)
    return Neighbours(
        offsets=np.asarray(offsets, dtype=np.int64),
        index=np.concatenate(index) if index else np.zeros(0, np.int64),
        distance=np.concatenate(dist) if dist else np.zeros(0),
        group_end=np.concatenate(ends) if ends else np.zeros(0, bool),
    )


@njit(cache=True)
def _best_per_centre(
    offsets, index, group_end, recent, loc_total, window_total, total, min_cases, xlogx, log_int
):
    """For every centre the highest log likelihood ratio, with where it was found.

    ``recent[l, w]``: cases at location ``l`` in the last ``w + 1`` days."""
    n_centres = offsets.shape[0] - 1
    n_windows = recent.shape[1]
    best = np.zeros(n_centres)
    best_end = np.full(n_centres, -1, np.int64)
    best_w = np.full(n_centres, -1, np.int64)
    n = np.zeros(n_windows)
    log_c = math.log(total)
    for k in range(n_centres):
        n[:] = 0.0
        area = 0
        gained = False
        top = 0.0
        for pos in range(offsets[k], offsets[k + 1]):
            loc = index[pos]
            area += loc_total[loc]
            if recent[loc, n_windows - 1] > 0:
                gained = True
                for w in range(n_windows):
                    n[w] += recent[loc, w]
            if not (gained and group_end[pos]):
                continue
            gained = False
            log_a = log_int[area]
            for w in range(n_windows):
                nw = n[w]
                if nw < min_cases:
                    continue
                mu = area * window_total[w] / total
                if nw <= mu:
                    continue
                rest = total - nw
                value = xlogx[int(nw)] - nw * (log_a + math.log(window_total[w]) - log_c)
                if rest > 0:
                    value += xlogx[int(rest)] - rest * math.log(total - mu)
                if value > top:
                    top = value
                    best_end[k] = pos
                    best_w[k] = w
        best[k] = top
    return best, best_end, best_w


@njit(cache=True)
def _max_llr(
    offsets, index, group_end, recent, loc_total, window_total, total, min_cases, xlogx, log_int, n
):
    n_centres = offsets.shape[0] - 1
    n_windows = recent.shape[1]
    log_c = math.log(total)
    top = 0.0
    for k in range(n_centres):
        for w in range(n_windows):
            n[w] = 0.0
        area = 0
        gained = False
        for pos in range(offsets[k], offsets[k + 1]):
            loc = index[pos]
            area += loc_total[loc]
            if recent[loc, n_windows - 1] > 0:
                gained = True
                for w in range(n_windows):
                    n[w] += recent[loc, w]
            if not (gained and group_end[pos]):
                continue
            gained = False
            log_a = log_int[area]
            for w in range(n_windows):
                nw = n[w]
                if nw < min_cases:
                    continue
                mu = area * window_total[w] / total
                if nw <= mu:
                    continue
                rest = total - nw
                value = xlogx[int(nw)] - nw * (log_a + math.log(window_total[w]) - log_c)
                if rest > 0:
                    value += xlogx[int(rest)] - rest * math.log(total - mu)
                if value > top:
                    top = value
    return top


@njit(cache=True, parallel=True)
def _simulate(
    seeds,
    case_locations,
    window_cases,
    offsets,
    index,
    group_end,
    loc_total,
    window_total,
    total,
    min_cases,
    xlogx,
    log_int,
    n_locations,
):
    """One maximum log likelihood ratio per seed, under random permutation of the case
    times: the ``window_cases[w]`` cases of each of the last days go to locations drawn
    without replacement from all cases' locations."""
    reps = seeds.shape[0]
    n_windows = window_cases.shape[0]
    drawn_total = 0
    for w in range(n_windows):
        drawn_total += window_cases[w]
    out = np.zeros(reps)
    for r in prange(reps):
        np.random.seed(seeds[r])
        pool = case_locations.copy()
        size = pool.shape[0]
        recent = np.zeros((n_locations, n_windows))
        taken = 0
        for w in range(n_windows):
            for _ in range(window_cases[w]):
                j = taken + np.random.randint(0, size - taken)
                pool[taken], pool[j] = pool[j], pool[taken]
                loc = pool[taken]
                for v in range(w, n_windows):
                    recent[loc, v] += 1.0
                taken += 1
        scratch = np.zeros(n_windows)
        out[r] = _max_llr(
            offsets,
            index,
            group_end,
            recent,
            loc_total,
            window_total,
            total,
            min_cases,
            xlogx,
            log_int,
            scratch,
        )
    return out


def _tables(total: int) -> tuple[np.ndarray, np.ndarray]:
    values = np.arange(total + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        xlogx = np.where(values > 0, values * np.log(values), 0.0)
        log_int = np.where(values > 0, np.log(values), -np.inf)
    return xlogx, log_int


def scan(
    data: ScanInput,
    replications: int = 999,
    seed: int = 12345,
    stop_when_exceeded: int | None = None,
    batch: int = 100,
) -> ScanResult:
    """Find each centre's most likely cylinder, rank them, and give Monte Carlo p-values.

    ``stop_when_exceeded``: stop once that many replications beat the most likely
    cluster (its p-value is then at least that many / reps so far, already uninteresting)."""
    counts = np.asarray(data.counts, dtype=np.int64)
    n_locations, n_days = counts.shape
    total = int(counts.sum())
    if total == 0 or len(data.centres) == 0:
        return ScanResult([], total, 0)
    n_windows = max(1, min(int(data.max_days), n_days))
    per_day_back = counts[:, ::-1][:, :n_windows].astype(np.float64)  # col w = w days ago
    recent = np.cumsum(per_day_back, axis=1)
    loc_total = counts.sum(axis=1)
    day_totals = counts.sum(axis=0)[::-1][:n_windows]
    window_total = np.cumsum(day_totals).astype(np.float64)
    nb = neighbours(data, loc_total.astype(np.float64))
    xlogx, log_int = _tables(total)
    best, best_end, best_w = _best_per_centre(
        nb.offsets,
        nb.index,
        nb.group_end,
        recent,
        loc_total,
        window_total,
        float(total),
        float(data.min_cases),
        xlogx,
        log_int,
    )
    clusters = []
    sizes = np.where(best_end >= 0, best_end - nb.offsets[:-1], 0)
    # equal ratios: the smaller circle first (a centre with no cases of its own reaching
    # a neighbour's cases ties with the neighbour alone; SaTScan reports the latter)
    for k in np.lexsort((np.arange(len(best)), sizes, -best)):
        if best[k] <= 0:
            break
        end, w = int(best_end[k]), int(best_w[k])
        members = nb.index[nb.offsets[k] : end + 1]
        area = int(loc_total[members].sum())
        clusters.append(
            Cluster(
                centre=int(k),
                locations=[int(x) for x in members],
                radius=float(nb.distance[end]),
                days=w + 1,
                observed=round(float(recent[members, w].sum())),
                expected=float(area * window_total[w] / total),
                llr=float(best[k]),
            )
        )
    clusters = _no_overlap(clusters)
    simulated = np.zeros(0)
    if replications > 0 and clusters:
        case_locations = np.repeat(np.arange(n_locations, dtype=np.int64), loc_total)
        rng = np.random.default_rng(seed)
        seeds = rng.integers(0, 2**31 - 1, size=replications, dtype=np.int64)
        parts = []
        top = clusters[0].llr
        for start in range(0, replications, batch):
            parts.append(
                _simulate(
                    seeds[start : start + batch],
                    case_locations,
                    day_totals.astype(np.int64),
                    nb.offsets,
                    nb.index,
                    nb.group_end,
                    loc_total,
                    window_total,
                    float(total),
                    float(data.min_cases),
                    xlogx,
                    log_int,
                    n_locations,
                )
            )
            if stop_when_exceeded and sum(int((p >= top - 1e-9).sum()) for p in parts) >= (
                stop_when_exceeded
            ):
                break
        simulated = np.concatenate(parts)
        runs = len(simulated)
        for rank, cluster in enumerate(clusters, start=1):
            cluster.rank = rank
            beaten = int((simulated >= cluster.llr - 1e-9).sum())
            cluster.p_value = (beaten + 1) / (runs + 1)
    return ScanResult(clusters, total, len(simulated), simulated)


def _no_overlap(clusters: list[Cluster]) -> list[Cluster]:
    """SaTScan's default secondary clusters: no location shared with a better one."""
    kept: list[Cluster] = []
    used: set[int] = set()
    for cluster in clusters:
        if used.isdisjoint(cluster.locations):
            kept.append(cluster)
            used.update(cluster.locations)
    return kept
