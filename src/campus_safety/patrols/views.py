"""Patrol pages: today's 护学岗 posts (map, live staffing), guard-tour compliance, a
school's rounds, patrol alarms, rosters, the phone pages (check-in at a post, scan a
checkpoint) and police grid patrols and field stops. Parse, call a service, render.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from campus_safety import clock
from campus_safety import spreadsheets as xl
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import EXPORT, WRITE, can
from campus_safety.audit.services import record
from campus_safety.orgs.models import School
from campus_safety.patrols import services, statistics
from campus_safety.patrols.models import (
    Checkpoint,
    FieldStop,
    GridRoute,
    PatrolAlarm,
    PatrolLog,
    PeakPost,
    PostAssignment,
    PostMember,
    Term,
    TourPlan,
    TourRound,
)
from campus_safety.patrols.staffing import Position
from campus_safety.scoping import get_visible_or_404
from campus_safety.web.spreadsheet_views import xlsx_response

PAGE_SIZE = 50
PEAKS = {"arrival": gettext_lazy("Arrival peak"), "dismissal": gettext_lazy("Dismissal peak")}


class BadInput(ValueError):
    """A query parameter that cannot be used; answered with 400 and the reason."""


def _day(request: HttpRequest, name: str = "day", default: dt.date | None = None) -> dt.date:
    value = request.GET.get(name, "")
    if not value:
        return default or services.local_day(clock.now())
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadInput(_("%(name)s must be a date like 2026-03-02") % {"name": name}) from None


def bad_input(view):
    """Answer BadInput with 400 and its reason instead of a server error."""

    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BadInput as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _export(
    request: HttpRequest, resource: str, kind: str, title: str, headers, rows
) -> HttpResponse:
    if not can(request.user, EXPORT, resource):
        raise PermissionDenied
    columns = [xl.Column(h, h) for h in headers]
    data = xl.workbook_bytes(title, columns, rows)
    record(f"export.{kind}", detail={"filters": request.GET.dict()})
    return xlsx_response(data, f"{kind}.xlsx")


def _query(request: HttpRequest) -> str:
    """The current filters without the page number (for the page links)."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(services.zone()).strftime("%Y-%m-%d %H:%M") if value else ""


# --- 护学岗: today's posts ---


def _post_rows(request: HttpRequest, day: dt.date) -> list[dict[str, Any]]:
    posts = PeakPost.objects.visible_to(request.user)
    return statistics.window_coverage(posts, day, clock.now())


def _live_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{r['post'].pk}-{r['peak']}",
            "post": r["post"].pk,
            "name": r["post"].name,
            "school": r["post"].school.name,
            "lon": r["post"].longitude,
            "lat": r["post"].latitude,
            "radius": r["post"].radius_m,
            "peak": r["peak"],
            "phase": r["phase"],
            "state": r["state"],
            "present": r["present_total"],
            "required": r["required_total"],
            "opens": r["opens"].astimezone(services.zone()).strftime("%H:%M"),
            "closes": r["closes"].astimezone(services.zone()).strftime("%H:%M"),
        }
        for r in rows
    ]


@login_required
@role_required("posts")
@bad_input
def posts_today(request: HttpRequest) -> HttpResponse:
    """Today's posts on a map with live staffing, and the district KPIs (4×100%)."""
    day = _day(request)
    rows = _post_rows(request, day)
    if request.GET.get("export") == "xlsx":
        return _export(
            request,
            "posts",
            "posts",
            _("Gate posts"),
            [_("School"), _("Post"), _("Peak"), _("Opens"), _("Closes"), _("Required"),
             _("Rostered"), _("Present"), _("State")],
            [
                [r["post"].school.name, r["post"].name, str(PEAKS[r["peak"]]), _local(r["opens"]),
                 _local(r["closes"]), r["required_total"], r["rostered"], r["present_total"],
                 r["state"] or r["phase"]]
                for r in rows
            ],
        )  # fmt: skip
    schools = School.objects.visible_to(request.user)
    kpis = statistics.coverage_by_district(schools)
    states = {"staffed": 0, "understaffed": 0, "empty": 0}
    for r in rows:
        if r["phase"] == statistics.LIVE:
            states[r["state"]] += 1
    paginator = Paginator(rows, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "patrols/posts_today.html",
        {
            "day": day,
            "page": page,
            "query": _query(request),
            "kpis": kpis,
            "live": states,
            "live_total": sum(states.values()),
            "windows": len(rows),
            "peaks": PEAKS,
            "map_config": {
                "live_url": reverse("patrols:posts_live") + f"?day={day.isoformat()}",
                "posts": _live_json(rows),
                "refresh_s": 20,
            },
        },
    )


