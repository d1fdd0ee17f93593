"""A special operation's effect: the incident rate in its area before, during and after
the operation, against a matched comparison area over the same periods, with an honest
interval.

The comparison area is made of schools outside the operation's area that looked like
the area's schools before it: for each school of the area, the ``per_school`` (3)
outside schools of the same kind (kindergarten, primary, …; another kind only when none
is left) that are nearest on a standardised distance over

* the incidents within 1 km in the "before" period (the level),
* the incidents in the second half of that period minus the first half (the trend: a
  school whose incidents were already falling is no comparison for one where they were
  rising),
* the number of students, on the log scale (the size: 3,000 pupils draw more trouble
  to the gate than 150),

each measure divided by its standard deviation over the schools considered (a measure
that does not vary counts for nothing), ties broken by distance and then id, each school
used once — deterministic. Schools within ``buffer_km`` (2 km) of the area, in its
districts or inside its drawn polygon are left out, so that incidents displaced next
door (or deterred there) do not contaminate the comparison. ``Effect.matching`` says
what was used and how alike the two groups came out (the page shows it). Without any
school in the area or any candidate, the comparison falls back to the rest of the
city's school surroundings (and the page says so).

Rates are incidents per school per 30 days. Two figures:

* the difference in differences: ``(area_during − area_before) − (comp_during −
  comp_before)``, incidents per school per 30 days, with a 95 % interval from the
  Poisson counts (the variance of a rate ``c·k/(d·n)`` is ``c·(k/(d·n))²``);
* the ratio of rate ratios (DiD on the log scale): ``(area_during / area_before) /
  (comp_during / comp_before)``, Wald interval on the log scale.

Few incidents give wide intervals; the page says so instead of claiming an effect."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields

import numpy as np
from django.utils import timezone

from campus_safety.intel.geo import km_between
from campus_safety.intel.models import Incident, Operation
from campus_safety.orgs.models import School

PER_30 = 30.0


@dataclass
class Period:
    label: str
    start: dt.date
    end: dt.date  # inclusive
    area: int = 0
    comparison: int = 0
    area_schools: int = 1
    comparison_schools: int = 1

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def _rate(self, count: int, schools: int) -> float:
        return count * PER_30 / (self.days * max(schools, 1)) if self.days > 0 else 0.0

    @property
    def area_rate(self) -> float:
        """Incidents per school per 30 days in the operation's area."""
        return self._rate(self.area, self.area_schools)

    @property
    def comparison_rate(self) -> float:
        return self._rate(self.comparison, self.comparison_schools)

    def variance(self, count: int, schools: int) -> float:
        scale = PER_30 / (self.days * max(schools, 1)) if self.days > 0 else 0.0
        return count * scale * scale


@dataclass
class Contrast:
    """One difference in differences (a later period against "before")."""

    label: str
    did: float  # incidents per school per 30 days; < 0: the area fell more
    did_low: float
    did_high: float
    ratio: float | None  # ratio of rate ratios; < 1: the area fell more
    low: float | None
    high: float | None

    @property
    def conclusive(self) -> bool:
        return self.did_high < 0 or self.did_low > 0


@dataclass
class Balance:
    """One matching measure: its mean over the area's schools and over the comparison's."""

    measure: str  # "incidents", "trend", "students"
    area: float
    comparison: float


@dataclass
class Matching:
    """What the comparison schools were matched on, and how alike they came out."""

    measures: tuple[str, ...]  # "kind" (exact where possible) and the distance's measures
    same_kind: int = 0  # comparison schools of the same kind as their area school
    other_kind: int = 0  # taken from another kind: none of the same kind was left
    balance: list[Balance] = field(default_factory=list)

    @property
    def all_same_kind(self) -> bool:
        return self.other_kind == 0


@dataclass
class Effect:
    periods: list[Period]
    contrasts: list[Contrast] = field(default_factory=list)
    method: str = "matched"  # or "rest": the rest of the city (no match possible)
    area_school_ids: list[int] = field(default_factory=list)
    comparison_school_ids: list[int] = field(default_factory=list)
    matching: Matching | None = None  # None when nothing was matched ("rest")

    def _during(self) -> Contrast | None:
        return next((c for c in self.contrasts if c.label == "during"), None)

    @property
    def ratio(self) -> float | None:
        c = self._during()
        return c.ratio if c else None

    @property
    def low(self) -> float | None:
        c = self._during()
        return c.low if c else None

    @property
    def high(self) -> float | None:
        c = self._during()
        return c.high if c else None

    @property
    def did(self) -> float | None:
        c = self._during()
        return c.did if c else None

    @property
    def conclusive(self) -> bool:
        """The during-vs-before ratio's interval excludes 1."""
        return self.high is not None and (self.high < 1 or (self.low or 0) > 1)


