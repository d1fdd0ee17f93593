"""Linkage pages: the hub, police rooms and duty logs, plans and drills, notices,
lectures. Discipline records have their own module (``discipline_views.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, F, Q, Sum, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import EXPORT, READ, WRITE, can
from campus_safety.linkage import discipline, lists, notices, services
from campus_safety.linkage.forms import (
    ConfirmForm,
    DrillForm,
    DutyLogForm,
    ForwardForm,
    JointDrillForm,
    LectureForm,
    NoticeForm,
    PlanForm,
    PoliceRoomForm,
)
from campus_safety.linkage.models import (
    Drill,
    DutyLog,
    EmergencyPlan,
    Lecture,
    Notice,
    NoticeReceipt,
    PoliceRoom,
)
from campus_safety.linkage.statistics import coverage_by_district
from campus_safety.orgs.models import Region, School
from campus_safety.personal_data import mask_phone
from campus_safety.scoping import get_visible_or_404, is_police


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _save(
    request: HttpRequest, form: Any, write: Callable[[dict[str, Any]], Any], done: str
) -> int | None:
    """Validate a posted form and run its service: None once saved (with ``done`` shown),
    else the status to show the form again with (400 invalid, 403 refused)."""
    if not form.is_valid():
        return 400
    try:
        write(form.cleaned_data)
    except ValidationError as exc:
        _add_errors(form, exc)
        return 400
    except services.NotAllowed as exc:
        form.add_error(None, str(exc))
        return 403
    messages.success(request, done)
    return None


def _schools(request: HttpRequest):
    return School.objects.visible_to(request.user).order_by("name")


# --- the hub ---------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """警校联动 — each block for a role that may read it."""
    user = request.user
    if not any(
        can(user, READ, r)
        for r in ("police_rooms", "discipline", "emergency_plans", "notices", "safety_lectures")
    ):
        raise PermissionDenied
    schools = School.objects.visible_to(user)
    context: dict[str, Any] = {}
    if can(user, READ, "police_rooms"):
        context["coverage"] = coverage_by_district(schools)
        context["rooms_total"] = sum(r["rooms"] for r in context["coverage"])
        context["schools_total"] = sum(r["schools"] for r in context["coverage"])
    if can(user, READ, "emergency_plans"):
        rows = services.drill_compliance(schools)
        context["drill_counts"] = services.compliance_counts(rows)
        context["drill_term"] = rows[0]["term"] if rows else None
    if can(user, READ, "notices"):
        visible = Notice.objects.visible_to(user)
        context["notice_count"] = visible.count()
        context["unconfirmed"] = notices.unconfirmed_count(schools)
    if can(user, READ, "discipline"):
        mine = discipline.DisciplineRecord.objects.visible_to(user)
        context["discipline_open"] = discipline.open_follow_ups(mine)
        context["discipline_visible"] = mine.count()
        context["unseal_waiting"] = discipline.pending_unseals(user).count()
    if can(user, READ, "safety_lectures"):
        lectures = Lecture.objects.visible_to(user)
        context["lecture_totals"] = lectures.aggregate(n=Count("pk"), audience=Sum("audience"))
    return render(request, "linkage/home.html", context)


# --- police rooms and duty logs --------------------------------------------------------------


@login_required
@role_required("police_rooms")
def room_list(request: HttpRequest) -> HttpResponse:
    """Every school of the scope with its police room (or none), paged; ``?without=1``
    the schools without one, ``?without=0`` those with one; ``?export=xlsx`` the register."""
    schools = _schools(request).select_related("region")
    without = request.GET.get("without", "")
    listed = schools.order_by("region__code", "code")
    if without in {"0", "1"}:
        listed = listed.filter(police_room__isnull=without == "1")
    listed = listed.select_related("police_room").prefetch_related("police_room__officers")
    if lists.wants_export(request):
        return lists.export(
            request,
            "police_rooms",
            action="export.police_rooms",
            title=_("Campus police rooms"),
            headers=[
                _("School"),
                _("District"),
                _("Police room"),
                _("Officers"),
                _("Auxiliary officers"),
                _("Legal counsellor"),
                _("Phone"),
                _("Opening hours"),
            ],
            lines=(_room_line(school) for school in listed.iterator(chunk_size=500)),
            filename="police-rooms.xlsx",
        )
    paged = lists.paged(request, listed)
    return render(
        request,
        "linkage/room_list.html",
        {
            "paged": paged,
            "rows": [(school, _room_of(school)) for school in paged.rows],
            "coverage": coverage_by_district(schools),
            "may_write": can(request.user, WRITE, "police_rooms"),
            "may_export": can(request.user, EXPORT, "police_rooms"),
            "without": without == "1",
        },
    )


def _duty_problem_to_lead(
    request: HttpRequest, school: School, room: PoliceRoom | None, may_lead: bool
) -> HttpResponse:
    """POST ``to_lead=<duty log id>``: a problem of this room's log becomes an intel lead."""
    if not may_lead:
        raise PermissionDenied
    raw = request.POST.get("to_lead", "")
    log = (
        DutyLog.objects.filter(room=room, pk=int(raw)).select_related("room__school", "hazard")
        if room is not None and raw.isdigit()
        else DutyLog.objects.none()
    ).first()
    if log is None:
        raise Http404
    try:
        lead = services.duty_problem_to_lead(request.user, log)
    except services.NotAllowed as exc:
        return HttpResponse(str(exc), status=403)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=409)
    messages.success(request, _("Lead %(ref)s filed.") % {"ref": lead.reference})
    return redirect("linkage:room_detail", pk=school.pk)


