"""护学岗 pages: today's posts (map, live staffing), rosters (generate, swap) and the
phone page at a post (check in and out). Parse, call a service, render."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import WRITE, can
from campus_safety.orgs import map_data
from campus_safety.orgs.models import School
from campus_safety.patrols import peak_posts, services, statistics
from campus_safety.patrols.models import (
    PeakPost,
    PostAssignment,
    PostMember,
    Term,
)
from campus_safety.patrols.page_params import (
    PAGE_SIZE,
    PEAKS,
    BadInput,
    bad_input,
    day_of,
    export,
    local_text,
    query_without_page,
)
from campus_safety.patrols.post_rules import Position
from campus_safety.scoping import get_visible_or_404

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
    day = day_of(request)
    rows = _post_rows(request, day)
    if request.GET.get("export") == "xlsx":
        return export(
            request,
            "posts",
            "posts",
            _("Gate posts"),
            [_("School"), _("Post"), _("Peak"), _("Opens"), _("Closes"), _("Required"),
             _("Rostered"), _("Present"), _("State")],
            [
                [r["post"].school.name, r["post"].name, str(PEAKS[r["peak"]]),
                 local_text(r["opens"]), local_text(r["closes"]), r["required_total"],
                 r["rostered"], r["present_total"], r["state"] or r["phase"]]
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
            "query": query_without_page(request),
            "kpis": kpis,
            "live": states,
            "live_total": sum(states.values()),
            "windows": len(rows),
            "peaks": PEAKS,
            "map_config": {
                "tiles": map_data.tile_layer(),
                "districts": map_data.district_outlines(map_data.county_regions_of(schools)),
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
    day = day_of(request)
    return JsonResponse(
        {"at": clock.now().isoformat(), "posts": _live_json(_post_rows(request, day))}
    )


# --- rosters ---


@login_required
@role_required("posts")
@bad_input
def rosters(request: HttpRequest) -> HttpResponse:
    """The roster (排班) for a span of days: who stands where, checked in or not; swaps
    and generation for those who may edit."""
    start = day_of(request, "from")
    end = day_of(request, "to", start + dt.timedelta(days=6))
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
        return export(
            request,
            "posts",
            "roster",
            _("Roster"),
            [_("Day"), _("Peak"), _("Opens"), _("Closes"), _("School"), _("Post"),
             _("Person"), _("Person type"), _("Swapped from"), _("Checked in"),
             _("Checked out"), _("Exception")],
            [
                [str(e.day), str(PEAKS[e.peak]), local_text(e.starts_at), local_text(e.ends_at),
                 e.school.name, e.post.name, str(e.user), e.get_person_type_display(),
                 str(e.swapped_from or ""),
                 local_text(getattr(e, "check_in", None) and e.check_in.checked_in_at),
                 local_text(getattr(e, "check_in", None) and e.check_in.checked_out_at),
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
            "query": query_without_page(request),
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
        counts = peak_posts.generate_roster(posts, start, end, by=request.user)
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
        peak_posts.swap_assignment(entry, to_user, request.user, request.POST.get("note", ""))
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
            "checked_in_at": local_text(row.checked_in_at),
            "checked_out_at": local_text(row.checked_out_at),
        },
        status=201 if action is peak_posts.check_in else 200,
    )


@require_POST
@login_required
@role_required("posts")
def duty_check_in(request: HttpRequest, pk: int) -> JsonResponse:
    return _duty_action(request, pk, peak_posts.check_in)


@require_POST
@login_required
@role_required("posts")
def duty_check_out(request: HttpRequest, pk: int) -> JsonResponse:
    return _duty_action(request, pk, peak_posts.check_out)