def ratio_of_ratios(a_before, a_during, r_before, r_during, d_before, d_during):
    """Point estimate and 95 % interval of (a_during/a_before)/(r_during/r_before),
    counts per their period lengths; None when a count is zero."""
    counts = (a_before, a_during, r_before, r_during)
    if min(counts) <= 0 or d_before <= 0 or d_during <= 0:
        return None, None, None
    log_ratio = (
        math.log(a_during / d_during)
        - math.log(a_before / d_before)
        - math.log(r_during / d_during)
        + math.log(r_before / d_before)
    )
    se = math.sqrt(sum(1 / c for c in counts))
    return math.exp(log_ratio), math.exp(log_ratio - 1.96 * se), math.exp(log_ratio + 1.96 * se)


def difference_in_differences(before: Period, later: Period) -> tuple[float, float, float]:
    """(later − before) in the area minus the same in the comparison, per school per 30
    days, with a 95 % interval from the Poisson variances of the four rates."""
    did = (later.area_rate - before.area_rate) - (later.comparison_rate - before.comparison_rate)
    variance = (
        later.variance(later.area, later.area_schools)
        + before.variance(before.area, before.area_schools)
        + later.variance(later.comparison, later.comparison_schools)
        + before.variance(before.comparison, before.comparison_schools)
    )
    half = 1.96 * math.sqrt(variance)
    return did, did - half, did + half


def in_area(operation: Operation, lats, lons, radius_km: float = 1.0):
    """Boolean per point: near one of the operation's schools or in its drawn polygon
    (its districts are matched by the caller)."""
    lats, lons = np.asarray(lats, float), np.asarray(lons, float)
    inside = np.zeros(len(lats), dtype=bool)
    for school in operation.schools.exclude(latitude=None):
        inside |= km_between(school.latitude, school.longitude, lats, lons) <= radius_km
    if len(operation.polygon or []) >= 3:
        inside |= _in_polygon(operation.polygon, lats, lons)
    return inside


def _in_polygon(polygon, lats, lons):
    """Ray casting; ``polygon`` is [[lat, lon], ...]."""
    lats, lons = np.asarray(lats, float), np.asarray(lons, float)
    inside = np.zeros(len(lats), dtype=bool)
    pts = [(float(a), float(b)) for a, b in polygon]
    j = len(pts) - 1
    for i in range(len(pts)):
        yi, xi = pts[i]
        yj, xj = pts[j]
        crosses = ((yi > lats) != (yj > lats)) & (
            lons < (xj - xi) * (lats - yi) / ((yj - yi) or 1e-12) + xi
        )
        inside ^= crosses
        j = i
    return inside


DISTANCE_MEASURES = ("incidents", "trend", "students")


@dataclass
class SchoolFeatures:
    """The schools a match is made from, one entry per school (numpy arrays)."""

    ids: np.ndarray
    kind: np.ndarray  # School.Kind values
    lat: np.ndarray
    lon: np.ndarray
    incidents: np.ndarray  # within 1 km in the before period
    trend: np.ndarray  # second half of the before period minus the first half
    students: np.ndarray

    def take(self, index: np.ndarray) -> SchoolFeatures:
        return SchoolFeatures(*(getattr(self, f.name)[index] for f in fields(self)))

    def values(self, measure: str) -> np.ndarray:
        if measure == "students":
            return np.log1p(self.students.astype(float))
        return getattr(self, measure).astype(float)


def standardised_distance(
    area: SchoolFeatures, candidates: SchoolFeatures, measures=DISTANCE_MEASURES
) -> np.ndarray:
    """(area × candidates) Euclidean distance over ``measures``, each divided by its
    standard deviation over area and candidates together; rounded to 1e-9 so that
    equal schools tie exactly (and the tie-breaks decide, the same on every machine)."""
    total = np.zeros((len(area.ids), len(candidates.ids)))
    for measure in measures:
        a, c = area.values(measure), candidates.values(measure)
        spread = float(np.std(np.concatenate([a, c]))) if len(a) + len(c) else 0.0
        if spread > 0:
            total += ((a[:, None] - c[None, :]) / spread) ** 2
    return np.round(np.sqrt(total), 9)