def _room_of(school: School) -> PoliceRoom | None:
    return getattr(school, "police_room", None)


def _room_line(school: School) -> list[Any]:
    room = _room_of(school)
    if room is None:
        return [school.name, school.region.name, _("None"), "", "", "", "", ""]
    return [
        school.name,
        school.region.name,
        room.location or _("Yes"),
        "、".join(str(o) for o in room.officers.all()),
        room.auxiliary_officers,
        room.counsellor_name,
        mask_phone(room.phone or ""),
        room.hours,
    ]


@login_required
@role_required("police_rooms")
def room_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A school's police room (``pk`` is the school's): registry, today's duty and the log."""
    school = get_visible_or_404(School, request.user, pk=pk)
    room = PoliceRoom.objects.filter(school=school).prefetch_related("officers").first()
    may_write = can(request.user, WRITE, "police_rooms")
    room_form = PoliceRoomForm(
        initial={
            "location": room.location,
            "auxiliary_officers": room.auxiliary_officers,
            "counsellor_name": room.counsellor_name,
            "phone": room.phone,
            "hours": room.hours,
        }
        if room
        else {"counsellor_name": school.legal_vice_principal}
    )
    may_lead = can(request.user, WRITE, "leads") and is_police(request.user)
    log_form = DutyLogForm(may_lead=may_lead)
    status = 200
    if request.method == "POST" and "to_lead" in request.POST:
        return _duty_problem_to_lead(request, school, room, may_lead)
    if request.method == "POST":
        if not may_write:
            raise PermissionDenied
        if "kind" in request.POST:
            log_form = DutyLogForm(request.POST, may_lead=may_lead)

            def write_log(data: dict[str, Any]) -> None:
                if room is None:
                    raise ValidationError(_("This school has no police room registered."))
                services.record_duty(request.user, room, **data)

            status = _save(request, log_form, write_log, _("Duty log entry recorded."))
        else:
            room_form = PoliceRoomForm(request.POST)

            def write_room(data: dict[str, Any]) -> None:
                # A new room is the registering officer's; an existing one keeps its officers.
                officers = list(room.officers.all()) if room is not None else []
                if not officers and request.user.role == "police_officer":
                    officers = [request.user]
                services.save_police_room(request.user, school, officers=officers, **data)

            status = _save(request, room_form, write_room, _("Police room saved."))
        if status is None:
            return redirect("linkage:room_detail", pk=school.pk)
    logs = (
        DutyLog.objects.filter(room=room).select_related("officer", "hazard", "lead")
        if room
        else DutyLog.objects.none()
    )
    if request.method == "GET" and lists.wants_export(request):
        return lists.export(
            request,
            "police_rooms",
            action="export.duty_log",
            title=_("Duty log"),
            headers=[_("Time"), _("What was done"), _("Officer"), _("Notes"), _("Hazard")],
            lines=(
                [
                    f"{timezone.localtime(log.at):%Y-%m-%d %H:%M}",
                    str(log.get_kind_display()),
                    str(log.officer),
                    log.notes,
                    log.hazard.reference if log.hazard else "",
                ]
                for log in logs.iterator(chunk_size=500)
            ),
            filename="duty-log.xlsx",
        )
    paged = lists.paged(request, logs)
    return render(
        request,
        "linkage/room_detail.html",
        {
            "school": school,
            "room": room,
            "logs": paged.rows,
            "paged": paged,
            "may_export": can(request.user, EXPORT, "police_rooms"),
            "may_lead": may_lead,
            "may_read_leads": can(request.user, READ, "leads") and is_police(request.user),
            "room_form": room_form,
            "log_form": log_form,
            "may_write": may_write,
        },
        status=status,
    )


