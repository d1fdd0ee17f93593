"""Police grid patrol pages: patrol logs with their tracks and field stops (盘查), and
the officer's phone pages that record them (grid.py writes). Police eyes only
(scoping)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import WRITE, can
from campus_safety.orgs.models import School
from campus_safety.patrols.forms import FieldStopForm, PatrolLogForm
from campus_safety.patrols.grid import record_field_stop, record_patrol_log
from campus_safety.patrols.models import (
    FieldStop,
    GridRoute,
    PatrolLog,
)
from campus_safety.patrols.page_params import (
    PAGE_SIZE,
    export,
    local_text,
    query_without_page,
)
from campus_safety.patrols.services import PatrolError

# --- police grid patrols ---


@login_required
@role_required("grid_patrols")
def grid(request: HttpRequest) -> HttpResponse:
    """Grid patrol routes covering schools and the latest patrol logs."""
    routes = (
        GridRoute.objects.visible_to(request.user)
        .select_related("organisation")
        .prefetch_related("schools")
        .distinct()
    )
    logs = (
        PatrolLog.objects.visible_to(request.user)
        .select_related("officer", "route", "organisation")
        .distinct()[:50]
    )
    urban = School.objects.visible_to(request.user)
    covered = urban.filter(pk__in=GridRoute.objects.values("schools")).count()
    return render(
        request,
        "patrols/grid.html",
        {
            "routes": routes[:200],
            "logs": logs,
            "covered": covered,
            "schools": urban.count(),
            "may_record": can(request.user, WRITE, "grid_patrols"),
        },
    )


@login_required
@role_required("grid_patrols", action=WRITE)
def patrol_record(request: HttpRequest) -> HttpResponse:
    """The officer's phone page: start a patrol, walk it while the browser records the
    phone's track, stop and send it. The page keeps the track on the phone until the
    platform has it (a reload mid-patrol carries on), and the form's one-off event id
    makes a resend store the patrol once."""
    form = PatrolLogForm(
        request.POST or None, request=request, initial={"event_id": uuid.uuid4().hex}
    )
    if request.method == "POST" and form.is_valid():
        event_id = form.cleaned_data["event_id"]
        try:
            log = record_patrol_log(request.user, {**form.validated_data, "event_id": event_id})
        except PatrolError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Patrol recorded: %(points)s track points, %(km).1f km.")
                % {"points": len(log.track), "km": log.distance_m / 1000},
            )
            return redirect(
                f"{reverse('patrols:patrol_record')}?{urlencode({'recorded': event_id})}"
            )
    recent = PatrolLog.objects.filter(officer=request.user).select_related("route")[:5]
    return render(
        request,
        "patrols/patrol_record.html",
        {"form": form, "recorded": request.GET.get("recorded", "")[:64], "recent": recent},
        status=400 if form.errors else 200,
    )


@login_required
@role_required("field_stops", action=WRITE)
def field_stop_new(request: HttpRequest) -> HttpResponse:
    """盘查 from the phone: the phone's position (the nearest school is found from it),
    the place, who was stopped and what came of it; stored once per form."""
    initial = {"event_id": uuid.uuid4().hex, "at": clock.now()}
    form = FieldStopForm(request.POST or None, request=request, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {**form.validated_data, "event_id": form.cleaned_data["event_id"]}
        try:
            stop = record_field_stop(request.user, data)
        except PatrolError as exc:
            form.add_error(None, str(exc))
        else:
            if stop.nearest_school is not None:
                messages.success(
                    request,
                    _("Field stop recorded, %(distance)d m from %(school)s.")
                    % {"distance": round(stop.distance_m or 0), "school": stop.nearest_school.name},
                )
            else:
                messages.success(request, _("Field stop recorded."))
            return redirect("patrols:field_stops")
    return render(
        request,
        "patrols/field_stop_new.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@login_required
@role_required("field_stops")
def field_stops(request: HttpRequest) -> HttpResponse:
    """盘查 records near schools: police eyes only (scoping: police_only)."""
    rows = FieldStop.objects.visible_to(request.user).select_related(
        "officer", "nearest_school", "organisation"
    )
    if request.GET.get("export") == "xlsx":
        return export(
            request,
            "field_stops",
            "field_stops",
            _("Field stops"),
            [_("Time"), _("Place"), _("Nearest school"), _("Distance (m)"), _("Person stopped"),
             _("Outcome"), _("Officer"), _("Police unit"), _("Note")],
            [
                [local_text(r.at), r.place, r.nearest_school.name if r.nearest_school else "",
                 round(r.distance_m) if r.distance_m is not None else "", r.subject,
                 r.get_outcome_display(), str(r.officer), r.organisation.name, r.note]
                for r in rows
            ],
        )  # fmt: skip
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patrols/field_stops.html",
        {
            "page": page,
            "query": query_without_page(request),
            "may_record": can(request.user, WRITE, "field_stops"),
        },
    )