def match_comparison(
    area: SchoolFeatures,
    candidates: SchoolFeatures,
    per_school: int = 3,
    *,
    measures=DISTANCE_MEASURES,
    exact_kind: bool = True,
) -> tuple[list[int], int]:
    """Nearest-neighbour matching without replacement: ``per_school`` rounds, in each
    every area school (most incidents first, then id) takes the free candidate nearest
    on the standardised distance — among those of its own kind while any is free
    (``exact_kind``) — then the nearest in km, then the lowest id. Returns the chosen
    ids and how many of them are of another kind than their area school."""
    if not len(area.ids) or not len(candidates.ids):
        return [], 0
    distance = standardised_distance(area, candidates, measures)
    free = np.ones(len(candidates.ids), dtype=bool)
    chosen: list[int] = []
    other_kind = 0
    order = sorted(range(len(area.ids)), key=lambda i: (-area.incidents[i], area.ids[i]))
    for _round in range(per_school):
        for i in order:
            if not free.any():
                return chosen, other_kind
            pool = free
            same = free & (candidates.kind == area.kind[i])
            if exact_kind and same.any():
                pool = same
            index = np.nonzero(pool)[0]
            km = km_between(area.lat[i], area.lon[i], candidates.lat[index], candidates.lon[index])
            best = int(index[np.lexsort((candidates.ids[index], km, distance[i, index]))[0]])
            free[best] = False
            chosen.append(int(candidates.ids[best]))
            other_kind += int(candidates.kind[best] != area.kind[i])
    return chosen, other_kind


def _balance(area: SchoolFeatures, comparison: SchoolFeatures) -> list[Balance]:
    return [
        Balance(
            measure,
            float(getattr(area, measure).mean()) if len(area.ids) else 0.0,
            float(getattr(comparison, measure).mean()) if len(comparison.ids) else 0.0,
        )
        for measure in DISTANCE_MEASURES
    ]


def _periods(operation: Operation, today: dt.date) -> list[Period]:
    length = (operation.ends_on - operation.starts_on).days + 1
    before = Period(
        "before",
        operation.starts_on - dt.timedelta(days=length),
        operation.starts_on - dt.timedelta(days=1),
    )
    during = Period("during", operation.starts_on, min(operation.ends_on, today))
    periods = [before, during]
    if today > operation.ends_on:
        periods.append(
            Period(
                "after",
                operation.ends_on + dt.timedelta(days=1),
                min(operation.ends_on + dt.timedelta(days=length), today),
            )
        )
    return periods


