"""Police grid patrol pages: patrol logs with their tracks and field stops (盘查).
Police eyes only (scoping)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from campus_safety.accounts.access import role_required
from campus_safety.orgs.models import School
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
        {"routes": routes[:200], "logs": logs, "covered": covered, "schools": urban.count()},
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
        request, "patrols/field_stops.html", {"page": page, "query": query_without_page(request)}
    )
