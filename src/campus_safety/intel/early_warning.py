"""Today's space-time early warning: the prospective space-time permutation scan over
the platform's incidents (all kinds together, and each kind with enough cases), and an
alert for every cluster whose recurrence interval passes the threshold.

Cases are incidents, placed at their point rounded to ~100 m (a "location"); circles are
centred on schools and on those locations; windows end today."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from campus_safety import bus, clock
from campus_safety.audit import services as audit
from campus_safety.intel.geo import SchoolPoints
from campus_safety.intel.models import Alert, Incident
from campus_safety.intel.scan.engine import ScanInput, latlong_to_xyz, scan

log = logging.getLogger(__name__)


def setting(name: str, default):
    return type(default)(getattr(settings, name, default))


@dataclass
class ScanSummary:
    day: dt.date
    scans: int = 0
    clusters: int = 0
    alerts: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"intel scan {self.day}: {self.scans} scans, {self.clusters} clusters, "
            f"{self.alerts} new alerts in {self.seconds:.1f} s"
        )


def _local_day(when: dt.datetime) -> dt.date:
    return timezone.localtime(when).date()


def run_daily_scan(now: dt.datetime | None = None, replications: int | None = None) -> ScanSummary:
    """Scan the study period ending today; raise alerts; safe to run again the same day."""
    import time

    started = time.perf_counter()
    now = now or clock.now()
    today = _local_day(now)
    study_days = setting("INTEL_SCAN_STUDY_DAYS", 365)
    first_day = today - dt.timedelta(days=study_days - 1)
    start_dt = timezone.make_aware(dt.datetime.combine(first_day, dt.time.min))
    rows = list(
        # police-only incidents (watch-list hits) stay out: alerts reach the bureau
        Incident.objects.filter(
            occurred_at__gte=start_dt, occurred_at__lte=now, police_only=False
        ).values_list("id", "kind", "occurred_at", "latitude", "longitude")
    )
    summary = ScanSummary(today)
    points = SchoolPoints.load()
    kinds: dict[str, int] = defaultdict(int)
    for row in rows:
        kinds[row[1]] += 1
    min_cases = setting("INTEL_SCAN_MIN_KIND_CASES", 30)
    groups: list[str] = ["", *sorted(k for k, n in kinds.items() if n >= min_cases)]
    for kind in groups:
        subset = [r for r in rows if not kind or r[1] == kind]
        if len(subset) < 2:
            continue
        summary.scans += 1
        found, raised = _scan_one(kind, subset, today, first_day, points, now, replications)
        summary.clusters += found
        summary.alerts += raised
    summary.seconds = time.perf_counter() - started
    log.info("%s", summary)
    return summary


def _scan_one(kind, rows, today, first_day, points, now, replications):
    days = (today - first_day).days + 1
    keys: dict[tuple[float, float], int] = {}
    loc_of_row = []
    for _id, _kind, _occurred, lat, lon in rows:
        key = (round(lat, 3), round(lon, 3))
        loc_of_row.append(keys.setdefault(key, len(keys)))
    coords = np.array(list(keys), dtype=float)
    counts = np.zeros((len(keys), days), dtype=np.int64)
    day_of_row = []
    for (_id, _kind, occurred, _lat, _lon), loc in zip(rows, loc_of_row, strict=True):
        day = (_local_day(occurred) - first_day).days
        day_of_row.append(day)
        counts[loc, day] += 1
    xyz = latlong_to_xyz(coords[:, 0], coords[:, 1])
    centres = xyz
    if len(points.ids):
        centres = np.vstack([latlong_to_xyz(points.lat, points.lon), xyz])
    radius = setting("INTEL_SCAN_MAX_RADIUS_KM", 1.5)
    data = ScanInput(
        xyz=xyz,
        counts=counts,
        centres=centres,
        max_radius=radius,
        max_share=0.5,
        max_days=setting("INTEL_SCAN_MAX_DAYS", 7),
        min_cases=2,
    )
    threshold = setting("INTEL_ALERT_RECURRENCE_DAYS", 100.0)
    reps = replications if replications is not None else setting("INTEL_SCAN_REPLICATIONS", 999)
    # a run stops once enough replications beat the top cluster that its recurrence
    # interval can no longer reach the threshold: the alert decision is unchanged
    stop = max(1, int((reps + 1) / threshold))
    result = scan(
        data, replications=reps, seed=int(today.strftime("%Y%m%d")), stop_when_exceeded=stop
    )
    raised = 0
    n_schools = len(points.ids)
    for cluster in result.clusters:
        if result.replications == 0 or cluster.recurrence_days() < threshold:
            continue
        if cluster.centre < n_schools:
            c_lat, c_lon = points.lat[cluster.centre], points.lon[cluster.centre]
        else:
            c_lat, c_lon = coords[cluster.centre - n_schools]
        window_start = today - dt.timedelta(days=cluster.days - 1)
        members = set(cluster.locations)
        incident_ids = [
            rows[i][0]
            for i, (loc, day) in enumerate(zip(loc_of_row, day_of_row, strict=True))
            if loc in members and first_day + dt.timedelta(days=day) >= window_start
        ]
        if _raise_alert(
            kind,
            today,
            now,
            float(c_lat),
            float(c_lon),
            cluster,
            window_start,
            incident_ids,
            points,
        ):
            raised += 1
    return len(result.clusters), raised


def _raise_alert(kind, today, now, lat, lon, cluster, window_start, incident_ids, points):
    ongoing = Alert.objects.filter(
        kind=kind, status__in=Alert.OPEN_STATUSES, incidents__in=incident_ids
    ).exists()
    if ongoing:
        return False
    radius_km = max(cluster.radius, 0.05)
    # schools inside the circle, with the ~100 m the incidents' points were rounded to
    inside, nearest = points.near(lat, lon, radius_km * 1.01 + 0.1)
    signature = f"{kind or 'all'}:{today:%Y%m%d}:{lat:.4f},{lon:.4f}"
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                reference=f"YJ{today:%Y%m%d}-{secrets.token_hex(2).upper()}",
                signature=signature,
                kind=kind,
                scan_date=today,
                raised_at=now,
                latitude=lat,
                longitude=lon,
                radius_m=round(radius_km * 1000),
                window_start=window_start,
                window_end=today,
                observed=cluster.observed,
                expected=cluster.expected,
                statistic=cluster.llr,
                p_value=cluster.p_value,
                recurrence_days=cluster.recurrence_days(),
                **points.placing(inside[0] if inside else nearest),
            )
            alert.schools.set(inside)
            alert.incidents.set(incident_ids)
            audit.record("intel.alert.raise", alert, user=None)
            bus.publish_on_commit(
                "intel.alert",
                alert_id=alert.pk,
                school_id=alert.school_id,
                kind=kind,
                observed=alert.observed,
                recurrence_days=round(alert.recurrence_days),
            )
    except IntegrityError:
        return False
    return True
