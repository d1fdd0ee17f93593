"""训诫教育 pages: the list (masked names), recording on a phone, the record behind a
stated reason, follow-ups, the sealed-record search and the two-person unseal, the
watermarked export and the statistics without names."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import EXPORT, WRITE, can
from campus_safety.linkage import discipline, lists
from campus_safety.linkage.forms import (
    DisciplineForm,
    FollowUpForm,
    ReasonForm,
    SealedSearchForm,
)
from campus_safety.linkage.models import DisciplineRecord, FollowUp, UnsealRequest
from campus_safety.linkage.services import NotAllowed
from campus_safety.linkage.views import _add_errors
from campus_safety.orgs.models import School
from campus_safety.scoping import is_police
from campus_safety.spreadsheets import safe_cell

RESOURCE = "discipline"


@login_required
@role_required(RESOURCE)
def record_list(request: HttpRequest) -> HttpResponse:
    """The records the user is a reader of, paged: masked names, no facts; each page
    audited as a read; ``?export=xlsx`` all of them, watermarked."""
    visible = (
        DisciplineRecord.objects.visible_to(request.user)
        .select_related("school")
        .prefetch_related("follow_ups")
    )
    if lists.wants_export(request):
        return _export(request, visible)
    paged = lists.paged(request, visible)
    records = list(paged.rows)
    discipline.audit_list(request.user, len(records))
    today = timezone.localdate(clock.now())
    rows = []
    for record in records:
        open_ups = [f for f in record.follow_ups.all() if f.done_at is None]
        rows.append(
            {
                "record": record,
                "masked": discipline.mask_name(record.student_name),
                "next_follow_up": open_ups[0].due_on if open_ups else None,
                "overdue": bool(open_ups and open_ups[0].due_on < today),
            }
        )
    return render(
        request,
        "linkage/discipline_list.html",
        {
            "rows": rows,
            "paged": paged,
            "may_write": can(request.user, WRITE, RESOURCE) and is_police(request.user),
            "may_export": can(request.user, EXPORT, RESOURCE),
            "is_police": is_police(request.user),
            "pending": discipline.pending_unseals(request.user),
            "stats": discipline.statistics(discipline.statistics_scope(request.user))
            if is_police(request.user)
            else None,
        },
    )


def _export(request: HttpRequest, visible: QuerySet) -> HttpResponse:
    """An .xlsx of the user's records (all of them, not the page; at most
    ``lists.EXPORT_MAX_ROWS``), every sheet marked with the reader and time in its
    header, footer and first row (a leaked copy names who exported it)."""
    if not can(request.user, EXPORT, RESOURCE):
        raise PermissionDenied
    records = visible[: lists.EXPORT_MAX_ROWS]
    from openpyxl import Workbook

    now = timezone.localtime(clock.now())
    mark = _("Exported by %(user)s (%(name)s) at %(time)s — minors' records, do not pass on") % {
        "user": request.user.get_username(),
        "name": str(request.user),
        "time": f"{now:%Y-%m-%d %H:%M}",
    }
    book = Workbook()
    sheet = book.active
    sheet.title = _("Discipline")
    sheet.oddHeader.center.text = mark
    sheet.oddFooter.center.text = mark
    sheet.append([mark])
    sheet.append(
        [
            _("Reference"),
            _("School"),
            _("Student"),
            _("Class"),
            _("Behaviour"),
            _("Measures"),
            _("Recorded"),
        ]
    )
    count = 0
    for record in records:
        count += 1
        sheet.append(
            [
                safe_cell(record.reference),
                safe_cell(record.school.name),
                discipline.mask_name(record.student_name),
                safe_cell(record.class_name),
                str(record.get_behaviour_display()),
                "、".join(record.measure_labels()),
                f"{timezone.localtime(record.created_at):%Y-%m-%d}",
            ]
        )
    out = io.BytesIO()
    book.save(out)
    from campus_safety.audit import services as audit

    audit.record("discipline.export", None, user=request.user, detail={"rows": count})
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="discipline.xlsx"'
    return response


@login_required
@role_required(RESOURCE, action=WRITE)
def record_new(request: HttpRequest) -> HttpResponse:
    """An officer records a 训诫 (phone-friendly: one column)."""
    if not is_police(request.user):
        raise PermissionDenied
    schools = School.objects.visible_to(request.user).order_by("name")
    school_id = request.POST.get("school") or request.GET.get("school")
    school = schools.filter(pk=school_id).first() if str(school_id or "").isdigit() else None
    if school is None:
        q = request.GET.get("q", "").strip()[:60]
        paged = lists.paged(request, schools.filter(name__icontains=q) if q else schools)
        return render(
            request,
            "linkage/discipline_pick_school.html",
            {"schools": paged.rows, "paged": paged, "q": q},
        )
    form = DisciplineForm(request.POST or None, contacts=discipline.designated_contacts(school))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                record = discipline.record_discipline(
                    request.user,
                    school=school,
                    student_name=data["student_name"],
                    class_name=data["class_name"],
                    age=data["age"],
                    level=data["level"],
                    behaviour=data["behaviour"],
                    facts=data["facts"],
                    occurred_on=data["occurred_on"],
                    guardian=data["guardian"],
                    measures=data["measures"],
                    designated_contact=data["designated_contact"],
                    follow_up_dates=[data["follow_up_on"]] if data["follow_up_on"] else [],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            except NotAllowed as exc:
                form.add_error(None, str(exc))
                status = 403
            else:
                messages.success(request, _("Record %(ref)s saved.") % {"ref": record.reference})
                return redirect("linkage:discipline")
    return render(
        request, "linkage/discipline_form.html", {"form": form, "school": school}, status=status
    )


@login_required
@role_required(RESOURCE)
def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The record, only after the reader states why (audited); without a reason a form
    asks for one. A record the user is not a reader of is a 404 either way."""
    discipline.readable_or_404(request.user, pk)
    form = ReasonForm(request.GET if "reason" in request.GET else None)
    if not form.is_valid():
        return render(request, "linkage/discipline_reason.html", {"form": form, "pk": pk})
    record = discipline.read_record(request.user, pk, form.cleaned_data["reason"])
    return render(
        request,
        "linkage/discipline_detail.html",
        {
            "record": record,
            "reason": form.cleaned_data["reason"],
            "follow_ups": record.follow_ups.select_related("done_by"),
            "officers": record.officers.all(),
            "may_follow_up": can(request.user, WRITE, RESOURCE) and is_police(request.user),
            "follow_up_form": FollowUpForm(),
        },
    )


