"""报警墙 — the alarm wall (open cases by priority and age, a map, live), the feed of
the one-line banner every page of an alarm reader shows, and bulk acknowledge.

The same wall serves the command centre, a police station, the education bureau and
a school: ``AlarmCase.objects.visible_to(user)`` decides which cases it shows and the
role table which buttons it offers (``views.py`` has the case page and its steps).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.alarms import statistics, workflow
from campus_safety.alarms.forms import BulkAcknowledgeForm
from campus_safety.alarms.models import AlarmCase, AlarmEscalation, Dispatch
from campus_safety.alarms.views import (
    REFRESH_EVENTS,
    RESOURCE,
    console_kind,
    is_htmx,
    key_area_label,
    may_acknowledge,
    may_dispatch,
)
from campus_safety.orgs import map_data
from campus_safety.orgs.models import School

State = AlarmCase.State
RECENTLY_CLOSED = 10


def open_cases(request: HttpRequest) -> list[AlarmCase]:
    """Open cases in scope: real before drills, then priority (1 first), then oldest."""
    cases = list(
        AlarmCase.objects.visible_to(request.user)
        .filter(closed_at__isnull=True)
        .select_related("school__region", "device")
        .prefetch_related(Prefetch("dispatches", Dispatch.objects.select_related("unit")))
        .order_by("is_test", "priority", "opened_at", "id")
    )
    levels = dict(AlarmEscalation.Level.choices)
    for case in cases:
        case.key_area_label = key_area_label(case.key_area or case.device.key_area)
        case.escalation_label = str(levels.get(case.escalation_level, ""))
        case.units_out = [sent for sent in case.dispatches.all() if sent.cleared_at is None]
    return cases


def _map_points(cases: list[AlarmCase]) -> list[dict[str, Any]]:
    points = []
    for case in cases:
        lon = case.school.longitude if case.school_id else None
        lat = case.school.latitude if case.school_id else None
        if lon is None or lat is None:
            lon, lat = case.device.longitude, case.device.latitude
        if lon is None or lat is None:
            continue
        points.append(
            {
                "id": case.pk,
                "lon": lon,
                "lat": lat,
                "state": case.state,
                "priority": case.priority,
                "is_test": case.is_test,
                "title": case.school.name if case.school_id else case.device.name,
                "subtitle": f"{case.device.name} · {case.get_state_display()}",
                "url": reverse("alarms:case_detail", args=[case.pk]),
            }
        )
    return points


def _counts(cases: list[AlarmCase]) -> dict[str, int]:
    real = [c for c in cases if not c.is_test]
    return {
        "open": len(real),
        "received": sum(c.state == State.RECEIVED for c in real),
        "acknowledged": sum(c.state == State.ACKNOWLEDGED for c in real),
        "dispatched": sum(c.state == State.DISPATCHED for c in real),
        "on_scene": sum(c.state == State.ON_SCENE for c in real),
        "breach": sum(c.is_breach for c in real),
        "escalated": sum(c.escalation_level > 0 for c in real),
        "drills": len(cases) - len(real),
    }


def _wall_context(request: HttpRequest) -> dict[str, Any]:
    cases = open_cases(request)
    return {
        "cases": cases,
        "counts": _counts(cases),
        "points": _map_points(cases),
        "may_acknowledge": may_acknowledge(request.user),
        "may_acknowledge_many": workflow.may_acknowledge_many(request.user),
        "may_dispatch": may_dispatch(request.user),
        "now": clock.now(),
    }


@login_required
@role_required(RESOURCE)
@require_GET
def wall(request: HttpRequest) -> HttpResponse:
    """报警墙 — the open cases by priority and age, a map, live."""
    kind = console_kind(request.user)
    since = clock.now() - dt.timedelta(hours=24)
    closed = (
        AlarmCase.objects.visible_to(request.user)
        .filter(closed_at__gte=since)
        .select_related("school", "device", "closed_by")
        .order_by("-closed_at")[:RECENTLY_CLOSED]
    )
    schools = School.objects.visible_to(request.user)
    context = {
        **_wall_context(request),
        "kind": kind,
        "recently_closed": closed,
        "summary": statistics.summary_block(schools, reader=request.user)
        if kind in {"bureau", "command"}
        else None,
        "map_config": {
            "tiles": map_data.tile_layer(),
            "districts": map_data.district_outlines(map_data.county_regions_of(schools)),
            "states": dict(State.choices),
        },
    }
    return render(request, "alarms/wall.html", context)


@login_required
@role_required(RESOURCE)
@require_GET
def wall_cases(request: HttpRequest) -> HttpResponse:
    """The wall's case list and map points, for the live refresh (htmx)."""
    return render(request, "alarms/_wall_cases.html", _wall_context(request))


