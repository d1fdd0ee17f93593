"""What the command-centre big screen (指挥大屏) shows, as plain JSON-ready data.

Two parts, fetched separately so the live part stays cheap enough to refetch on every
event: ``live_part`` (open alarms and units on the map, today's alarms against the
targets, today's 护学岗 staffing, open trouble spots, devices online by kind with a
24-hour trend, hazards this month) and ``kpi_part`` (the 4×100% rates per district,
the slower set-based board, with what changes once a day: the open early-warning
clusters and the inspection ranking, ``watch_part``). Both take the already scoped
schools.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db.models import Avg, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.alarms import statistics as alarm_statistics
from campus_safety.alarms.models import AlarmCase, Dispatch
from campus_safety.devices.models import Device, StatusChange
from campus_safety.devices.services import counts_by_kind_and_status
from campus_safety.hazards.models import Hazard
from campus_safety.inspections.daily import PASS_SCORE
from campus_safety.inspections.models import DailyResult
from campus_safety.intel.models import Alert, IncidentKind
from campus_safety.orgs.models import School
from campus_safety.patrols import services as patrol_services
from campus_safety.patrols import statistics as patrol_statistics
from campus_safety.patrols.models import PeakPost
from campus_safety.reports import counting, targets
from campus_safety.workforce.staffing import StaffingRule

MAX_MARKERS = 500  # per layer: a wall map is for the open work, not every school
RANKED = 5  # the worst districts and schools of the inspection ranking shown
TREND_HOURS = 24
ONLINE = Device.Status.ONLINE.value


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    return round((end - start).total_seconds(), 1) if start and end else None


def arrival_target_s(region_code: str | None) -> int:
    minutes = settings.ALARM_RESPONSE_CIRCLES.get(
        region_code or "", settings.ALARM_RESPONSE_MINUTES
    )
    return int(minutes) * 60


def alarms_part(schools: QuerySet, now: dt.datetime, police: bool = False) -> dict[str, Any]:
    """Open cases (map and list) and today's cases against the targets; a watch-list
    hit's police-only case counts only on a police reader's screen."""
    ids = schools.order_by().values("pk")
    day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    cases_in_scope = AlarmCase.objects.filter(school__in=ids)
    if not police:
        cases_in_scope = cases_in_scope.filter(police_only=False)
    open_cases = list(
        cases_in_scope.filter(closed_at__isnull=True)
        .select_related("school__region")
        .order_by("is_test", "priority", "opened_at", "id")[:MAX_MARKERS]
    )
    units_out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    units = []
    for sent in (
        Dispatch.objects.filter(case__in=[c.pk for c in open_cases], cleared_at__isnull=True)
        .select_related("unit")
        .order_by("dispatched_at")
    ):
        state = "on_scene" if sent.arrived_at else "en_route"
        row = {
            "case": sent.case_id,
            "name": sent.unit.name,
            "kind": sent.unit.kind,
            "state": state,
            "lon": sent.unit.longitude,
            "lat": sent.unit.latitude,
        }
        units_out[sent.case_id].append(row)
        units.append(row)
    ack_target = settings.ALARM_ACK_SECONDS
    cases = [
        {
            "id": c.pk,
            "school": c.school.name,
            "district": c.school.region.name if c.school.region_id else "",
            "lon": c.school.longitude,
            "lat": c.school.latitude,
            "state": c.state,
            "state_label": c.get_state_display(),
            "priority": c.priority,
            "is_test": c.is_test,
            "opened_at": _iso(c.opened_at),
            "ack_s": _seconds(c.opened_at, c.acknowledged_at),
            "arrival_s": _seconds(c.dispatched_at, c.arrived_at),
            "ack_late": (c.acknowledged_at or now) - c.opened_at > dt.timedelta(seconds=ack_target),
            "units": units_out.get(c.pk, []),
        }
        for c in open_cases
    ]
    today = list(
        cases_in_scope.filter(opened_at__gte=day_start, is_test=False)
        .values_list(
            "opened_at", "acknowledged_at", "dispatched_at", "arrived_at", "school__region__code"
        )
        .order_by()
    )
    ack = [_seconds(o, a) for o, a, *_ in today if a]
    arrived = [(_seconds(d, r), arrival_target_s(code)) for _o, _a, d, r, code in today if d and r]
    return {
        "open": cases,
        "open_count": sum(not c["is_test"] for c in cases),
        "units": units,
        "today": {
            "total": len(today),
            "acknowledged": len(ack),
            "ack_in_target": sum(s <= ack_target for s in ack),
            "ack_target_s": ack_target,
            "p50_ack_s": alarm_statistics.percentile(ack, 0.5),
            "arrived": len(arrived),
            "arrival_in_target": sum(s <= target for s, target in arrived),
            "arrival_target_s": arrival_target_s(None),
            "p90_arrival_s": alarm_statistics.percentile([s for s, _t in arrived], 0.9),
        },
    }


def posts_part(schools: QuerySet, now: dt.datetime) -> dict[str, Any]:
    """Today's 护学岗 windows by state, and the posts whose window is open now — summed
    by ``patrol_statistics.window_summary`` (head-counts grouped in the database, no
    post loaded as an object: this is refetched on every event)."""
    posts = PeakPost.objects.filter(school__in=schools.order_by().values("pk"))
    return patrol_statistics.window_summary(
        posts, patrol_services.local_day(now), now, live_limit=MAX_MARKERS
    )


def devices_part(
    schools: QuerySet, now: dt.datetime, trend: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Approved devices online by kind now, and the online count at each of the last
    24 hours, rebuilt backwards from now over the recorded transitions. The trend's
    points are whole hours, so within one hour it may be passed in (``trend``, as an
    earlier call gave it) instead of walked again."""
    devices = Device.objects.filter(school__in=schools.order_by().values("pk"), is_approved=True)
    by_kind = counts_by_kind_and_status(devices)
    labels = dict(Device.Kind.choices)
    online_now = {kind: row.get(ONLINE, 0) for kind, row in by_kind.items()}
    return {
        "total": sum(r["total"] for r in by_kind.values()),
        "online": sum(online_now.values()),
        "by_kind": [
            {
                "kind": kind,
                "label": str(labels.get(kind, kind)),
                "online": online_now[kind],
                "total": row["total"],
            }
            for kind, row in by_kind.items()
        ],
        "trend": trend if trend is not None else online_trend(devices, online_now, now),
    }


