"""Guard-tour pages (巡更): tour compliance, a school's rounds, checkpoint QR codes, the
guard's scan pages and patrol alarms. Parse, call a service, render. The 护学岗 pages
are post_views.py, the police grid patrols grid_views.py."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import WRITE, can
from campus_safety.orgs.models import School
from campus_safety.patrols import services
from campus_safety.patrols.models import (
    Checkpoint,
    PatrolAlarm,
    TourPlan,
    TourRound,
)
from campus_safety.patrols.page_params import (
    PAGE_SIZE,
    bad_input,
    day_of,
    export,
    query_without_page,
)
from campus_safety.scoping import get_visible_or_404

# --- guard tours ---


@login_required
@role_required("patrols")
@bad_input
def tours(request: HttpRequest) -> HttpResponse:
    """Each school's rounds on a day against the ≥5 rounds rule (GB/T 29315-2022)."""
    day = day_of(request)
    schools = School.objects.visible_to(request.user).select_related("region")
    by_school = services.compliance(schools, day)
    names = {s.pk: s for s in schools.order_by("code")}
    rows = sorted(
        ({"school": names[pk], "c": c} for pk, c in by_school.items()),
        key=lambda r: (r["c"].is_compliant, r["c"].walked, r["school"].code),
    )
    if request.GET.get("export") == "xlsx":
        return export(
            request,
            "patrols",
            "tours",
            _("Tour compliance"),
            [_("School code"), _("School"), _("District"), _("Rounds"), _("Walked"), _("Complete"),
             _("Late"), _("Wrong order"), _("Missed checkpoint"), _("In progress"), _("Upcoming"),
             _("Compliant")],
            [
                [r["school"].code, r["school"].name, r["school"].region.name, r["c"].rounds,
                 r["c"].walked, r["c"].complete, r["c"].late, r["c"].wrong_order, r["c"].missed,
                 r["c"].in_progress, r["c"].upcoming, _("yes") if r["c"].is_compliant else _("no")]
                for r in rows
            ],
        )  # fmt: skip
    compliant = sum(r["c"].is_compliant for r in rows)
    open_alarms = PatrolAlarm.objects.visible_to(request.user).exclude(
        state=PatrolAlarm.State.RESOLVED
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patrols/tours.html",
        {
            "day": day,
            "page": page,
            "query": query_without_page(request),
            "schools": len(rows),
            "compliant": compliant,
            "rounds": sum(r["c"].rounds for r in rows),
            "walked": sum(r["c"].walked for r in rows),
            "open_alarms": open_alarms.count(),
            "min_rounds": settings.PATROL_MIN_ROUNDS_PER_DAY,
        },
    )


@login_required
@role_required("patrols")
@bad_input
def school_rounds(request: HttpRequest, pk: int) -> HttpResponse:
    """One school's rounds on a day, checkpoint by checkpoint, and its plans."""
    school = get_visible_or_404(School, request.user, pk=pk)
    day = day_of(request)
    checkpoints = {c.pk: c for c in Checkpoint.objects.filter(school=school)}
    rounds = list(
        TourRound.objects.filter(school=school, day=day)
        .select_related("plan")
        .order_by("starts_at")
    )
    zone = services.zone()
    now = clock.now()
    for r in rounds:
        r.is_upcoming = r.status == TourRound.Status.PENDING and r.starts_at > now
        r.stops_shown = [
            {
                "checkpoint": checkpoints.get(s["checkpoint"]),
                "due": dt.datetime.fromtimestamp(s["due"], zone),
                "scanned": dt.datetime.fromtimestamp(s["scanned"], zone) if s["scanned"] else None,
                "state": s["state"],
            }
            for s in r.detail
        ]
    c = services.compliance(School.objects.filter(pk=school.pk), day)[school.pk]
    return render(
        request,
        "patrols/school_rounds.html",
        {
            "school": school,
            "day": day,
            "rounds": rounds,
            "c": c,
            "plans": TourPlan.objects.filter(school=school).select_related("route"),
            "checkpoints": sorted(checkpoints.values(), key=lambda c: c.code),
            "alarms": PatrolAlarm.objects.filter(school=school).select_related("checkpoint")[:20],
            "min_rounds": settings.PATROL_MIN_ROUNDS_PER_DAY,
        },
    )