# --- plans and drills ------------------------------------------------------------------------


@login_required
@role_required("emergency_plans")
def drills(request: HttpRequest) -> HttpResponse:
    """The drill board: compliance per school this term (paged; ``?export=xlsx`` the
    whole board), the drills held (``?drills=`` pages) and the plans (``?plans=``)."""
    schools = _schools(request)
    status = request.GET.get("status", "")
    rows = services.drill_compliance(schools)
    counts = services.compliance_counts(rows)
    term = rows[0]["term"] if rows else services.current_term(timezone.localdate(clock.now()))
    if status:
        rows = [r for r in rows if r["status"] == status]
    if lists.wants_export(request):
        return _drill_board_export(request, rows)
    recent = Drill.objects.visible_to(request.user).select_related("school")
    plans = (
        EmergencyPlan.objects.visible_to(request.user)
        .select_related("school")
        .order_by(
            Case(When(status=EmergencyPlan.Status.SUBMITTED, then=0), default=1),
            "school__code",
            "kind",
            "-version",
        )
    )
    board = lists.paged(request, rows)
    held = lists.paged(request, recent, "drills")
    plan_page = lists.paged(request, plans, "plans")
    return render(
        request,
        "linkage/drills.html",
        {
            "rows": board.rows,
            "paged": board,
            "counts": counts,
            "term": term,
            "status": status,
            "recent": held.rows,
            "recent_paged": held,
            "plans": plan_page.rows,
            "plans_paged": plan_page,
            "may_write": can(request.user, WRITE, "emergency_plans"),
            "may_export": can(request.user, EXPORT, "emergency_plans"),
            "may_approve": can(request.user, WRITE, "emergency_plans")
            and request.user.role == "education_staff",
            "may_schedule": can(request.user, WRITE, "alarm_drills"),
        },
    )


def _drill_board_export(request: HttpRequest, rows: list[dict[str, Any]]) -> HttpResponse:
    period_names = {
        "month": _("one a month"),
        "quarter": _("one a quarter"),
        "term": _("one a term"),
    }
    status_names = {
        "done": _("Done"),
        "due": pgettext("linkage", "Due"),
        "overdue": _("Overdue"),
        "upcoming": _("Not yet due"),
    }
    return lists.export(
        request,
        "emergency_plans",
        action="export.drill_board",
        title=_("Plans and drills"),
        headers=[
            _("School"),
            _("District"),
            _("Term"),
            _("Rule"),
            _("Drills this term"),
            _("Periods overdue"),
            _("Status"),
        ],
        lines=(
            [
                row["school"].name,
                row["school"].region.name,
                row["term"].name,
                str(period_names.get(row["period"], row["period"])),
                row["drills"],
                sum(1 for p in row["periods"] if p.status == "overdue"),
                str(status_names.get(row["status"], row["status"])),
            ]
            for row in rows
        ),
        filename="drill-board.xlsx",
    )


