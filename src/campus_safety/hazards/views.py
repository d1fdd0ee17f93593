"""Hazard pages (隐患与治安乱点): the list with filters and Excel export, the report form
(phone-friendly, with photos and the phone's position), a hazard's page with its
timeline, photos and the steps the user may take, the trouble-spot map, and the
inspection campaigns with their checklists.

Every page reaches hazards through ``visible_to`` (out of scope = 404) and asks the
role table; what a user may do to one hazard is ``services.allowed_steps``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import EXPORT, READ, WRITE, can
from campus_safety.audit.services import record
from campus_safety.hazards import campaigns, exports, map_layer, services, statistics
from campus_safety.hazards.filters import HazardFilter
from campus_safety.hazards.forms import (
    AssignForm,
    CampaignForm,
    ChecklistForm,
    ReportForm,
    StepForm,
    end_of_day,
)
from campus_safety.hazards.models import Campaign, Checklist, Hazard, HazardEvent, HazardPhoto
from campus_safety.orgs import map_data
from campus_safety.orgs.models import School
from campus_safety.scoping import get_visible_or_404
from campus_safety.web import listing

RESOURCE = "hazards"
SORTABLE = ("reference", "reported", "deadline", "severity", "status", "school")
Step = HazardEvent.Step


def _visible(request: HttpRequest) -> QuerySet[Hazard]:
    return Hazard.objects.visible_to(request.user)


def _get_hazard(request: HttpRequest, pk: int) -> Hazard:
    """The hazard if the user may see it; 404 otherwise (never a 403 that confirms it)."""
    return get_visible_or_404(
        Hazard.objects.select_related(
            "school__region",
            "school__police_station",
            "responsible_organisation",
            "escalated_to",
            "reported_by",
            "assigned_by",
            "submitted_by",
            "verified_by",
            "closed_by",
            "checklist_answer__checklist__campaign",
        ),
        request.user,
        pk=pk,
    )


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(" ".join(v) for v in exc.message_dict.values())
    return "; ".join(exc.messages)


# --- the list -----------------------------------------------------------------------------------


def _hazard_filter(request: HttpRequest) -> HazardFilter:
    visible = _visible(request).select_related(
        "school__region", "responsible_organisation", "escalated_to"
    )
    filterset = HazardFilter(request.GET, queryset=visible, request=request)
    form = listing.tidy_filter_form(filterset.form)
    form.fields["region"].queryset = map_data.county_regions_of(
        School.objects.visible_to(request.user)
    ).order_by("code")
    return filterset


@login_required
@role_required(RESOURCE)
@require_GET
def hazard_list(request: HttpRequest) -> HttpResponse:
    filterset = _hazard_filter(request)
    if not filterset.is_valid():
        return HttpResponse(
            _("Invalid filter: %(errors)s") % {"errors": filterset.errors.as_text()}, status=400
        )
    hazards = filterset.qs
    hazards = hazards.order_by(*(hazards.query.order_by or ("-reported_at",)), "-pk")
    if request.GET.get("export") == "xlsx":
        if not can(request.user, EXPORT, RESOURCE):
            raise PermissionDenied
        record("export.hazards", detail={"filters": request.GET.dict()})
        return exports.xlsx_response(hazards)
    page, page_links = listing.paginate(request, hazards)
    now = clock.now()
    rows = list(page.object_list)
    for hazard in rows:
        hazard.overdue = hazard.is_overdue_at(now)
    return listing.render_list(
        request,
        "hazards/hazard_list.html",
        "hazards/_hazard_table.html",
        {
            "filter": filterset,
            "page": page,
            "rows": rows,
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "headers": listing.sort_headers(request, SORTABLE),
            "ordering": request.GET.get("ordering", ""),
            "selected_statuses": request.GET.getlist("status"),
            "counts": statistics.status_counts(hazards, now),
            "may_write": can(request.user, WRITE, RESOURCE),
            "may_export": can(request.user, EXPORT, RESOURCE),
            "now": now,
        },
    )


# --- reporting ----------------------------------------------------------------------------------


@login_required
@role_required(RESOURCE, action=WRITE)
def hazard_report(request: HttpRequest) -> HttpResponse:
    """报告隐患: the form, and on POST the new hazard (400 with every reason if not)."""
    schools = School.objects.visible_to(request.user).order_by("name")
    form = ReportForm(request.POST or None, request.FILES or None, user=request.user,
                      schools=schools, initial={"kind": Hazard.Kind.INTERNAL})  # fmt: skip
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                hazard = services.report_hazard(
                    request.user,
                    school=data["school"],
                    kind=data["kind"],
                    title=data["title"],
                    category=data["category"],
                    severity=data["severity"],
                    source=data["source"],
                    description=data["description"],
                    key_area=data["key_area"],
                    facility=data["facility"],
                    spot_kind=data["spot_kind"],
                    location=data["location"],
                    distance_m=data["distance_m"],
                    longitude=data["longitude"],
                    latitude=data["latitude"],
                    citizen_name=data["citizen_name"],
                    citizen_phone=data["citizen_phone"],
                    photos=data["photos"],
                    strip_location=data["strip_location"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            except services.NotAllowed as exc:
                form.add_error(None, str(exc))
                status = 403
            else:
                messages.success(request, _("Hazard %(ref)s reported.") % {"ref": hazard.reference})
                return redirect("hazards:detail", pk=hazard.pk)
    return render(request, "hazards/report.html", {"form": form}, status=status)


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- one hazard ---------------------------------------------------------------------------------


def _detail_context(request: HttpRequest, hazard: Hazard) -> dict[str, Any]:
    events = list(
        hazard.events.select_related("by", "organisation").prefetch_related(
            Prefetch("photos", HazardPhoto.objects.order_by("pk"))
        )
    )
    photos = list(hazard.photos.order_by("uploaded_at", "pk"))
    steps = services.allowed_steps(request.user, hazard)
    now = clock.now()
    return {
        "hazard": hazard,
        "events": events,
        "found_photos": [p for p in photos if p.stage == HazardPhoto.Stage.FOUND],
        "evidence_photos": [p for p in photos if p.stage == HazardPhoto.Stage.EVIDENCE],
        "steps": steps,
        "assign_form": AssignForm(
            initial={
                "responsible_kind": Hazard.Responsible.POLICE_STATION
                if hazard.kind == Hazard.Kind.SURROUNDING
                else Hazard.Responsible.SCHOOL,
                "organisation": hazard.school.police_station_id,
            }
        )
        if steps & {Step.ASSIGNED, Step.REASSIGNED}
        else None,
        "step_form": StepForm(),
        "overdue": hazard.is_overdue_at(now),
        "now": now,
        "may_add_photos": hazard.is_open
        and (
            services.may_rectify(request.user, hazard) or request.user.pk == hazard.reported_by_id
        ),
        "deadline_days": services.deadline_days(hazard.severity),
    }


@login_required
@role_required(RESOURCE)
@require_GET
def hazard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    hazard = _get_hazard(request, pk)
    return render(request, "hazards/hazard_detail.html", _detail_context(request, hazard))


def _run_step(request: HttpRequest, hazard: Hazard, step: str) -> None:
    """Parse the posted step and call its service (raises what the service raises)."""
    user = request.user
    if step in (Step.ASSIGNED, Step.REASSIGNED):
        form = AssignForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        data = form.cleaned_data
        services.assign_hazard(
            hazard,
            user,
            responsible_kind=data["responsible_kind"],
            organisation=data["organisation"],
            department=data["department"],
            deadline=end_of_day(data["deadline"]),
            note=data["note"],
        )
        return
    form = StepForm(request.POST, request.FILES)
    if not form.is_valid():
        raise ValidationError(_form_errors(form))
    data = form.cleaned_data
    note, photos, strip = data["note"], data["photos"], data["strip_location"]
    if step == Step.STARTED:
        services.start_rectification(hazard, user, note)
    elif step == Step.PROGRESS:
        services.record_progress(hazard, user, note, photos, strip)
    elif step == Step.SUBMITTED:
        services.submit_fix(hazard, user, note, photos, strip)
    elif step == Step.VERIFIED:
        services.verify_fix(hazard, user, note)
    elif step == Step.RETURNED:
        services.return_fix(hazard, user, note, end_of_day(data["deadline"]))
    elif step == Step.CLOSED:
        services.close_hazard(hazard, user, note)
    elif step == Step.DISMISSED:
        services.dismiss_hazard(hazard, user, note)
    elif step == "photos":
        services.add_photos(hazard, user, photos, strip)
    else:
        raise ValidationError({"step": _("Unknown step.")})


def _form_errors(form: Any) -> dict[str, list[str]]:
    return {field: [str(e) for e in errors] for field, errors in form.errors.items()}


@login_required
@role_required(RESOURCE)
@require_POST
def hazard_step(request: HttpRequest, pk: int) -> HttpResponse:
    """One workflow step from the hazard page; on refusal the page again, with the
    reason and a 400 (bad input), 403 (not yours to do) or 409 (wrong state)."""
    hazard = _get_hazard(request, pk)
    step = request.POST.get("step", "")
    try:
        _run_step(request, hazard, step)
    except ValidationError as exc:
        error, status = _error_text(exc), 400
    except services.NotAllowed as exc:
        error, status = str(exc), 403
    except services.InvalidTransition as exc:
        error, status = str(exc), 409
    else:
        label = _("Photos added") if step == "photos" else Step(step).label
        messages.success(
            request, _("%(step)s: %(ref)s.") % {"step": label, "ref": hazard.reference}
        )
        return redirect("hazards:detail", pk=hazard.pk)
    hazard = _get_hazard(request, pk)
    context = {**_detail_context(request, hazard), "error": error}
    return render(request, "hazards/hazard_detail.html", context, status=status)


@login_required
@role_required(RESOURCE)
@require_GET
def photo(request: HttpRequest, pk: int) -> FileResponse:
    """A hazard photo, to users who may see the hazard (private cache, never sniffed)."""
    row = get_visible_or_404(HazardPhoto, request.user, pk=pk)
    try:
        handle = row.image.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=row.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="{row.hazard_id}-{row.pk}.{row.extension}"'
    return response


# --- the map ------------------------------------------------------------------------------------


@login_required
@role_required(RESOURCE)
@require_GET
def hazard_map(request: HttpRequest) -> HttpResponse:
    regions = map_data.county_regions_of(School.objects.visible_to(request.user))
    config = {
        **map_layer.layer_config(),
        "tiles": map_data.tile_layer(),
        "districts": map_data.district_outlines(regions),
    }
    spots = _visible(request).filter(kind=Hazard.Kind.SURROUNDING)
    return render(
        request,
        "hazards/map.html",
        {"config": config, "counts": statistics.status_counts(spots)},
    )


@login_required
@role_required(RESOURCE)
@require_GET
def hazard_map_data(request: HttpRequest) -> JsonResponse:
    """``/hazards/map.geojson``: trouble spots in scope and their schools."""
    return JsonResponse(
        map_layer.spot_features(_visible(request), clock.now()),
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
        content_type="application/geo+json",
    )


# --- campaigns ----------------------------------------------------------------------------------


@login_required
@role_required("campaigns")
def campaign_list(request: HttpRequest) -> HttpResponse:
    may_write = can(request.user, WRITE, "campaigns")
    schools = School.objects.visible_to(request.user).order_by("name")
    form = (
        CampaignForm(request.POST or None, user=request.user, schools=schools)
        if may_write
        else None
    )
    status = 200
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                campaign = campaigns.create_campaign(
                    request.user,
                    name=data["name"],
                    template=data["template"],
                    schools=data["schools"],
                    starts_on=data["starts_on"],
                    due_on=data["due_on"],
                    description=data["description"],
                    source=data["source"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("Campaign started."))
                return redirect("hazards:campaign_detail", pk=campaign.pk)
    mine = Checklist.objects.visible_to(request.user)
    rows = (
        Campaign.objects.visible_to(request.user)
        .annotate(
            schools=Count("checklists", filter=Q(checklists__in=mine.values("pk")), distinct=True),
            answered=Count(
                "checklists",
                filter=Q(checklists__in=mine.values("pk"), checklists__status="submitted"),
                distinct=True,
            ),
        )
        .order_by("-starts_on", "-pk")
    )
    page, page_links = listing.paginate(request, rows)
    return render(
        request,
        "hazards/campaign_list.html",
        {
            "page": page,
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "form": form,
            "templates": campaigns.checklists.TEMPLATES.values(),
        },
        status=status,
    )


@login_required
@role_required("campaigns")
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_visible_or_404(Campaign, request.user, pk=pk)
    rows = (
        Checklist.objects.visible_to(request.user)
        .filter(campaign=campaign)
        .select_related("school__region", "submitted_by")
        .annotate(
            hazards=Count("answers", filter=Q(answers__answer="no")),
        )
        .order_by("status", "school__name")
    )
    page, page_links = listing.paginate(request, rows)
    return render(
        request,
        "hazards/campaign_detail.html",
        {
            "campaign": campaign,
            "template": campaigns.checklists.TEMPLATES.get(campaign.template),
            "page": page,
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "hazard_list_url": reverse("hazards:list"),
        },
    )


@login_required
@role_required("campaigns")
def checklist_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer a checklist (each "no" opens a hazard), or read the answers given."""
    checklist = get_visible_or_404(
        Checklist.objects.select_related("campaign", "school"), request.user, pk=pk
    )
    may_answer = checklist.status == Checklist.Status.PENDING and campaigns.may_answer(
        request.user, checklist
    )
    items = campaigns.checklist_items(checklist)
    form = ChecklistForm(request.POST or None, items=items) if may_answer else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        status = 400
        if form.is_valid():
            try:
                opened = campaigns.answer_checklist(checklist, request.user, form.answers())
            except ValidationError as exc:
                for code, errors in exc.message_dict.items():
                    key = f"note_{code}" if f"note_{code}" in form.fields else None
                    form.add_error(key, errors)
            except services.NotAllowed as exc:
                form.add_error(None, str(exc))
                status = 403
            else:
                messages.success(
                    request,
                    _("Checklist answered: %(n)s hazards opened.") % {"n": len(opened)},
                )
                return redirect("hazards:checklist", pk=checklist.pk)
    answers = list(checklist.answers.select_related("hazard").order_by("pk"))
    return render(
        request,
        "hazards/checklist.html",
        {
            "checklist": checklist,
            "form": form,
            "answers": answers,
            "may_read_hazards": can(request.user, READ, RESOURCE),
        },
        status=status,
    )