@login_required
@role_required(RESOURCE, action=WRITE)
def guardian_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """告监护人书 — the read-only notice the guardian is handed (printed): the measure and
    the follow-up visits, no facts about other children; police readers of the record
    only, the print audited with its reason."""
    if not is_police(request.user):
        raise Http404
    if not DisciplineRecord.objects.visible_to(request.user).filter(pk=pk).exists():
        raise Http404
    form = ReasonForm(request.GET if "reason" in request.GET else None)
    if not form.is_valid():
        return render(request, "linkage/discipline_reason.html", {"form": form, "pk": pk})
    record = discipline.read_record(
        request.user, pk, _("Guardian notice: %s") % form.cleaned_data["reason"]
    )
    return render(
        request,
        "linkage/guardian_notice.html",
        {"record": record, "follow_ups": record.follow_ups.all(), "today": clock.now()},
    )


@login_required
@require_POST
@role_required(RESOURCE, action=WRITE)
def follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = FollowUp.objects.filter(pk=pk).select_related("record").first()
    if (
        follow_up is None
        or not DisciplineRecord.objects.visible_to(request.user)
        .filter(pk=follow_up.record_id)
        .exists()
    ):
        raise Http404
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Say what came of the visit."), status=400)
    try:
        discipline.record_follow_up(request.user, follow_up, form.cleaned_data["outcome"])
    except NotAllowed as exc:
        return HttpResponse(str(exc), status=403)
    messages.success(request, _("Follow-up recorded."))
    return redirect("linkage:discipline")


@login_required
@role_required(RESOURCE)
def sealed_search(request: HttpRequest) -> HttpResponse:
    """Sealed records: police of the station only, with a reason; references only."""
    if not is_police(request.user):
        raise PermissionDenied
    form = SealedSearchForm(request.POST or None)
    mine = lists.paged(
        request, UnsealRequest.objects.filter(requested_by=request.user).select_related("record")
    )
    found = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                found = discipline.search_sealed(request.user, **form.cleaned_data)
                status = 200
            except ValidationError as exc:
                _add_errors(form, exc)
            except NotAllowed as exc:
                form.add_error(None, str(exc))
                status = 403
    return render(
        request,
        "linkage/discipline_sealed.html",
        {
            "form": form,
            "found": found,
            "mine": mine.rows,
            "paged": mine,
            "pending": discipline.pending_unseals(request.user),
            "now": clock.now(),
        },
        status=status,
    )


@login_required
@require_POST
@role_required(RESOURCE)
def unseal_request(request: HttpRequest, pk: int) -> HttpResponse:
    record = DisciplineRecord.objects.filter(pk=pk, sealed_at__isnull=False).first()
    station = getattr(request.user, "organisation_id", None)
    if record is None or record.station_id != station:
        raise Http404
    try:
        discipline.request_unseal(request.user, record, request.POST.get("reason", ""))
    except NotAllowed as exc:
        return HttpResponse(str(exc), status=403)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    messages.success(request, _("Request sent: a second officer must approve it."))
    return redirect("linkage:sealed")


@login_required
@require_POST
@role_required(RESOURCE, action=WRITE)
def unseal_approve(request: HttpRequest, pk: int) -> HttpResponse:
    unseal = discipline.pending_unseals(request.user).filter(pk=pk).first()
    if unseal is None:
        raise Http404
    try:
        discipline.approve_unseal(request.user, unseal)
    except NotAllowed as exc:
        return HttpResponse(str(exc), status=403)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=409)
    messages.success(
        request, _("Approved: the record is open to the requester for a limited time.")
    )
    return redirect("linkage:sealed")
