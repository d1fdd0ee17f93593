"""A special operation's effect: the incident rate in its area before, during and after
the operation, against a matched comparison area over the same periods, with an honest
interval.

The comparison area is made of schools outside the operation's area that had a similar
incident rate before it (matching on the "before" period): for each school of the area,
the ``per_school`` (3) outside schools whose incident count within 1 km in the before
period is closest to its own (ties: the nearest), each used once. Schools within
``buffer_km`` (2 km) of the area, in its districts or inside its drawn polygon are left
out, so that incidents displaced next door (or deterred there) do not contaminate the
comparison. Without any school in the area or any candidate, the comparison falls back
to the rest of the city's school surroundings (and the page says so).

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
from dataclasses import dataclass, field

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
class Effect:
    periods: list[Period]
    contrasts: list[Contrast] = field(default_factory=list)
    method: str = "matched"  # or "rest": the rest of the city (no match possible)
    area_school_ids: list[int] = field(default_factory=list)
    comparison_school_ids: list[int] = field(default_factory=list)

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


def match_comparison(
    area_ids: np.ndarray,
    area_pre: np.ndarray,
    area_lat: np.ndarray,
    area_lon: np.ndarray,
    cand_ids: np.ndarray,
    cand_pre: np.ndarray,
    cand_lat: np.ndarray,
    cand_lon: np.ndarray,
    per_school: int = 3,
) -> list[int]:
    """Nearest-rate matching without replacement: ``per_school`` rounds, in each every
    area school (most incidents first) takes the free candidate whose before-count is
    closest to its own, the nearest on a tie."""
    free = np.ones(len(cand_ids), dtype=bool)
    chosen: list[int] = []
    order = sorted(range(len(area_ids)), key=lambda i: (-area_pre[i], area_ids[i]))
    for _round in range(per_school):
        for i in order:
            if not free.any():
                return chosen
            gap = np.abs(cand_pre - area_pre[i]).astype(float)
            km = km_between(area_lat[i], area_lon[i], cand_lat, cand_lon)
            cost = np.where(free, gap * 1e6 + km, np.inf)
            best = int(np.argmin(cost))
            free[best] = False
            chosen.append(int(cand_ids[best]))
    return chosen


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
) -> Effect:
    """Counts per period in the area and the matched comparison, and the contrasts
    (during and after, each against before). ``police`` False leaves police-only
    incidents out (the education bureau's reading)."""
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
        .values_list("pk", "latitude", "longitude", "region_id")
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

    def pre_count(school_id: int) -> int:
        return sum(1 for i in links.get(school_id, ()) if day_of[i] <= before.end)

    method = "matched"
    comparison_ids: list[int] = []
    if area_mask.any():
        near = np.zeros(len(ids), dtype=bool)
        for i in np.nonzero(area_mask)[0]:
            near |= km_between(lat[i], lon[i], lat, lon) <= buffer_km
        candidates = ~area_mask & ~near
        area_idx, cand_idx = np.nonzero(area_mask)[0], np.nonzero(candidates)[0]
        comparison_ids = match_comparison(
            ids[area_idx],
            np.array([pre_count(int(ids[i])) for i in area_idx]),
            lat[area_idx],
            lon[area_idx],
            ids[cand_idx],
            np.array([pre_count(int(ids[i])) for i in cand_idx]),
            lat[cand_idx],
            lon[cand_idx],
            per_school=per_school,
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
    )