def trend_hour(now: dt.datetime) -> dt.datetime:
    """The newest point of the online trend: the start of the local hour."""
    return timezone.localtime(now).replace(minute=0, second=0, microsecond=0)


def online_trend(devices: QuerySet, online_now: dict[str, int], now: dt.datetime) -> dict:
    """The online count by kind at each of the last ``TREND_HOURS`` whole hours."""
    hour = trend_hour(now)
    marks = [hour - dt.timedelta(hours=h) for h in range(TREND_HOURS - 1, -1, -1)]
    changes = (
        StatusChange.objects.filter(device__in=devices, at__gt=marks[0])
        .values_list("device__kind", "at", "from_status", "to_status")
        .order_by("-at", "-id")
    )
    series = {kind: [0] * len(marks) for kind in online_now}
    level = dict(online_now)
    index = len(marks) - 1
    for kind, at, from_status, to_status in changes.iterator(chunk_size=5000):
        while index >= 0 and at <= marks[index]:
            for k in series:
                series[k][index] = level.get(k, 0)
            index -= 1
        if kind in level:
            level[kind] += (from_status == ONLINE) - (to_status == ONLINE)
    while index >= 0:
        for k in series:
            series[k][index] = level.get(k, 0)
        index -= 1
    return {"hours": [timezone.localtime(m).strftime("%H:00") for m in marks], "series": series}


def hazards_part(schools: QuerySet, now: dt.datetime) -> dict[str, Any]:
    """Hazards opened and rectified this month (``counting.rectified_hazards``, as the
    campaign and scheduled reports count them), and the open trouble spots for the map."""
    ids = schools.order_by().values("pk")
    month = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    hazards = Hazard.objects.filter(school__in=ids).exclude(status=Hazard.Status.DISMISSED)
    spots = list(
        hazards.filter(kind=Hazard.Kind.SURROUNDING, status__in=Hazard.OPEN_STATUSES)
        .exclude(Q(longitude__isnull=True) | Q(latitude__isnull=True))
        .values("pk", "title", "longitude", "latitude", "severity")
        .order_by("-reported_at")[:MAX_MARKERS]
    )
    return {
        "opened_this_month": hazards.filter(reported_at__gte=month).count(),
        "closed_this_month": counting.rectified_hazards(hazards, month).count(),
        "open": hazards.filter(status__in=Hazard.OPEN_STATUSES).count(),
        "trouble_spots": [
            {
                "id": s["pk"],
                "title": s["title"],
                "lon": s["longitude"],
                "lat": s["latitude"],
                "severity": s["severity"],
            }
            for s in spots
        ],
    }