@login_required
@role_required("patrols")
def checkpoint_qr(request: HttpRequest, pk: int) -> HttpResponse:
    """The checkpoint's QR code (SVG) to print and stick at the place: it opens the
    guard's scan page for this checkpoint."""
    checkpoint = get_visible_or_404(Checkpoint, request.user, pk=pk)
    url = request.build_absolute_uri(reverse("patrols:scan", args=[checkpoint.pk]))
    image = qrcode.make(
        f"{url}?code={checkpoint.code}", image_factory=qrcode.image.svg.SvgPathImage, box_size=10
    )
    out = io.BytesIO()
    image.save(out)
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")


@login_required
@role_required("patrols")
def scan_home(request: HttpRequest) -> HttpResponse:
    """The guard's phone page: today's rounds at my school and a code box for a tag
    whose QR code cannot be read."""
    now = clock.now()
    code = request.GET.get("code", "").strip()
    checkpoints = Checkpoint.objects.visible_to(request.user).filter(is_active=True)
    if code:
        found = checkpoints.filter(code=code).first()
        if found is not None:
            return redirect(f"{reverse('patrols:scan', args=[found.pk])}?code={found.code}")
        messages.error(request, _("No checkpoint of yours has the code %(code)s.") % {"code": code})
    rounds = (
        TourRound.objects.visible_to(request.user)
        .filter(day=services.local_day(now))
        .select_related("plan", "school")
        .order_by("starts_at")[:40]
    )
    return render(request, "patrols/scan_home.html", {"rounds": rounds, "now": now})


@login_required
@role_required("patrols")
def scan(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a scan of a checkpoint from the phone (the QR code's page). GET shows the
    checkpoint and a big button; the form carries a one-off event id, so a double tap
    or a resend is stored once."""
    checkpoint = get_visible_or_404(
        Checkpoint.objects.select_related("school"), request.user, pk=pk
    )
    context: dict[str, Any] = {"checkpoint": checkpoint}
    if request.method == "POST":
        if request.POST.get("code", "") != checkpoint.code:
            return HttpResponseBadRequest(
                _("The code does not match this checkpoint: scan the tag itself."),
                content_type="text/plain; charset=utf-8",
            )
        try:
            scan_row, created = services.record_phone_scan(
                request.user, checkpoint, request.POST.get("event_id", "")
            )
        except services.PatrolError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
        context.update(scan=scan_row, created=created)
        day = services.local_day(scan_row.occurred_at)
        context["rounds"] = TourRound.objects.filter(
            school=checkpoint.school, day=day, status=TourRound.Status.PENDING
        ).order_by("starts_at")
    elif request.GET.get("code", "") != checkpoint.code:
        return HttpResponseBadRequest(
            _("The code does not match this checkpoint: scan the tag itself."),
            content_type="text/plain; charset=utf-8",
        )
    context["event_id"] = uuid.uuid4().hex
    return render(request, "patrols/scan.html", context)


# --- patrol alarms ---


@login_required
@role_required("patrols")
def alarms(request: HttpRequest) -> HttpResponse:
    """Patrol alarms (missed checkpoints): open first; escalated ones are marked."""
    state = request.GET.get("state", "unresolved")
    rows = PatrolAlarm.objects.visible_to(request.user).select_related(
        "school", "checkpoint", "round", "round__plan"
    )
    if state == "unresolved":
        rows = rows.exclude(state=PatrolAlarm.State.RESOLVED)
    elif state in PatrolAlarm.State.values:
        rows = rows.filter(state=state)
    elif state == "escalated":
        rows = rows.filter(escalated_at__isnull=False)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patrols/alarms.html",
        {
            "page": page,
            "query": query_without_page(request),
            "state": state,
            "states": [("unresolved", _("Not resolved")), ("escalated", _("Escalated")),
                       *PatrolAlarm.State.choices, ("all", _("All"))],
            "may_write": can(request.user, WRITE, "patrols"),
        },
    )  # fmt: skip


@require_POST
@login_required
@role_required("patrols", action=WRITE)
def alarm_action(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    alarm = get_visible_or_404(PatrolAlarm, request.user, pk=pk)
    note = request.POST.get("note", "")
    try:
        if step == "acknowledge":
            services.acknowledge_alarm(alarm, request.user, note)
        else:
            services.resolve_alarm(alarm, request.user, note)
    except services.PatrolError as exc:
        messages.error(request, str(exc))
    return redirect(request.POST.get("next") or reverse("patrols:alarms"))


def alarm_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return alarm_action(request, pk, "acknowledge")


def alarm_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    return alarm_action(request, pk, "resolve")
