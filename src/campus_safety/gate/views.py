"""The gate's pages: the guard's tablet page (check-in, invitation scan, who is on campus,
vehicles), the badge, the pick-up page, lists with filters and Excel export, the host's
invitation, and the police watch-list (every read audited)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campus_safety import clock
from campus_safety import spreadsheets as xl
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import EXPORT, READ, WRITE, can
from campus_safety.audit.services import record
from campus_safety.gate import services
from campus_safety.gate.models import (
    DocumentKind,
    Pickup,
    PickupPerson,
    Student,
    VehiclePassage,
    Visit,
    WatchlistEntry,
    WatchlistHit,
    mask_name,
)
from campus_safety.orgs.models import Organisation, School
from campus_safety.scoping import get_visible_or_404, is_police
from campus_safety.web import listing
from campus_safety.web.spreadsheet_views import xlsx_response


def _school(request: HttpRequest) -> School:
    """The gate a school user works at (guards and school administrators)."""
    if not request.user.school_id:
        raise PermissionDenied
    return request.user.school


def _qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- the guard's page ---------------------------------------------------------------------


@login_required
@role_required("visitors")
def home(request: HttpRequest) -> HttpResponse:
    """The gate: for a school's guard a tablet page; for everyone else the lists."""
    if not request.user.school_id or not can(request.user, WRITE, "visitors"):
        return redirect("gate:visits")
    school = _school(request)
    result = None
    if request.method == "POST":
        result = _post_gate(request, school)
        if isinstance(result, HttpResponse):
            return result
    roll = services.on_campus(school)
    overdue = set(
        services.overstays(Visit.objects.filter(school=school)).values_list("pk", flat=True)
    )
    return render(
        request,
        "gate/home.html",
        {
            "school": school,
            "result": result,
            "roll": roll,
            "overdue": overdue,
            "kinds": DocumentKind.choices,
            "directions": VehiclePassage.Direction.choices,
            "figures": services.today_figures([school]),
            "post": request.POST if request.method == "POST" and result else {},
        },
    )


def _post_gate(request: HttpRequest, school: School) -> Any:
    action = request.POST.get("action", "")
    data = request.POST
    try:
        if action == "check_in":
            outcome = services.check_in(
                school,
                by=request.user,
                document_kind=data.get("document_kind", "id_card"),
                document_number=data.get("document_number", ""),
                name=data.get("name", ""),
                phone=data.get("phone", ""),
                company=data.get("company", ""),
                purpose=data.get("purpose", ""),
                host=data.get("host", ""),
                party_size=_int(data.get("party_size"), 1),
                expected_minutes=_int(data.get("expected_minutes"), 60),
                vehicle_plate=data.get("vehicle_plate", ""),
                is_contractor=bool(data.get("is_contractor")),
                photo=request.FILES.get("photo"),
            )
            return {
                "ok": not outcome.held,
                "held": outcome.held,
                "message": outcome.message,
                "visit": outcome.visit,
            }
        if action == "invitation":
            outcome = services.check_in_invited(
                data.get("token", "").strip(),
                school,
                by=request.user,
                document_number=data.get("document_number", ""),
            )
            return {
                "ok": not outcome.held,
                "held": outcome.held,
                "message": outcome.message,
                "visit": outcome.visit,
            }
        if action == "check_out":
            visit = get_visible_or_404(Visit, request.user, pk=_int(data.get("visit"), 0))
            services.check_out(visit, by=request.user)
            return {"ok": True, "message": _("Checked out.")}
        if action == "vehicle":
            passage, _hit = services.record_passage(
                school,
                by=request.user,
                plate=data.get("plate", ""),
                direction=data.get("direction", "in"),
            )
            known = passage.vehicle.get_kind_display() if passage.vehicle else _("not on the list")
            return {
                "ok": True,
                "message": _("%(plate)s recorded (%(known)s).")
                % {"plate": passage.plate, "known": known},
            }
    except services.NotAllowed:
        raise PermissionDenied from None
    except services.GateError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": False, "error": _("Unknown action.")}


