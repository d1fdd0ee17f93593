"""The inspection pages: the district's daily board, a school's history, the rule set
explained, video patrols (the patrol screen), notices and VQD results per camera.
Each view parses, calls a service, renders; objects come through the user's scope."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Avg, Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import EXPORT, WRITE, can
from campus_safety.audit.services import record
from campus_safety.devices.models import Device
from campus_safety.hazards.models import Hazard
from campus_safety.inspections import exports, notices, patrols, quality, rules, vqd
from campus_safety.inspections.fault_words import FAULT_LABELS, fault_words
from campus_safety.inspections.models import (
    CameraQuality,
    DailyResult,
    Finding,
    Notice,
    PatrolPlan,
    QualityCheck,
    VideoPatrol,
)
from campus_safety.orgs.models import Region, School
from campus_safety.scoping import get_visible_or_404
from campus_safety.web import listing

TREND_DAYS = 30


def _latest_day(results) -> dt.date | None:
    return results.order_by("-day").values_list("day", flat=True).first()


def _parse_day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _trend_points(values: list[tuple[dt.date, float]], width: int = 600, height: int = 120) -> str:
    """An SVG polyline's points for scores 0–100 over the days (no script needed)."""
    if not values:
        return ""
    step = width / max(1, len(values) - 1)
    return " ".join(
        f"{index * step:.1f},{height - score / 100 * height:.1f}"
        for index, (_day, score) in enumerate(values)
    )


# --- the district's daily board -----------------------------------------------------------------


@login_required
@role_required("inspections")
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """每日巡查看板: the schools ranked, the items failing most, the 30-day trend."""
    user = request.user
    if getattr(user, "school_id", None):
        return redirect("inspections:school", pk=user.school_id)
    results = DailyResult.objects.visible_to(user)
    districts = Region.objects.filter(
        pk__in=School.objects.visible_to(user).values("region")
    ).order_by("code")
    district = request.GET.get("district", "")
    if district:
        results = results.filter(school__region__code=district)
    day = _parse_day(request.GET.get("day")) or _latest_day(results)
    today = results.filter(day=day) if day else results.none()
    if request.GET.get("format") == "xlsx":
        if not can(user, EXPORT, "inspections"):
            raise PermissionDenied
        record("export.inspections", detail={"day": str(day), "district": district})
        return exports.board_response(today.select_related("school__region"), day)
    page, page_links = listing.paginate(
        request,
        today.select_related("school__region", "notice__hazard").order_by(
            "district_rank", "school__code"
        ),
    )
    failing = Counter()
    for items in today.values_list("items", flat=True):
        for code, value in items.items():
            if not value.get("ok", True):
                failing[code] += 1
    total = today.count()
    figures = today.aggregate(mean=Avg("score"), below=Count("id", filter=Q(score__lt=60)))
    trend = []
    if day:
        trend = list(
            results.filter(day__gt=day - dt.timedelta(days=TREND_DAYS), day__lte=day)
            .values_list("day")
            .annotate(mean=Avg("score"))
            .order_by("day")
        )
    context = {
        "day": day,
        "district": district,
        "districts": districts,
        "page": page,
        "page_links": page_links,
        "neighbours": listing.neighbour_queries(request, page),
        "total": total,
        "mean": figures["mean"],
        "below": figures["below"],
        "failing": [
            {"label": rules.item_label(code), "count": n, "share": n / total * 100 if total else 0}
            for code, n in failing.most_common(6)
        ],
        "trend": trend,
        "trend_points": _trend_points(trend),
        "may_issue": notices.may_issue(user),
        "may_export": can(user, EXPORT, "inspections"),
        "rows": [_row(result) for result in page.object_list],
    }
    return render(request, "inspections/home.html", context)


def _row(result: DailyResult) -> dict[str, Any]:
    failed = [
        rules.item_label(code) for code, value in result.items.items() if not value.get("ok", True)
    ]
    return {"result": result, "failed": failed}