def operation_effect(
    operation: Operation,
    today: dt.date,
    *,
    police: bool = True,
    per_school: int = 3,
    buffer_km: float = 2.0,
    measures: tuple[str, ...] = DISTANCE_MEASURES,
    exact_kind: bool = True,
) -> Effect:
    """Counts per period in the area and the matched comparison, and the contrasts
    (during and after, each against before). ``police`` False leaves police-only
    incidents out (the education bureau's reading). ``measures`` and ``exact_kind`` say
    what the comparison is matched on (the default: everything; ``("incidents",)``
    without kind is the old count-only matching, kept for comparison in tests and the
    benchmark)."""
    periods = _periods(operation, today)
    before = periods[0]
    start = timezone.make_aware(dt.datetime.combine(before.start, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(periods[-1].end, dt.time.max))
    incidents = Incident.objects.filter(occurred_at__range=(start, end))
    if operation.target_kinds:
        incidents = incidents.filter(kind__in=operation.target_kinds)
    if not police:
        incidents = incidents.filter(police_only=False)
    rows = list(incidents.values_list("pk", "occurred_at", "latitude", "longitude", "region_id"))
    day_of = {r[0]: timezone.localtime(r[1]).date() for r in rows}
    links: dict[int, set[int]] = defaultdict(set)  # school → incidents within 1 km
    for school_id, incident_id in Incident.schools.through.objects.filter(
        incident__in=incidents
    ).values_list("school_id", "incident_id"):
        links[school_id].add(incident_id)

    schools = list(
        School.objects.exclude(latitude=None)
        .exclude(longitude=None)
        .values_list("pk", "latitude", "longitude", "region_id", "kind", "students")
    )
    ids = np.array([s[0] for s in schools], dtype=int)
    lat = np.array([s[1] for s in schools], dtype=float)
    lon = np.array([s[2] for s in schools], dtype=float)
    region = np.array([s[3] or 0 for s in schools], dtype=int)
    region_ids = set(operation.regions.values_list("pk", flat=True))
    explicit = set(operation.schools.values_list("pk", flat=True))
    has_polygon = len(operation.polygon or []) >= 3
    area_mask = np.isin(ids, list(explicit)) | np.isin(region, list(region_ids))
    if has_polygon and len(ids):
        area_mask |= _in_polygon(operation.polygon, lat, lon)

    # the area's incidents: near its schools, in its polygon or districts, or linked to a
    # school inside it
    area_incidents: set[int] = set()
    if rows:
        inside = in_area(operation, [r[2] for r in rows], [r[3] for r in rows])
        if region_ids:
            inside |= np.array([r[4] in region_ids for r in rows])
        area_incidents = {r[0] for r, hit in zip(rows, inside, strict=True) if hit}
    for school_id in ids[area_mask]:
        area_incidents |= links.get(int(school_id), set())

    method = "matched"
    comparison_ids: list[int] = []
    matching = None
    if area_mask.any():
        near = np.zeros(len(ids), dtype=bool)
        for i in np.nonzero(area_mask)[0]:
            near |= km_between(lat[i], lon[i], lat, lon) <= buffer_km
        candidates = ~area_mask & ~near
        features = _features(schools, ids, lat, lon, links, day_of, before)
        area_features = features.take(np.nonzero(area_mask)[0])
        cand_features = features.take(np.nonzero(candidates)[0])
        comparison_ids, other_kind = match_comparison(
            area_features,
            cand_features,
            per_school=per_school,
            measures=measures,
            exact_kind=exact_kind,
        )
        if comparison_ids:
            picked = features.take(np.nonzero(np.isin(ids, comparison_ids))[0])
            matching = Matching(
                ("kind", *measures) if exact_kind else tuple(measures),
                same_kind=len(comparison_ids) - other_kind,
                other_kind=other_kind,
                balance=_balance(area_features, picked),
            )
    if comparison_ids:
        comparison_incidents = set().union(*(links.get(s, set()) for s in comparison_ids))
        n_area, n_comparison = int(area_mask.sum()), len(comparison_ids)
    else:  # nothing to match: the rest of the city, per school as well
        method = "rest"
        comparison_incidents = set(day_of)
        n_area = max(int(area_mask.sum()), 1)
        n_comparison = max(len(ids) - int(area_mask.sum()), 1)
    comparison_incidents -= area_incidents

    area_days = Counter(day_of[i] for i in area_incidents)
    comparison_days = Counter(day_of[i] for i in comparison_incidents)
    for period in periods:
        period.area_schools, period.comparison_schools = n_area, n_comparison
        for day, n in area_days.items():
            if period.start <= day <= period.end:
                period.area += n
        for day, n in comparison_days.items():
            if period.start <= day <= period.end:
                period.comparison += n

    contrasts = []
    for later in periods[1:]:
        did, did_low, did_high = difference_in_differences(before, later)
        ratio, low, high = ratio_of_ratios(
            before.area, later.area, before.comparison, later.comparison, before.days, later.days
        )
        contrasts.append(Contrast(later.label, did, did_low, did_high, ratio, low, high))
    return Effect(
        periods,
        contrasts,
        method=method,
        area_school_ids=[int(i) for i in ids[area_mask]],
        comparison_school_ids=comparison_ids,
        matching=matching,
    )


def _features(schools, ids, lat, lon, links, day_of, before: Period) -> SchoolFeatures:
    """Every school's matching measures over the before period: its incidents within
    1 km, the second half's minus the first half's (the middle day of an odd-length
    period left out), its kind and students."""
    half = before.days // 2
    first_end = before.start + dt.timedelta(days=half - 1)
    second_start = before.end - dt.timedelta(days=half - 1)
    incidents = np.zeros(len(ids), dtype=int)
    trend = np.zeros(len(ids), dtype=int)
    for k, school_id in enumerate(ids):
        for i in links.get(int(school_id), ()):
            day = day_of[i]
            if day <= before.end:
                incidents[k] += 1
                if half and day <= first_end:
                    trend[k] -= 1
                elif half and day >= second_start:
                    trend[k] += 1
    return SchoolFeatures(
        ids=ids,
        kind=np.array([s[4] for s in schools], dtype=object),
        lat=lat,
        lon=lon,
        incidents=incidents,
        trend=trend,
        students=np.array([s[5] or 0 for s in schools], dtype=int),
    )