@login_required
@role_required("visitors")
@require_GET
def badge(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_visible_or_404(Visit.objects.select_related("school"), request.user, pk=pk)
    if visit.state == Visit.State.HELD:
        raise Http404  # a held visitor gets no badge until the police have verified
    qr = _qr_svg(f"visit:{visit.pk}:{visit.school.code}")
    return render(request, "gate/badge.html", {"visit": visit, "qr": mark_safe(qr)})  # noqa: S308


@login_required
@role_required("visitors")
@require_GET
def visit_photo(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_visible_or_404(Visit, request.user, pk=pk)
    photo = services.photo_bytes(visit.photo)
    if photo is None:
        raise Http404
    record("personal_data.reveal", visit, detail={"field": "photo"})
    response = HttpResponse(photo[1], content_type=photo[0])
    response["Cache-Control"] = "private, no-store"
    return response


# --- lists --------------------------------------------------------------------------------


def _day_range(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localtime(clock.now()).date()
    start = parse_date(request.GET.get("from", "") or "") or today
    end = parse_date(request.GET.get("to", "") or "") or start
    if end < start:
        start, end = end, start
    return start, min(end, start + dt.timedelta(days=366))


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


@login_required
@role_required("visitors")
@require_GET
def visits(request: HttpRequest) -> HttpResponse:
    start, end = _day_range(request)
    low, high = _bounds(start, end)
    rows = (
        Visit.objects.visible_to(request.user)
        .filter(checked_in_at__gte=low, checked_in_at__lt=high)
        .select_related("school__region")
    )
    state = request.GET.get("state", "")
    if state in Visit.State.values:
        rows = rows.filter(state=state)
    school = _int(request.GET.get("school"), 0)
    if school:
        rows = rows.filter(school_id=school)
    rows = rows.order_by("-checked_in_at", "-pk")
    if request.GET.get("export") == "xlsx":
        if not can(request.user, EXPORT, "visitors"):
            raise PermissionDenied
        record("export.gate_visits", detail={"filters": request.GET.dict()})
        return _visits_xlsx(rows)
    page, page_links = listing.paginate(request, rows)
    return listing.render_list(
        request,
        "gate/visits.html",
        "gate/_visit_table.html",
        {
            "page": page,
            "rows": list(page.object_list),
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "start": start,
            "end": end,
            "state": state,
            "states": Visit.State.choices,
            "may_export": can(request.user, EXPORT, "visitors"),
            "figures": _figures_for(request.user),
        },
    )


def _figures_for(user: Any) -> dict[str, int]:
    schools = School.objects.visible_to(user)
    figures = services.today_figures(schools)
    if not is_police(user):
        figures.pop("watchlist_hits_today")
    return figures


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _visits_xlsx(rows: Any) -> HttpResponse:
    columns = [
        xl.Column(key, header)
        for key, header in [
            ("school", _("School")),
            ("name", _("Name")),
            ("document", _("Document")),
            ("company", _("Company")),
            ("purpose", _("Purpose")),
            ("host", _("Host")),
            ("party", _("Party size")),
            ("plate", _("Vehicle plate")),
            ("state", _("State")),
            ("in", _("Checked in")),
            ("out", _("Checked out")),
        ]
    ]

    def lines() -> Any:
        for v in rows.iterator(2000):
            yield [
                v.school.name,
                v.masked_name,
                v.masked_document,
                v.company,
                v.purpose,
                v.host,
                v.party_size,
                v.vehicle_plate,
                v.get_state_display(),
                _when(v.checked_in_at),
                _when(v.checked_out_at),
            ]

    return xlsx_response(xl.workbook_bytes(_("Visits"), columns, lines()), "visits.xlsx")


@login_required
@role_required("pickups")
@require_GET
def pickups(request: HttpRequest) -> HttpResponse:
    start, end = _day_range(request)
    low, high = _bounds(start, end)
    rows = Pickup.objects.visible_to(request.user).filter(at__gte=low, at__lt=high)
    outcome = request.GET.get("outcome", "")
    if outcome in Pickup.Outcome.values:
        rows = rows.filter(outcome=outcome)
    rows = rows.select_related("school", "student", "person").order_by("-at", "-pk")
    rows = rows.prefetch_related("notifications__sms")  # each refusal's SMS states
    if request.GET.get("export") == "xlsx":
        if not can(request.user, EXPORT, "pickups"):
            raise PermissionDenied
        record("export.gate_pickups", detail={"filters": request.GET.dict()})
        columns = [
            xl.Column(k, h)
            for k, h in [
                ("school", _("School")),
                ("class", _("Class")),
                ("student", _("Student")),
                ("person", _("Pick-up person")),
                ("outcome", _("Outcome")),
                ("reason", _("Reason")),
                ("at", _("Time")),
            ]
        ]
        lines = (
            [
                p.school.name,
                p.student.class_name,
                p.student.masked_name,
                mask_name(p.person_name),
                p.get_outcome_display(),
                p.get_reason_display() if p.reason else "",
                _when(p.at),
            ]
            for p in rows.iterator(2000)
        )
        return xlsx_response(xl.workbook_bytes(_("Pick-ups"), columns, lines), "pickups.xlsx")
    page, page_links = listing.paginate(request, rows)
    return listing.render_list(
        request,
        "gate/pickups.html",
        "gate/_pickup_table.html",
        {
            "page": page,
            "rows": list(page.object_list),
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "start": start,
            "end": end,
            "outcome": outcome,
            "outcomes": Pickup.Outcome.choices,
            "may_export": can(request.user, EXPORT, "pickups"),
        },
    )


# --- pick-up at the gate ------------------------------------------------------------------


@login_required
@role_required("pickups")
def release(request: HttpRequest) -> HttpResponse:
    """The release page: a class's waiting children, a child's authorised persons as big
    buttons, or someone else by name (and ID, for the watch-list check)."""
    if not request.user.school_id:
        return redirect("gate:pickups")
    school = _school(request)
    result = None
    issued = None
    link = None
    if request.method == "POST" and (request.POST.get("issue_link") or request.POST.get("approve")):
        if not can(request.user, WRITE, "students"):
            raise PermissionDenied
        chosen = get_visible_or_404(
            PickupPerson,
            request.user,
            pk=_int(request.POST.get("issue_link") or request.POST.get("approve"), 0),
        )
        try:
            if request.POST.get("approve"):
                services.approve_pickup_person(chosen, by=request.user)
                result = {"ok": True, "message": _("Approved.")}
            else:
                _made, token = services.issue_guardian_link(chosen, by=request.user)
                url = request.build_absolute_uri(reverse("gate:guardian")) + "?t=" + token
                link = {"url": url, "person": chosen}
        except services.GateError as exc:
            result = {"ok": False, "message": str(exc)}
    elif request.method == "POST" and request.POST.get("issue_code"):
        if not can(request.user, WRITE, "students"):
            raise PermissionDenied
        holder = get_visible_or_404(
            PickupPerson, request.user, pk=_int(request.POST.get("issue_code"), 0)
        )
        try:
            code, text = services.issue_pickup_code(holder, by=request.user)
            issued = {"code": text, "person": holder, "valid_on": code.valid_on}
            issued["qr"] = mark_safe(_qr_svg("PU:" + text.replace("-", "")))  # noqa: S308 (our SVG)
        except services.GateError as exc:
            result = {"ok": False, "message": str(exc)}
    elif request.method == "POST" and request.POST.get("code"):
        if not can(request.user, WRITE, "pickups"):
            raise PermissionDenied
        try:
            outcome = services.release_with_code(request.POST["code"], school, by=request.user)
            result = {
                "ok": outcome.released,
                "held": outcome.pickup.outcome == Pickup.Outcome.HELD,
                "message": outcome.message,
            }
        except services.GateError as exc:
            result = {"ok": False, "message": str(exc)}
    elif request.method == "POST":
        if not can(request.user, WRITE, "pickups"):
            raise PermissionDenied
        student = get_visible_or_404(Student, request.user, pk=_int(request.POST.get("student"), 0))
        person = None
        if request.POST.get("person"):
            person = get_visible_or_404(
                PickupPerson, request.user, pk=_int(request.POST.get("person"), 0)
            )
        try:
            outcome = services.release(
                student,
                school,
                by=request.user,
                person=person,
                person_name=request.POST.get("person_name", ""),
                document_number=request.POST.get("document_number", ""),
                card_code=request.POST.get("card_code", ""),
            )
            result = {
                "ok": outcome.released,
                "held": outcome.pickup.outcome == Pickup.Outcome.HELD,
                "message": outcome.message,
            }
        except services.GateError as exc:
            result = {"ok": False, "message": str(exc)}
    students = Student.objects.filter(school=school, is_active=True)
    classes = sorted(set(students.values_list("class_name", flat=True)))
    chosen_class = request.GET.get("class") or (classes[0] if classes else "")
    waiting = list(
        services.waiting_students(school).filter(class_name=chosen_class).order_by("student_number")
    )
    student = None
    if request.GET.get("student"):
        student = get_visible_or_404(
            Student.objects.filter(school=school), request.user, pk=_int(request.GET["student"], 0)
        )
    persons = list(student.pickup_persons.filter(is_active=True)) if student else []
    return render(
        request,
        "gate/release.html",
        {
            "school": school,
            "classes": classes,
            "chosen_class": chosen_class,
            "waiting": waiting,
            "student": student,
            "persons": persons,
            "result": result,
            "issued": issued,
            "link": link,
            "may_issue": can(request.user, WRITE, "students"),
            "late": services.late_list(school),
        },
    )


# --- invitations --------------------------------------------------------------------------


@login_required
@role_required("visitors", action=WRITE)
def invite(request: HttpRequest) -> HttpResponse:
    """A host pre-registers a visitor; the page shows the one-time QR code once."""
    school = _school(request)
    context: dict[str, Any] = {"kinds": DocumentKind.choices, "post": request.POST}
    if request.method == "POST":
        data = request.POST
        now = clock.now()
        try:
            starts = _local_datetime(data.get("valid_from", "")) or now
            hours = max(1, min(_int(data.get("hours"), 4), 24 * 31))
            invitation, token = services.create_invitation(
                school,
                by=request.user,
                name=data.get("name", ""),
                purpose=data.get("purpose", ""),
                host=data.get("host", ""),
                document_kind=data.get("document_kind", "id_card"),
                document_number=data.get("document_number", ""),
                phone=data.get("phone", ""),
                company=data.get("company", ""),
                party_size=max(1, min(_int(data.get("party_size"), 1), 50)),
                expected_minutes=max(5, min(_int(data.get("expected_minutes"), 60), 1440)),
                vehicle_plate=data.get("vehicle_plate", ""),
                valid_from=starts,
                valid_until=starts + dt.timedelta(hours=hours),
            )
            context.update(
                {"invitation": invitation, "token": token, "qr": mark_safe(_qr_svg(token))}  # noqa: S308
            )
        except services.GateError as exc:
            context["error"] = str(exc)
    return render(request, "gate/invite.html", context)


def _local_datetime(text: str) -> dt.datetime | None:
    from django.utils.dateparse import parse_datetime

    value = parse_datetime(text.strip()) if text else None
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


# --- the police watch-list ----------------------------------------------------------------


def _police_only(request: HttpRequest) -> None:
    if not is_police(request.user) or not can(request.user, READ, "watchlist"):
        raise Http404  # a school role never learns the page exists


@login_required
def watchlist(request: HttpRequest) -> HttpResponse:
    _police_only(request)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "end":
                entry = get_visible_or_404(
                    WatchlistEntry, request.user, pk=_int(request.POST.get("entry"), 0)
                )
                services.end_entry(entry, by=request.user)
                messages.success(request, _("The entry was ended."))
                return redirect("gate:watchlist")
            station = _station_for(request)
            now = clock.now()
            services.create_entry(
                by=request.user,
                station=station,
                name=request.POST.get("name", ""),
                reason=request.POST.get("reason", ""),
                document_kind=request.POST.get("document_kind", "id_card"),
                document_number=request.POST.get("document_number", ""),
                birth_date=parse_date(request.POST.get("birth_date", "") or ""),
                plate=request.POST.get("plate", ""),
                note=request.POST.get("note", ""),
                valid_from=now,
                valid_until=now
                + dt.timedelta(days=min(max(1, _int(request.POST.get("days"), 90)), 3650)),
            )
            messages.success(request, _("The person was put on the watch-list."))
            return redirect("gate:watchlist")
        except services.NotAllowed:
            raise PermissionDenied from None
        except services.GateError as exc:
            error = str(exc)
    entries = (
        WatchlistEntry.objects.visible_to(request.user)
        .select_related("station")
        .order_by("-created_at", "-pk")
    )
    page, page_links = listing.paginate(request, entries)
    rows = list(page.object_list)
    services.audit_read(request.user, "watchlist", len(rows))
    hits = list(
        WatchlistHit.objects.visible_to(request.user)
        .select_related("school", "entry")
        .order_by("-at")[:20]
    )
    return render(
        request,
        "gate/watchlist.html",
        {
            "rows": rows,
            "page": page,
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "hits": hits,
            "reasons": WatchlistEntry.Reason.choices,
            "kinds": DocumentKind.choices,
            "may_write": can(request.user, WRITE, "watchlist"),
            "error": error,
            "now": clock.now(),
            "post": request.POST,
        },
    )


def _station_for(request: HttpRequest) -> Organisation:
    pk = _int(request.POST.get("station"), 0)
    station = Organisation.objects.filter(pk=pk).select_related("region").first()
    return services.responsible_station(request.user, station)


@login_required
@require_POST
def reveal_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """One watch-list entry's name and document in clear, for the police, audited."""
    _police_only(request)
    entry = get_visible_or_404(WatchlistEntry, request.user, pk=pk)
    services.audit_read(request.user, "entry", 1, entry)
    return render(request, "gate/_entry_revealed.html", {"entry": entry})


# --- the guardian's own link (no sign-in) ----------------------------------------------


def guardian(request: HttpRequest) -> HttpResponse:
    """A guardian opens the signed link the school sent: sees who may collect their
    child (names masked), confirms the list, or asks for a delegate (the school
    approves). Any link that is not valid gets the same 404 page."""
    token = request.GET.get("t", "")
    try:
        link = services.guardian_link(token)
    except services.GateError as exc:
        return render(request, "gate/guardian.html", {"error": str(exc)}, status=404)
    message, status = None, 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "confirm":
                services.guardian_confirm(link)
                message = _("Thank you: the list is confirmed.")
            else:
                services.guardian_add_delegate(
                    link,
                    name=request.POST.get("name", ""),
                    relation=request.POST.get("relation", ""),
                    phone=request.POST.get("phone", ""),
                    document_number=request.POST.get("document_number", ""),
                )
                message = _("Sent to the school: the person may collect your child once approved.")
        except services.GateError as exc:
            message, status = str(exc), 400
    student = link.person.student
    return render(
        request,
        "gate/guardian.html",
        {
            "link": link,
            "student": student,
            "persons": student.pickup_persons.filter(is_active=True),
            "relations": PickupPerson.Relation.choices,
            "message": message,
            "failed": status == 400,
        },
        status=status,
    )


# --- district and city statistics ---------------------------------------------------------


@login_required
@role_required("visitors")
@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    """Visits, releases, refused pick-ups and (for the police) watch-list hits per
    district and per day, over the reader's scope (the same visible_to as the
    registers); 7 days to today unless ``from``/``to`` say otherwise."""
    from django.db.models import Count, Q
    from django.db.models.functions import TruncDate

    today = timezone.localtime(clock.now()).date()
    if not request.GET.get("from"):
        start, end = today - dt.timedelta(days=6), today
    else:
        start, end = _day_range(request)
    low, high = _bounds(start, end)
    zone = timezone.get_current_timezone()
    user = request.user
    police = is_police(user)
    visits = Visit.objects.visible_to(user).filter(checked_in_at__gte=low, checked_in_at__lt=high)
    pickups = Pickup.objects.visible_to(user).filter(at__gte=low, at__lt=high)
    if not can(user, READ, "pickups"):
        pickups = pickups.none()
    hits = WatchlistHit.objects.visible_to(user).filter(at__gte=low, at__lt=high)
    refused = ~Q(outcome=Pickup.Outcome.RELEASED)
    district = ("school__region__code", "school__region__name")
    rows: dict[str, dict[str, Any]] = {}

    def cell(code: str, name: str) -> dict[str, Any]:
        return rows.setdefault(
            code, {"name": name, "visits": 0, "released": 0, "refused": 0, "hits": 0}
        )

    for code, name, n in visits.values_list(*district).annotate(n=Count("pk")):
        cell(code, name)["visits"] = n
    for code, name, released, bad in pickups.values_list(*district).annotate(
        released=Count("pk", filter=Q(outcome=Pickup.Outcome.RELEASED)),
        bad=Count("pk", filter=refused),
    ):
        cell(code, name).update(released=released, refused=bad)
    if police:
        for code, name, n in hits.values_list(*district).annotate(n=Count("pk")):
            cell(code, name)["hits"] = n
    days: dict[dt.date, dict[str, int]] = {
        start + dt.timedelta(days=i): {"visits": 0, "released": 0, "refused": 0, "hits": 0}
        for i in range((end - start).days + 1)
    }
    for day, n in visits.values_list(TruncDate("checked_in_at", tzinfo=zone)).annotate(
        n=Count("pk")
    ):
        days[day]["visits"] = n
    for day, released, bad in pickups.values_list(TruncDate("at", tzinfo=zone)).annotate(
        released=Count("pk", filter=Q(outcome=Pickup.Outcome.RELEASED)),
        bad=Count("pk", filter=refused),
    ):
        days[day].update(released=released, refused=bad)
    if police:
        for day, n in hits.values_list(TruncDate("at", tzinfo=zone)).annotate(n=Count("pk")):
            days[day]["hits"] = n
    districts = sorted(rows.values(), key=lambda r: r["name"])
    total = {k: sum(r[k] for r in districts) for k in ("visits", "released", "refused", "hits")}
    return render(
        request,
        "gate/stats.html",
        {
            "start": start,
            "end": end,
            "districts": districts,
            "days": sorted(days.items()),
            "total": total,
            "police": police,
            "show_pickups": can(user, READ, "pickups"),
        },
    )