@login_required
@role_required("emergency_plans", action=WRITE)
def drill_new(request: HttpRequest) -> HttpResponse:
    form = DrillForm(request.POST or None, request.FILES or None, schools=_schools(request))
    status = 200
    if request.method == "POST":

        def write(data: dict[str, Any]) -> None:
            services.record_drill(
                request.user,
                data["school"],
                kind=data["kind"],
                held_at=data["held_at"],
                is_evacuation=data["is_evacuation"],
                evacuation_seconds=data["evacuation_seconds"],
                participants=data["participants"],
                problems=data["problems"],
                photo=data["photo"],
                file_problems_as_hazard=data["file_hazard"],
            )

        status = _save(request, form, write, _("Drill recorded."))
        if status is None:
            return redirect("linkage:drills")
    return render(
        request,
        "linkage/form.html",
        {"form": form, "title": _("Record a drill"), "multipart": True},
        status=status,
    )


@login_required
@role_required("alarm_drills", action=WRITE)
def joint_drill_new(request: HttpRequest) -> HttpResponse:
    form = JointDrillForm(request.POST or None, schools=_schools(request))
    status = 200
    if request.method == "POST":

        def write(data: dict[str, Any]) -> None:
            services.schedule_joint_drill(
                request.user,
                data["school"],
                kind=data["kind"],
                starts_at=data["starts_at"],
                minutes=data["minutes"],
            )

        done = _("Joint drill scheduled: its alarms are test alarms.")
        status = _save(request, form, write, done)
        if status is None:
            return redirect("linkage:drills")
    return render(
        request,
        "linkage/form.html",
        {"form": form, "title": _("Schedule a joint drill with the police")},
        status=status,
    )


@login_required
@role_required("emergency_plans", action=WRITE)
def plan_new(request: HttpRequest) -> HttpResponse:
    form = PlanForm(request.POST or None, schools=_schools(request))
    status = 200
    if request.method == "POST":

        def write(data: dict[str, Any]) -> None:
            services.submit_plan(
                request.user,
                data["school"],
                kind=data["kind"],
                summary=data["summary"],
            )

        status = _save(request, form, write, _("Plan submitted for approval."))
        if status is None:
            return redirect("linkage:drills")
    return render(
        request,
        "linkage/form.html",
        {"form": form, "title": _("Submit an emergency plan")},
        status=status,
    )


