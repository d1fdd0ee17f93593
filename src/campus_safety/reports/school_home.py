"""学校首页 — a school's day on one page: its devices online and offline, its open
alarm cases, its open hazards with their deadlines, today's tour rounds and 护学岗
windows, and its guard staffing (issue #14: a school administrator lands here).

A dashboard, so it lives with the others in reports (the layer above the domain apps)
and asks each app's own services and statistics for its figures; each block shows
only when the role table lets the user read that kind of record, and every figure is
the school's records in the user's scope.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import READ, can
from campus_safety.alarms.models import AlarmCase
from campus_safety.devices import services as device_services
from campus_safety.devices.models import Device
from campus_safety.hazards import statistics as hazard_statistics
from campus_safety.hazards.models import Hazard
from campus_safety.orgs.models import School
from campus_safety.patrols import services as patrol_services
from campus_safety.patrols import statistics as patrol_statistics
from campus_safety.patrols.models import PeakPost, TourRound
from campus_safety.patrols.post_rules import STAFFED
from campus_safety.scoping import get_visible_or_404
from campus_safety.workforce.rule_choice import with_staffing_rule
from campus_safety.workforce.staffing import StaffingRule, annotate_staffing

LISTED = 8  # open cases and hazards listed; the figures count them all


def _devices(user: Any, school: School) -> dict[str, Any]:
    counts = device_services.counts_by_kind_and_status(
        Device.objects.visible_to(user).filter(school=school)
    )
    labels = dict(Device.Kind.choices)
    kinds = [
        {
            "kind": kind,
            "label": labels.get(kind, kind),
            "total": row["total"],
            "online": row.get(Device.Status.ONLINE, 0),
            "offline": row.get(Device.Status.OFFLINE, 0),
            "fault": row.get(Device.Status.FAULT, 0),
        }
        for kind, row in counts.items()
    ]
    totals = {key: sum(k[key] for k in kinds) for key in ("total", "online", "offline", "fault")}
    return {**totals, "kinds": kinds}


def _alarms(user: Any, school: School) -> dict[str, Any]:
    cases = (
        AlarmCase.objects.visible_to(user)
        .filter(school=school, closed_at__isnull=True)
        .select_related("device")
        .order_by("is_test", "priority", "opened_at", "id")
    )
    listed = list(cases[: LISTED + 1])
    return {"cases": listed[:LISTED], "more": len(listed) > LISTED, "count": cases.count()}


def _hazards(user: Any, school: School, now) -> dict[str, Any]:
    hazards = Hazard.objects.visible_to(user).filter(school=school)
    open_ones = list(
        hazards.filter(status__in=Hazard.OPEN_STATUSES).order_by(
            F("deadline").asc(nulls_last=True), "reported_at", "id"
        )[:LISTED]
    )
    for hazard in open_ones:
        hazard.overdue = hazard.is_overdue_at(now)
    return {"open": open_ones, "counts": hazard_statistics.status_counts(hazards, now)}


def _tours(user: Any, school: School, day, now) -> dict[str, Any]:
    rounds = list(
        TourRound.objects.visible_to(user)
        .filter(school=school, day=day)
        .select_related("plan")
        .order_by("starts_at", "id")
    )
    for r in rounds:
        r.is_upcoming = r.status == TourRound.Status.PENDING and r.starts_at > now
    compliance = patrol_services.compliance(School.objects.filter(pk=school.pk), day)[school.pk]
    return {"rounds": rounds, "c": compliance}


def _posts(user: Any, school: School, day, now) -> dict[str, Any]:
    """Today's windows; staffed counts those already open (a window still to come is
    not yet short of anyone)."""
    posts = PeakPost.objects.visible_to(user).filter(school=school)
    windows = patrol_statistics.window_coverage(posts, day, now)
    opened = [w for w in windows if w["phase"] != patrol_statistics.UPCOMING]
    return {
        "windows": windows,
        "opened": len(opened),
        "staffed": sum(w["state"] == STAFFED for w in opened),
        "upcoming": len(windows) - len(opened),
    }


@login_required
@role_required("schools")
@with_staffing_rule
def school_home(request: HttpRequest, pk: int, rule: StaffingRule) -> HttpResponse:
    """学校首页 — the school's devices, alarms, hazards, tours, posts and staffing today."""
    user = request.user
    school = get_visible_or_404(
        annotate_staffing(School.objects.select_related("region", "police_station"), rule),
        user,
        pk=pk,
    )
    now = clock.now()
    day = patrol_services.local_day(now)
    may = {r: can(user, READ, r) for r in ("devices", "alarms", "hazards", "patrols", "posts")}
    may["staffing"] = can(user, READ, "guards")
    return render(
        request,
        "reports/school_home.html",
        {
            "school": school,
            "now": now,
            "day": day,
            "rule": rule,
            "may": may,
            "devices": _devices(user, school) if may["devices"] else None,
            "alarms": _alarms(user, school) if may["alarms"] else None,
            "hazards": _hazards(user, school, now) if may["hazards"] else None,
            "tours": _tours(user, school, day, now) if may["patrols"] else None,
            "posts": _posts(user, school, day, now) if may["posts"] else None,
        },
    )