@login_required
@role_required("posts")
@bad_input
def posts_live(request: HttpRequest) -> JsonResponse:
    """The live staffing of today's windows (polled by the map)."""
    day = _day(request)
    return JsonResponse(
        {"at": clock.now().isoformat(), "posts": _live_json(_post_rows(request, day))}
    )


# --- guard tours ---


@login_required
@role_required("patrols")
@bad_input
def tours(request: HttpRequest) -> HttpResponse:
    """Each school's rounds on a day against the ≥5 rounds rule (GB/T 29315-2022)."""
    day = _day(request)
    schools = School.objects.visible_to(request.user).select_related("region")
    by_school = services.compliance(schools, day)
    names = {s.pk: s for s in schools.order_by("code")}
    rows = sorted(
        ({"school": names[pk], "c": c} for pk, c in by_school.items()),
        key=lambda r: (r["c"].is_compliant, r["c"].walked, r["school"].code),
    )
    if request.GET.get("export") == "xlsx":
        return _export(
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
            "query": _query(request),
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
    day = _day(request)
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
            "query": _query(request),
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


# --- rosters ---


@login_required
@role_required("posts")
@bad_input
def rosters(request: HttpRequest) -> HttpResponse:
    """The roster (排班) for a span of days: who stands where, checked in or not; swaps
    and generation for those who may edit."""
    start = _day(request, "from")
    end = _day(request, "to", start + dt.timedelta(days=6))
    if end < start or (end - start).days > 62:
        raise BadInput(_("Show 1 to 62 days: 'to' must be on or after 'from'."))
    posts = PeakPost.objects.visible_to(request.user)
    entries = (
        PostAssignment.objects.visible_to(request.user)
        .filter(day__range=(start, end))
        .select_related("post", "school", "user", "swapped_from", "check_in")
    )
    post_id = request.GET.get("post", "")
    if post_id.isdigit():
        entries = entries.filter(post_id=int(post_id))
    if request.GET.get("export") == "xlsx":
        return _export(
            request,
            "posts",
            "roster",
            _("Roster"),
            [_("Day"), _("Peak"), _("Opens"), _("Closes"), _("School"), _("Post"),
             _("Person"), _("Person type"), _("Swapped from"), _("Checked in"),
             _("Checked out"), _("Exception")],
            [
                [str(e.day), str(PEAKS[e.peak]), _local(e.starts_at), _local(e.ends_at),
                 e.school.name, e.post.name, str(e.user), e.get_person_type_display(),
                 str(e.swapped_from or ""),
                 _local(getattr(e, "check_in", None) and e.check_in.checked_in_at),
                 _local(getattr(e, "check_in", None) and e.check_in.checked_out_at),
                 _("yes") if getattr(e, "check_in", None) and e.check_in.is_exception else ""]
                for e in entries
            ],
        )  # fmt: skip
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    may_write = can(request.user, WRITE, "posts")
    members: dict[int, list] = {}
    if may_write:
        for m in PostMember.objects.filter(
            post_id__in={e.post_id for e in page.object_list}
        ).select_related("user"):
            members.setdefault(m.post_id, []).append(m)
        for e in page.object_list:
            e.swap_choices = [m for m in members.get(e.post_id, []) if m.user_id != e.user_id]
    return render(
        request,
        "patrols/rosters.html",
        {
            "page": page,
            "start": start,
            "end": end,
            "posts": posts.select_related("school")[:500],
            "post_id": post_id,
            "peaks": PEAKS,
            "may_write": may_write,
            "terms": Term.objects.all()[:10],
            "query": _query(request),
        },
    )


@require_POST
@login_required
@role_required("posts", action=WRITE)
def roster_generate(request: HttpRequest) -> HttpResponse:
    """Generate the roster of every post in the user's scope for a term or a span."""
    posts = PeakPost.objects.visible_to(request.user)
    term_id = request.POST.get("term", "")
    try:
        if term_id.isdigit():
            term = get_visible_or_404(Term, request.user, pk=int(term_id))
            start, end = max(term.starts_on, services.local_day(clock.now())), term.ends_on
        else:
            start = dt.date.fromisoformat(request.POST.get("from", ""))
            end = dt.date.fromisoformat(request.POST.get("to", ""))
        counts = services.generate_roster(posts, start, end, by=request.user)
    except ValueError as exc:  # PatrolError too
        reason = (
            str(exc) if isinstance(exc, services.PatrolError) else _("Give dates like 2026-03-02.")
        )
        return HttpResponseBadRequest(reason, content_type="text/plain; charset=utf-8")
    messages.success(
        request,
        _(
            "Roster generated: %(entries)s entries over %(days)s school days; "
            "%(unfilled)s places left unfilled."
        )
        % counts,
    )
    return redirect(
        f"{reverse('patrols:rosters')}?from={start}&to={min(end, start + dt.timedelta(days=13))}"
    )


@require_POST
@login_required
@role_required("posts", action=WRITE)
def roster_swap(request: HttpRequest, pk: int) -> HttpResponse:
    """换班: give one roster entry to another member of the post."""
    entry = get_visible_or_404(PostAssignment, request.user, pk=pk)
    user_id = request.POST.get("user", "")
    if not user_id.isdigit():
        return HttpResponseBadRequest(
            _("Choose who takes the shift."), content_type="text/plain; charset=utf-8"
        )
    to_user = get_user_model().objects.filter(pk=int(user_id)).first()
    if to_user is None:
        return HttpResponseBadRequest(
            _("No such person."), content_type="text/plain; charset=utf-8"
        )
    try:
        services.swap_assignment(entry, to_user, request.user, request.POST.get("note", ""))
    except services.PatrolError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Shift swapped."))
    return redirect(request.POST.get("next") or reverse("patrols:rosters"))


# --- the phone page at a post ---


@login_required
@role_required("posts")
def duty(request: HttpRequest) -> HttpResponse:
    """My posts today: big check-in / check-out buttons using the phone's location."""
    now = clock.now()
    entries = (
        PostAssignment.objects.filter(user=request.user, day=services.local_day(now))
        .select_related("post", "school", "check_in")
        .order_by("starts_at")
    )
    return render(request, "patrols/duty.html", {"entries": entries, "now": now, "peaks": PEAKS})


def _position(data: dict[str, Any]) -> Position:
    try:
        lon, lat = float(data["longitude"]), float(data["latitude"])
        accuracy = data.get("accuracy")
        accuracy = None if accuracy in (None, "") else float(accuracy)
    except (KeyError, TypeError, ValueError):
        raise BadInput(_("longitude and latitude are required numbers")) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (accuracy is not None and accuracy < 0):
        raise BadInput(_("longitude, latitude or accuracy out of range"))
    return Position(lon, lat, accuracy)


def _duty_action(request: HttpRequest, pk: int, action) -> JsonResponse:
    post = get_visible_or_404(PeakPost, request.user, pk=pk)
    try:
        data = (
            json.loads(request.body or b"{}")
            if request.content_type == "application/json"
            else request.POST
        )
        position = _position(data)
        note = str(data.get("note", ""))[:255]
        exception = data.get("exception") in (True, "true", "1", "on")
        row = action(request.user, post, position, note=note, as_exception=exception)
    except BadInput as exc:
        return JsonResponse({"ok": False, "reasons": [str(exc)]}, status=400)
    except ValueError as exc:
        if isinstance(exc, services.CheckInRefused):
            return JsonResponse({"ok": False, "reasons": exc.reasons}, status=409)
        return JsonResponse(
            {"ok": False, "reasons": [_("the request body is not valid JSON")]}, status=400
        )
    return JsonResponse(
        {
            "ok": True,
            "exception": row.is_exception,
            "distance_m": row.out_distance_m if row.checked_out_at else row.in_distance_m,
            "checked_in_at": _local(row.checked_in_at),
            "checked_out_at": _local(row.checked_out_at),
        },
        status=201 if action is services.check_in else 200,
    )


@require_POST
@login_required
@role_required("posts")
def duty_check_in(request: HttpRequest, pk: int) -> JsonResponse:
    return _duty_action(request, pk, services.check_in)


@require_POST
@login_required
@role_required("posts")
def duty_check_out(request: HttpRequest, pk: int) -> JsonResponse:
    return _duty_action(request, pk, services.check_out)


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
        return _export(
            request,
            "field_stops",
            "field_stops",
            _("Field stops"),
            [_("Time"), _("Place"), _("Nearest school"), _("Distance (m)"), _("Person stopped"),
             _("Outcome"), _("Officer"), _("Police unit"), _("Note")],
            [
                [_local(r.at), r.place, r.nearest_school.name if r.nearest_school else "",
                 round(r.distance_m) if r.distance_m is not None else "", r.subject,
                 r.get_outcome_display(), str(r.officer), r.organisation.name, r.note]
                for r in rows
            ],
        )  # fmt: skip
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "patrols/field_stops.html", {"page": page, "query": _query(request)})