@login_required
@require_POST
@role_required("emergency_plans", action=WRITE)
def plan_decide(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_visible_or_404(EmergencyPlan, request.user, pk=pk)
    try:
        services.decide_plan(
            request.user,
            plan,
            approve=request.POST.get("decision") == "approve",
            note=request.POST.get("note", ""),
        )
    except services.NotAllowed as exc:
        return HttpResponse(str(exc), status=403)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    messages.success(request, _("Decision recorded."))
    return redirect("linkage:drills")


@login_required
@role_required("emergency_plans")
def drill_photo(request: HttpRequest, pk: int) -> FileResponse:
    """A drill's photo (JPEG or PNG, checked by its first bytes when recorded), for the
    board's thumbnails and full size; the browser keeps it a day (it never changes)."""
    drill = get_visible_or_404(Drill, request.user, pk=pk)
    if not drill.photo:
        raise Http404
    handle = drill.photo.open("rb")
    head = handle.read(8)
    handle.seek(0)
    kind = "image/png" if head.startswith(b"\x89PNG") else "image/jpeg"
    response = FileResponse(handle, content_type=kind)
    patch_cache_control(response, private=True, max_age=86400)
    return response


# --- notices ---------------------------------------------------------------------------------


@login_required
@role_required("notices")
def notice_list(request: HttpRequest) -> HttpResponse:
    visible = Notice.objects.visible_to(request.user).select_related("created_by")
    paged = lists.paged(request, visible)
    rows = list(paged.rows)
    counts = notices.receipt_counts(Notice.objects.filter(pk__in=[n.pk for n in rows]))
    mine: dict[int, NoticeReceipt] = {}
    if request.user.school_id:
        mine = {
            r.notice_id: r
            for r in NoticeReceipt.objects.filter(
                school_id=request.user.school_id, notice__in=[n.pk for n in rows]
            )
        }
    return render(
        request,
        "linkage/notice_list.html",
        {
            "rows": [(n, counts.get(n.pk, {}), mine.get(n.pk)) for n in rows],
            "paged": paged,
            "may_send": can(request.user, WRITE, "notices") and not request.user.school_id,
            "is_school": bool(request.user.school_id),
        },
    )


@login_required
@role_required("notices", action=WRITE)
def notice_new(request: HttpRequest) -> HttpResponse:
    if request.user.school_id:
        raise PermissionDenied
    schools = _schools(request)
    regions = Region.objects.filter(
        level=Region.Level.COUNTY, pk__in=schools.order_by().values("region_id")
    )
    form = NoticeForm(
        request.POST or None,
        request.FILES or None,
        schools=schools,
        regions=regions,
        units=notices.target_units(request.user),
    )
    status = 200
    if request.method == "POST":
        sent: list[Notice] = []

        def write(data: dict[str, Any]) -> None:
            target = {
                "regions": data["regions"],
                "kinds": data["kinds"],
                "schools": [s.pk for s in data["schools"]],
                "units": [u.pk for u in data.get("units") or []],
            }
            sent.append(
                notices.send_notice(
                    request.user,
                    title=data["title"],
                    body=data["body"],
                    target=target,
                    confirm_by=data["confirm_by"],
                    kind=data["kind"],
                    attachment=data["attachment"],
                )
            )

        status = _save(request, form, write, _("Notice sent."))
        if status is None:
            return redirect("linkage:notice_detail", pk=sent[0].pk)
    return render(
        request,
        "linkage/form.html",
        {"form": form, "title": _("Send a notice"), "multipart": True},
        status=status,
    )


@login_required
@role_required("notices")
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The notice; its sender (and supervisors) see every school's receipt, who has
    not read and who has not confirmed; a school sees its own copy and confirms it."""
    notice = get_visible_or_404(Notice, request.user, pk=pk)
    own = None
    if request.user.school_id:
        own = (
            notices.mark_read(request.user, notice)
            or NoticeReceipt.objects.filter(notice=notice, school_id=request.user.school_id).first()
        )
    relay = None if request.user.school_id else notices.mark_relay_read(request.user, notice)
    status = 200
    form = ConfirmForm()
    forward_form = None
    if relay is not None and relay.forwarded_id is None:
        forward_form = ForwardForm(units=notices.target_units(request.user))
    if request.method == "POST" and "forward" in request.POST:
        if relay is None or forward_form is None:
            raise PermissionDenied
        forward_form = ForwardForm(request.POST, units=notices.target_units(request.user))
        forwarded: list[Notice] = []

        def forward(data: dict[str, Any]) -> None:
            forwarded.append(
                notices.forward(
                    request.user,
                    notice,
                    note=data["note"],
                    units=[u.pk for u in data.get("units") or []],
                    confirm_by=data["confirm_by"],
                )
            )

        status = _save(request, forward_form, forward, _("Notice forwarded."))
        if status is None:
            return redirect("linkage:notice_detail", pk=forwarded[0].pk)
    elif request.method == "POST":
        form = ConfirmForm(request.POST)

        def write(data: dict[str, Any]) -> None:
            notices.confirm(request.user, notice, data["reply"])

        status = _save(request, form, write, _("Receipt confirmed."))
        if status is None:
            return redirect("linkage:notice_detail", pk=notice.pk)
    context: dict[str, Any] = {
        "notice": notice,
        "own": own,
        "form": form,
        "now": clock.now(),
        "relay": relay,
        "forward_form": forward_form,
        "parent": Notice.objects.visible_to(request.user)
        .filter(pk=notice.parent_id)
        .select_related("sender_organisation")
        .first()
        if notice.parent_id
        else None,
    }
    # The chain is for those above it; a unit it was passed to sees its own level on
    # its forwarded copy, not its sibling units.
    if not request.user.school_id and relay is None and notice.relays.exists():
        tree = notices.chain(notice)
        context["chain"] = tree
        context["chain_rows"] = _chain_rows(tree)
        context["may_remind_units"] = (
            can(request.user, WRITE, "notices")
            and notice.relays.filter(forwarded__isnull=True).exists()
        )
    if not request.user.school_id:
        receipts = (
            NoticeReceipt.objects.visible_to(request.user)
            .filter(notice=notice)
            .select_related("school", "school__region")
        )
        totals = receipts.aggregate(
            total=Count("pk"),
            unread=Count("pk", filter=Q(read_at__isnull=True)),
            pending=Count("pk", filter=Q(confirmed_at__isnull=True)),
        )
        show = request.GET.get("show", "")
        if show == "unread":
            receipts = receipts.filter(read_at__isnull=True)
        elif show == "pending":
            receipts = receipts.filter(confirmed_at__isnull=True)
        receipts = receipts.order_by(
            F("confirmed_at").asc(nulls_first=True),
            F("read_at").asc(nulls_first=True),
            "school__code",
        )
        if lists.wants_export(request):
            return _receipts_export(request, notice, receipts)
        paged = lists.paged(request, receipts)
        context.update(
            receipts=paged.rows,
            paged=paged,
            totals=totals,
            show=show,
            may_export=can(request.user, EXPORT, "notices"),
            may_remind=bool(totals["pending"])
            and can(request.user, WRITE, "notices")
            and not request.user.school_id
            and relay is None,  # a unit it was passed to forwards; it does not remind
        )
    return render(request, "linkage/notice_detail.html", context, status=status)


def _chain_rows(node: notices.ChainNode, depth: int = 0) -> list[tuple[int, notices.ChainNode]]:
    """The units of a forwarding tree, depth first, with their level (for indenting)."""
    rows = []
    for child in node.children:
        rows.append((depth, child))
        rows.extend(_chain_rows(child, depth + 1))
    return rows


def _receipts_export(request: HttpRequest, notice: Notice, receipts: Any) -> HttpResponse:
    """Who has read and confirmed a notice, school by school (no readers' names)."""

    def when(value: Any) -> str:
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""

    return lists.export(
        request,
        "notices",
        action="export.notice_receipts",
        title=_("Receipts"),
        headers=[
            _("School"),
            _("District"),
            _("Read"),
            _("Confirmed"),
            _("Reminders"),
            _("Reply"),
        ],
        lines=(
            [
                r.school.name,
                r.school.region.name if r.school.region else "",
                when(r.read_at) or _("Unread"),
                when(r.confirmed_at) or _("Not confirmed"),
                r.reminders,
                r.reply,
            ]
            for r in receipts.iterator(chunk_size=500)
        ),
        filename=f"notice-{notice.pk}-receipts.xlsx",
    )


@login_required
@require_POST
@role_required("notices", action=WRITE)
def notice_remind(request: HttpRequest, pk: int) -> HttpResponse:
    notice = get_visible_or_404(Notice, request.user, pk=pk)
    try:
        count = notices.remind(notice, request.user)
    except services.NotAllowed as exc:
        return HttpResponse(str(exc), status=403)
    if count.units:
        messages.success(
            request,
            _("%(schools)d schools and %(units)d units reminded.")
            % {"schools": count.schools, "units": count.units},
        )
    else:
        messages.success(request, _("%(count)d schools reminded.") % {"count": count.schools})
    return redirect("linkage:notice_detail", pk=notice.pk)


@login_required
@role_required("notices")
def notice_attachment(request: HttpRequest, pk: int) -> FileResponse:
    notice = get_visible_or_404(Notice, request.user, pk=pk)
    if not notice.attachment:
        raise Http404
    return FileResponse(
        notice.attachment.open("rb"),
        as_attachment=True,
        filename=notice.attachment.name.rsplit("/", 1)[-1],
    )


@login_required
@cache_control(private=True, max_age=60)
def warning_banner(request: HttpRequest) -> HttpResponse:
    """The school's safety-warning banner on school users' pages (base.html). Every page
    load asks for it and the browser keeps it a minute, so moving between pages costs
    no request; a new warning's ``notice.published`` on the live stream fetches it at
    once under a fresh address (linkage/notices.js); a slow poll is the fallback."""
    if not can(request.user, READ, "notices"):
        return HttpResponse("")
    return render(
        request, "linkage/_warning_banner.html", {"warnings": notices.active_warnings(request.user)}
    )


# --- lectures --------------------------------------------------------------------------------


@login_required
@role_required("safety_lectures")
def lectures(request: HttpRequest) -> HttpResponse:
    visible = Lecture.objects.visible_to(request.user)
    by_officer = (
        visible.order_by()
        .values("lecturer")
        .annotate(n=Count("pk"), audience=Sum("audience"))
        .order_by("-n", "lecturer")[:50]
    )
    by_district = (
        visible.order_by()
        .values("school__region__name")
        .annotate(n=Count("pk"), audience=Sum("audience"))
        .order_by("school__region__name")
    )
    by_topic = [
        (Lecture.Topic(row["topic"]).label, row["n"])
        for row in visible.order_by().values("topic").annotate(n=Count("pk")).order_by("-n")
    ]
    rows = visible.select_related("school")
    if lists.wants_export(request):
        return lists.export(
            request,
            "safety_lectures",
            action="export.lectures",
            title=_("Safety lectures"),
            headers=[
                _("Date"),
                _("School"),
                _("District"),
                _("Topic"),
                _("Lecturer"),
                _("Audience"),
            ],
            lines=(
                [
                    f"{lecture.held_on:%Y-%m-%d}",
                    lecture.school.name,
                    lecture.school.region.name if lecture.school.region else "",
                    str(lecture.get_topic_display()),
                    lecture.lecturer,
                    lecture.audience,
                ]
                for lecture in rows.select_related("school__region").iterator(chunk_size=500)
            ),
            filename="lectures.xlsx",
        )
    paged = lists.paged(request, rows)
    return render(
        request,
        "linkage/lectures.html",
        {
            "rows": paged.rows,
            "paged": paged,
            "may_export": can(request.user, EXPORT, "safety_lectures"),
            "by_officer": by_officer,
            "by_district": by_district,
            "by_topic": by_topic,
            "may_write": can(request.user, WRITE, "safety_lectures"),
        },
    )


@login_required
@role_required("safety_lectures", action=WRITE)
def lecture_new(request: HttpRequest) -> HttpResponse:
    form = LectureForm(
        request.POST or None,
        schools=_schools(request),
        initial={"held_on": timezone.localdate(clock.now())},
    )
    status = 200
    if request.method == "POST":

        def write(data: dict[str, Any]) -> None:
            services.record_lecture(
                request.user,
                data["school"],
                topic=data["topic"],
                held_on=data["held_on"],
                audience=data["audience"],
                lecturer=data["lecturer"],
            )

        status = _save(request, form, write, _("Lecture recorded."))
        if status is None:
            return redirect("linkage:lectures")
    return render(
        request, "linkage/form.html", {"form": form, "title": _("Record a lecture")}, status=status
    )