def live_part(
    schools: QuerySet[School],
    now: dt.datetime | None = None,
    posts: dict | None = None,
    trend: dict | None = None,
    police: bool = False,
) -> dict[str, Any]:
    """Everything but the KPIs; ``posts`` may be given (the page keeps it a few seconds:
    it is the slowest part and changes only with check-ins), and the devices' ``trend``
    (the page keeps it for the hour). ``police``: the reader sees police-only cases."""
    now = now or clock.now()
    return {
        "generated_at": _iso(now),
        "alarms": alarms_part(schools, now, police),
        "posts": posts if posts is not None else posts_part(schools, now),
        "devices": devices_part(schools, now, trend),
        "hazards": hazards_part(schools, now),
    }


def alerts_part(schools: QuerySet[School]) -> dict[str, Any]:
    """The open early-warning clusters (intel ``Alert``: open, acknowledged or assessed)
    whose nearest school is on this screen, as the summary counts them; the strongest
    (shortest recurrence interval) first, each with its centre and radius for the map.
    Clusters carry no persons' data: every big-screen role reads them."""
    alerts = Alert.objects.filter(
        school__in=schools.order_by().values("pk"), status__in=Alert.OPEN_STATUSES
    )
    kinds, all_kinds = dict(IncidentKind.choices), _("All incident kinds")
    rows = alerts.select_related("school").order_by("recurrence_days", "-raised_at", "id")
    return {
        "open": alerts.count(),
        "clusters": [
            {
                "id": a.pk,
                "reference": a.reference,
                "kind": str(kinds.get(a.kind, a.kind)) if a.kind else all_kinds,
                "school": a.school.name if a.school_id else "",
                "lon": a.longitude,
                "lat": a.latitude,
                "radius_m": a.radius_m,
                "observed": a.observed,
                "expected": round(a.expected, 1),
                "recurrence_days": round(a.recurrence_days),
                "status": a.status,
            }
            for a in rows[:MAX_MARKERS]
        ],
    }


def ranking_part(schools: QuerySet[School]) -> dict[str, Any]:
    """The inspection ranking (每日网上巡查) of the latest inspected day: the districts
    with the lowest mean score and the schools with the lowest score, worst first."""
    results = DailyResult.objects.filter(school__in=schools.order_by().values("pk"))
    day = results.order_by("-day").values_list("day", flat=True).first()
    if day is None:
        return {"date": None, "pass_score": PASS_SCORE, "districts": [], "schools": []}
    today = results.filter(day=day)
    districts = (
        today.order_by()
        .values("school__region__code", "school__region__name")
        .annotate(mean=Avg("score"))
        .order_by("mean", "school__region__code")[:RANKED]
    )
    worst = today.order_by("score", "school__code").values_list("school__name", "score")[:RANKED]
    return {
        "date": day.isoformat(),
        "pass_score": PASS_SCORE,
        "districts": [
            {
                "code": d["school__region__code"],
                "name": d["school__region__name"],
                "mean": round(d["mean"], 1),
            }
            for d in districts
        ],
        "schools": [{"name": name, "score": round(score, 1)} for name, score in worst],
    }


def kpi_part(schools: QuerySet[School], rule: StaffingRule) -> dict[str, Any]:
    """The 4×100% rates, city (scope) and per district; the early-warning clusters and
    the inspection ranking (they change once a day, as the intel scan and the daily
    inspection run)."""
    board = targets.board(schools, rule)
    labels = targets.target_labels()
    return {
        "generated_at": _iso(clock.now()),
        "targets": [{"key": t, "label": labels[t]} for t in targets.TARGETS],
        "rates": board["rates"],
        "schools": board["schools"],
        "all_met": board["all_met"],
        "districts": [
            {"code": d["code"], "name": d["name"], "rates": d["rates"], "schools": d["schools"]}
            for d in board["districts"]
        ],
        "alerts": alerts_part(schools),
        "ranking": ranking_part(schools),
    }