@login_required
@role_required("inspections")
@require_GET
def school(request: HttpRequest, pk: int) -> HttpResponse:
    """A school's inspection history: the last 30 days, the latest items in full."""
    the_school = get_visible_or_404(School, request.user, pk=pk)
    history = list(
        DailyResult.objects.visible_to(request.user)
        .filter(school=the_school)
        .select_related("notice")
        .order_by("-day")[:TREND_DAYS]
    )
    latest = history[0] if history else None
    items = []
    if latest:
        for item in rules.ITEMS:
            value = latest.items.get(item.code, {"ok": True})
            items.append({"item": item, "value": value})
    trend = [(r.day, r.score) for r in reversed(history)]
    context = {
        "school": the_school,
        "history": history,
        "latest": latest,
        "items": items,
        "trend_points": _trend_points(trend),
        "may_issue": notices.may_issue(request.user) and latest is not None,
        "notices": Notice.objects.visible_to(request.user)
        .filter(school=the_school)
        .select_related("hazard")[:20],
    }
    return render(request, "inspections/school.html", context)


@login_required
@role_required("inspection_notices", action=WRITE)
@require_POST
def issue_from_result(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn a daily result's failed items into a notice to the school."""
    result = get_visible_or_404(DailyResult, request.user, pk=pk)
    days = _int(request.POST.get("days"), notices.DEFAULT_DAYS, 1, 90)
    # Never two open notices for one school and item (the daily run may have sent it).
    on_notices = notices.open_items({result.school_id}).get(result.school_id, set())
    items = [i for i in notices.items_from_result(result) if i["code"] not in on_notices]
    if not items and on_notices:
        messages.info(request, _("Every failed item is already on an open notice."))
        if result.notice_id:
            return redirect("inspections:notice", pk=result.notice_id)
        return redirect("inspections:school", pk=result.school_id)
    try:
        notice = notices.issue_notice(
            request.user,
            school=result.school,
            source=Notice.Source.DAILY,
            items=items,
            deadline=clock.now() + dt.timedelta(days=days),
            daily_result=result,
        )
    except (ValidationError, notices.NotAllowed) as exc:
        messages.error(request, _message(exc))
        return redirect("inspections:school", pk=result.school_id)
    messages.success(request, _("Notice %(ref)s sent.") % {"ref": notice.reference})
    return redirect("inspections:notice", pk=notice.pk)


def _int(text: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(high, max(low, int(text or default)))
    except ValueError:
        return default


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


@login_required
@role_required("inspections")
@require_GET
def rule_set(request: HttpRequest) -> HttpResponse:
    """Each item of the rule set explained, with its weight."""
    return render(
        request,
        "inspections/rules.html",
        {
            "items": rules.ITEMS,
            "version": rules.VERSION,
            "pass_score": 60,
            "notice_rules": rules.notice_rules(),
        },
    )


# --- video patrols ------------------------------------------------------------------------------


@login_required
@role_required("inspections")
def patrol_list(request: HttpRequest) -> HttpResponse:
    """Patrol plans with their completion, recent patrols, and a new patrol."""
    user = request.user
    if request.method == "POST":
        if not patrols.may_patrol(user):
            raise PermissionDenied
        ids = [int(v) for v in request.POST.getlist("schools") if v.isdigit()]
        plan = None
        if request.POST.get("plan", "").isdigit():
            plan = get_visible_or_404(PatrolPlan, user, pk=int(request.POST["plan"]))
        chosen = {s.pk: s for s in School.objects.visible_to(user).filter(pk__in=ids)}
        if request.POST.get("step") == "plan":
            try:
                patrols.create_plan(
                    user,
                    name=request.POST.get("name", ""),
                    schools=[chosen[i] for i in ids if i in chosen],
                    every_days=_int(request.POST.get("every_days"), 7, 0, 1000),
                )
            except (ValidationError, patrols.NotAllowed) as exc:
                messages.error(request, _message(exc))
            else:
                messages.success(request, _("Plan saved."))
            return redirect("inspections:patrols")
        try:
            patrol = patrols.start_patrol(user, [chosen[i] for i in ids if i in chosen], plan)
        except (ValidationError, patrols.NotAllowed) as exc:
            messages.error(request, _message(exc))
            return redirect("inspections:patrols")
        return redirect("inspections:patrol", pk=patrol.pk)
    plans = list(PatrolPlan.objects.visible_to(user).distinct().prefetch_related("schools"))
    completion = patrols.plan_completion(plans)
    district = request.GET.get("district", "")
    candidates = School.objects.visible_to(user).select_related("region").order_by("code")
    if district:
        candidates = candidates.filter(region__code=district)
    name = request.GET.get("q", "").strip()[:64]
    if name:
        candidates = candidates.filter(name__icontains=name)
    # Two lists on one page, each with its own page number in the address.
    school_page, school_links = listing.paginate(request, candidates, "schools_page")
    patrol_page, patrol_links = listing.paginate(
        request,
        VideoPatrol.objects.visible_to(user)
        .distinct()
        .select_related("inspector")
        .annotate(schools=Count("stops", distinct=True), found=Count("findings", distinct=True))
        .order_by("-started_at", "-pk"),
        "patrols_page",
    )
    context = {
        "plans": [{"plan": p, **completion[p.pk]} for p in plans],
        "patrols": patrol_page.object_list,
        "patrol_page": patrol_page,
        "patrol_links": patrol_links,
        "patrol_neighbours": listing.neighbour_queries(request, patrol_page, "patrols_page"),
        "may_patrol": patrols.may_patrol(user),
        "candidates": school_page.object_list,
        "school_page": school_page,
        "school_links": school_links,
        "school_neighbours": listing.neighbour_queries(request, school_page, "schools_page"),
        "q": name,
        "district": district,
        "districts": Region.objects.filter(
            pk__in=School.objects.visible_to(user).values("region")
        ).order_by("code"),
    }
    return render(request, "inspections/patrols.html", context)


@login_required
@role_required("inspections")
def patrol(request: HttpRequest, pk: int) -> HttpResponse:
    """The patrol screen: one school at a time, its cameras' pictures, findings."""
    if getattr(request.user, "school_id", None):
        raise Http404  # a patrol spans schools: a school sees its findings and notices
    the_patrol = get_visible_or_404(VideoPatrol.objects.distinct(), request.user, pk=pk)
    stops = list(the_patrol.stops.select_related("school"))
    position = _int(request.GET.get("stop"), 1, 1, max(1, len(stops)))
    stop = stops[position - 1]
    is_mine = the_patrol.inspector_id == request.user.pk
    if request.method == "POST":
        if not is_mine:
            raise PermissionDenied
        step = request.POST.get("step")
        if step == "finish":
            patrols.finish_patrol(the_patrol, request.user)
            messages.success(request, _("Patrol completed."))
            return redirect("inspections:patrols")
        if step == "finding":
            return _record_finding(request, the_patrol, stop, position)
        raise Http404
    cameras = patrols.cameras_of(stop.school)
    if is_mine and the_patrol.status == VideoPatrol.Status.OPEN:
        patrols.visit(stop, len(cameras))
    findings = the_patrol.findings.filter(school=stop.school).select_related("device", "notice")
    context = {
        "patrol": the_patrol,
        "stops": stops,
        "stop": stop,
        "position": position,
        "previous": position - 1 if position > 1 else None,
        "next": position + 1 if position < len(stops) else None,
        "cameras": [
            {
                "device": cam,
                "live": patrols.live_view(cam),
                "faults": fault_words(getattr(getattr(cam, "quality", None), "faults", []) or []),
            }
            for cam in cameras
        ],
        "findings": findings,
        "kinds": Finding.Kind.choices,
        "is_open": is_mine and the_patrol.status == VideoPatrol.Status.OPEN,
    }
    return render(request, "inspections/patrol.html", context)


def _record_finding(request, the_patrol, stop, position) -> HttpResponse:
    device = None
    if request.POST.get("device", "").isdigit():
        device = get_visible_or_404(Device, request.user, pk=int(request.POST["device"]))
    snapshot = patrols.snapshot_for(device) if device is not None else None
    days = _int(request.POST.get("days"), notices.DEFAULT_DAYS, 1, 90)
    try:
        finding = patrols.record_finding(
            the_patrol,
            request.user,
            school=stop.school,
            kind=request.POST.get("kind", ""),
            note=request.POST.get("note", ""),
            device=device,
            snapshot=snapshot,
            deadline=clock.now() + dt.timedelta(days=days),
        )
    except (ValidationError, patrols.NotAllowed, notices.NotAllowed) as exc:
        messages.error(request, _message(exc))
    else:
        reference = finding.notice.reference if finding.notice else ""
        messages.success(request, _("Finding recorded; notice %(ref)s sent.") % {"ref": reference})
    return redirect(f"{request.path}?stop={position}")


@login_required
@role_required("inspections")
@require_GET
def snapshot(request: HttpRequest, pk: int) -> HttpResponse:
    """A camera's picture now (through the platform: the browser never reaches the
    camera), or its last diagnosed picture when it gives none."""
    device = get_visible_or_404(Device, request.user, pk=pk)
    data = patrols.snapshot_for(device)
    if data is None:
        check = (
            QualityCheck.objects.filter(device=device).exclude(picture="").order_by("-at").first()
        )
        if check is None:
            raise Http404
        return _file(check.picture, f"{device.device_id}.jpg")
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _file(field, name: str) -> FileResponse:
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@login_required
@role_required("inspections")
@require_GET
def finding_snapshot(request: HttpRequest, pk: int) -> FileResponse:
    finding = get_visible_or_404(Finding, request.user, pk=pk)
    if not finding.snapshot:
        raise Http404
    return _file(finding.snapshot, f"finding-{finding.pk}.jpg")


# --- notices ------------------------------------------------------------------------------------


@login_required
@role_required("inspection_notices")
@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    rows = Notice.objects.visible_to(request.user).select_related("school", "hazard")
    state = request.GET.get("state", "open")
    status = Hazard.Status
    if state == "open":
        rows = rows.filter(hazard__status__in=Hazard.OPEN_STATUSES)
    elif state == "answered":
        rows = rows.filter(hazard__status=status.SUBMITTED)
    elif state == "overdue":
        rows = rows.filter(
            hazard__status__in=[status.ASSIGNED, status.RECTIFYING],
            hazard__deadline__lt=clock.now(),
        )
    elif state == "closed":
        rows = rows.filter(hazard__status__in=[status.VERIFIED, status.CLOSED, status.DISMISSED])
    if request.GET.get("format") == "xlsx":
        if not can(request.user, EXPORT, "inspection_notices"):
            raise PermissionDenied
        record("export.inspection_notices", detail={"state": state})
        return exports.notices_response(rows)
    page, page_links = listing.paginate(request, rows.order_by("-issued_at", "-pk"))
    context = {
        "rows": [
            {"notice": n, "state": notices.state_label(n), "deadline": notices.deadline_local(n)}
            for n in page.object_list
        ],
        "page": page,
        "page_links": page_links,
        "neighbours": listing.neighbour_queries(request, page),
        "state": state,
        "may_export": can(request.user, EXPORT, "inspection_notices"),
    }
    return render(request, "inspections/notices.html", context)


@login_required
@role_required("inspection_notices")
def notice(request: HttpRequest, pk: int) -> HttpResponse:
    """A notice: the items, deadline, who answers; answer with a photo, accept, return."""
    the_notice = get_visible_or_404(
        Notice.objects.select_related("school", "hazard", "issued_by"), request.user, pk=pk
    )
    if request.method == "POST":
        step = request.POST.get("step", "")
        if step not in notices.steps_for(request.user, the_notice):
            raise PermissionDenied
        note = request.POST.get("note", "")
        try:
            if step == "answer":
                notices.answer_notice(
                    the_notice, request.user, note, request.FILES.getlist("photos")
                )
            elif step == "accept":
                notices.accept_notice(the_notice, request.user, note)
            else:
                notices.return_notice(the_notice, request.user, note)
        except (ValidationError, PermissionError) as exc:
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("Saved."))
        return redirect("inspections:notice", pk=the_notice.pk)
    hazard = the_notice.hazard
    context = {
        "notice": the_notice,
        "hazard": hazard,
        "state": notices.state_label(the_notice),
        "deadline": notices.deadline_local(the_notice),
        "steps": notices.steps_for(request.user, the_notice),
        "events": hazard.events.select_related("by").order_by("at"),
        "photos": hazard.photos.order_by("pk"),
        "findings": the_notice.findings.select_related("device"),
    }
    return render(request, "inspections/notice.html", context)


# --- VQD ----------------------------------------------------------------------------------------


@login_required
@role_required("inspections")
@require_GET
def vqd_list(request: HttpRequest) -> HttpResponse:
    """Cameras whose last picture is faulty (or all diagnosed), with the picture."""
    rows = CameraQuality.objects.visible_to(request.user).select_related(
        "device__school", "last_check"
    )
    show = request.GET.get("show", "faulty")
    if show == "faulty":
        rows = rows.exclude(faults=[])
    fault = request.GET.get("fault", "")
    if fault not in vqd.FAULTS:
        fault = ""
    counts: Counter = Counter()
    faulty = CameraQuality.objects.visible_to(request.user).exclude(faults=[])
    for faults in faulty.values_list("faults", flat=True):
        counts.update(faults)
    if fault:
        # The list's JSON text holds the code in quotes; SQLite has no JSON containment,
        # and the codes are plain words, none inside another's quotes.
        rows = rows.filter(faults__icontains=f'"{fault}"')
    page, page_links = listing.paginate(request, rows.order_by("faulty_since", "device__device_id"))
    context = {
        "rows": [{"q": r, "words": fault_words(r.faults)} for r in page.object_list],
        "page": page,
        "page_links": page_links,
        "neighbours": listing.neighbour_queries(request, page),
        "show": show,
        "fault": fault,
        "counts": [(f, FAULT_LABELS[f], counts.get(f, 0)) for f in vqd.FAULTS],
        "diagnosed": CameraQuality.objects.visible_to(request.user).count(),
    }
    return render(request, "inspections/vqd.html", context)


@login_required
@role_required("inspections")
def vqd_camera(request: HttpRequest, pk: int) -> HttpResponse:
    """One camera's diagnoses with their pictures; reset its reference picture."""
    device = get_visible_or_404(Device, request.user, pk=pk)
    state = CameraQuality.objects.filter(device=device).first()
    if request.method == "POST":
        if not can(request.user, WRITE, "inspections") or state is None:
            raise PermissionDenied
        quality.reset_reference(state, request.user)
        messages.success(request, _("The last picture is now the camera's reference."))
        return redirect("inspections:vqd_camera", pk=device.pk)
    checks = list(QualityCheck.objects.filter(device=device).order_by("-at")[:30])
    context = {
        "device": device,
        "state": state,
        "words": fault_words(state.faults) if state else "",
        "checks": [{"c": c, "words": fault_words(c.faults)} for c in checks],
        "may_reset": can(request.user, WRITE, "inspections") and state is not None,
    }
    return render(request, "inspections/vqd_camera.html", context)


@login_required
@role_required("inspections")
@require_GET
def vqd_summary(request: HttpRequest, pk: int) -> HttpResponse:
    """The camera's picture quality as a fragment for the device page (loaded there by
    htmx, as the availability block is): its faults now, since when, the last checks."""
    device = get_visible_or_404(Device, request.user, pk=pk)
    state = CameraQuality.objects.filter(device=device).select_related("last_check").first()
    checks = list(QualityCheck.objects.filter(device=device).order_by("-at")[:5])
    context = {
        "device": device,
        "state": state,
        "words": fault_words(state.faults) if state else "",
        "checks": [{"c": c, "words": fault_words(c.faults)} for c in checks],
    }
    return render(request, "inspections/_vqd_summary.html", context)


@login_required
@role_required("inspections")
@require_GET
def vqd_picture(request: HttpRequest, pk: int) -> FileResponse:
    check = get_visible_or_404(QualityCheck, request.user, pk=pk)
    if not check.picture:
        raise Http404
    return _file(check.picture, f"vqd-{check.pk}.jpg")