@login_required
@role_required(RESOURCE)
@require_GET
def unacknowledged(request: HttpRequest) -> JsonResponse:
    """The banner on every console page: how many real open cases nobody has
    acknowledged yet, the newest case number (a larger one rings: a new case), and the
    one case to look at first — the highest priority, the newest of those. The full
    list is the wall's; the banner stays one line however many there are."""
    waiting = AlarmCase.objects.visible_to(request.user).filter(
        state=State.RECEIVED, is_test=False, closed_at__isnull=True
    )
    figures = waiting.order_by().aggregate(count=Count("id"), latest=Max("id"))
    first = (
        waiting.select_related("school", "device").order_by("priority", "-opened_at", "-id").first()
    )
    named = None
    if first is not None:
        named = {
            "id": first.pk,
            "priority": first.priority,
            "priority_label": first.get_priority_display(),
            "priority_text": _("priority %(level)s") % {"level": first.priority},
            "school": first.school.name if first.school_id else "",
            "device": first.device.name,
            "key_area": key_area_label(first.key_area or first.device.key_area),
            "opened_at": first.opened_at.isoformat(),
            "escalation_level": first.escalation_level,
            "escalation_text": (
                _("escalated to level %(level)s") % {"level": first.escalation_level}
                if first.escalation_level
                else ""
            ),
            "url": reverse("alarms:case_detail", args=[first.pk]),
            "ack_url": (
                reverse("alarms:acknowledge", args=[first.pk])
                if may_acknowledge(request.user)
                else None
            ),
        }
    return JsonResponse(
        {
            "count": figures["count"],
            "latest_id": figures["latest"],
            "now": clock.now().isoformat(),
            "case": named,
        },
        json_dumps_params={"ensure_ascii": False},
    )


@login_required
@role_required(RESOURCE)
@require_POST
def acknowledge_many(request: HttpRequest) -> HttpResponse:
    """批量签收 — a supervisor acknowledges the cases ticked on the wall. Each is its own
    step (locked, checked, audited, announced); the answer says what became of each:
    acknowledged, already moved on, not allowed, or not among the user's cases (a case
    out of scope reads exactly like one that does not exist)."""
    if not workflow.may_acknowledge_many(request.user):
        raise PermissionDenied
    form = BulkAcknowledgeForm(request.POST)
    if not form.is_valid():
        message = " ".join(form.errors.get("cases", [])) or _("Bad request.")
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    ids = form.cleaned_data["cases"]
    in_scope = {
        case.pk: case
        for case in AlarmCase.objects.visible_to(request.user)
        .filter(pk__in=ids)
        .select_related("school", "device")
    }
    try:
        outcomes = {
            done.case_id: done
            for done in workflow.acknowledge_cases(
                [pk for pk in ids if pk in in_scope], by=request.user
            )
        }
    except workflow.NotAllowed:
        raise PermissionDenied from None
    results = [_result(pk, in_scope.get(pk), outcomes.get(pk)) for pk in ids]
    if is_htmx(request):
        response = render(request, "alarms/_bulk_ack_result.html", _summary(results))
        response["HX-Trigger"] = REFRESH_EVENTS
        return response
    _report(request, results)
    return redirect("alarms:wall")


def _result(
    pk: int, case: AlarmCase | None, done: workflow.Acknowledgement | None
) -> dict[str, Any]:
    if case is None or done is None:
        reason = _("Case #%(id)s is not among your cases.") % {"id": pk}
        return {"id": pk, "outcome": "not_found", "reason": reason, "place": "", "url": ""}
    place = case.school.name if case.school_id else case.device.name
    url = reverse("alarms:case_detail", args=[pk])
    return {"id": pk, "outcome": done.outcome, "reason": done.reason, "place": place, "url": url}


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    acknowledged = [r for r in results if r["outcome"] == "acknowledged"]
    return {
        "results": results,
        "acknowledged": len(acknowledged),
        "refused": len(results) - len(acknowledged),
    }


def _report(request: HttpRequest, results: list[dict[str, Any]]) -> None:
    """The same report as messages, for a browser without JavaScript."""
    acknowledged = [f"#{r['id']}" for r in results if r["outcome"] == "acknowledged"]
    if acknowledged:
        messages.success(
            request,
            _("Acknowledged %(count)s cases: %(cases)s.")
            % {"count": len(acknowledged), "cases": "、".join(acknowledged)},
        )
    for r in results:
        if r["outcome"] != "acknowledged":
            messages.warning(request, r["reason"])
