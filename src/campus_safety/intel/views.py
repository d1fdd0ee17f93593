"""Intel pages: the analyst's home (today's alerts, the incident density map), an alert
(cluster, time series, map, schools, incidents; acknowledge → assess → close, or start a
special operation), incidents, leads and the citizen tip form, groups, operations and the
risk list.

Persons' data is shown masked and only to police roles (``incidents``/``leads``); the
education bureau reaches alerts and the risk list of its schools, never persons."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections import Counter
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campus_safety import chart_specs, clock, spreadsheets
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import EXPORT, IMPORT, READ, REVEAL, WRITE, can
from campus_safety.audit.actor import client_ip
from campus_safety.audit.services import record
from campus_safety.intel import dispatch_import as dispatch_import_module
from campus_safety.intel import services
from campus_safety.intel.effect import operation_effect
from campus_safety.intel.forms import (
    DispatchImportForm,
    IncidentEditForm,
    IncidentForm,
    LeadStepForm,
    OperationEntryForm,
    OperationForm,
    PersonFormSet,
    RevealForm,
    TipForm,
)
from campus_safety.intel.geo import SchoolPoints, km_between
from campus_safety.intel.models import (
    Alert,
    DispatchSource,
    Group,
    Incident,
    IncidentKind,
    Lead,
    Operation,
    Person,
)
from campus_safety.intel.risk import KIND_WEIGHTS, group_ranking, risk_ranking
from campus_safety.orgs import map_data
from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.scoping import covers_region, get_visible_or_404, is_police
from campus_safety.spreadsheets import ImportFileError
from campus_safety.web import listing


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(" ".join(v) for v in exc.message_dict.values())
    return "; ".join(exc.messages)


def _map_config(request: HttpRequest) -> dict[str, Any]:
    regions = map_data.county_regions_of(School.objects.visible_to(request.user))
    return {"tiles": map_data.tile_layer(), "districts": map_data.district_outlines(regions)}


def density_cells(incidents, cell_deg: float = 0.01) -> list[list[float]]:
    """Incident counts on a ~1 km grid: [south, west, count] per non-empty cell."""
    counts: Counter = Counter()
    for lat, lon in incidents.values_list("latitude", "longitude"):
        counts[(int(lat // cell_deg), int(lon // cell_deg))] += 1
    return [[a * cell_deg, b * cell_deg, n] for (a, b), n in counts.items()]


def _alert_circle(alert: Alert) -> dict[str, Any]:
    return {
        "lat": alert.latitude,
        "lon": alert.longitude,
        "radius": max(alert.radius_m, 100),
        "label": f"{alert.reference} · {alert.get_kind_display() or _('All kinds')}",
        "url": f"/intel/alerts/{alert.pk}/",
        "open": alert.is_open,
    }


@login_required
@role_required("intel_alerts")
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """研判预警: today's open alerts first, then the map."""
    alerts = Alert.objects.visible_to(request.user).select_related("school", "region")
    open_alerts = list(alerts.filter(status__in=Alert.OPEN_STATUSES)[:50])
    today = timezone.localtime(clock.now()).date()
    may_incidents = can(request.user, READ, "incidents")
    config = _map_config(request)
    config["circles"] = [_alert_circle(a) for a in open_alerts]
    counts: dict[str, int] = {
        "alerts_open": len(open_alerts),
        "alerts_today": alerts.filter(scan_date=today).count(),
    }
    if may_incidents:
        since = clock.now() - dt.timedelta(days=90)
        recent = Incident.objects.visible_to(request.user).filter(occurred_at__gte=since)
        config["density"] = density_cells(recent)
        counts["incidents_90d"] = recent.count()
        counts["open_leads"] = (
            Lead.objects.visible_to(request.user).filter(status__in=Lead.OPEN_STATUSES).count()
        )
    return render(
        request,
        "intel/home.html",
        {
            "open_alerts": open_alerts,
            "counts": counts,
            "config": config,
            "may_incidents": may_incidents,
            "today": today,
        },
    )


def _daily_series(alert: Alert, days: int = 30) -> dict[str, Any]:
    """Incidents per day inside the alert's circle, the last ``days`` days."""
    end = alert.window_end
    start = end - dt.timedelta(days=days - 1)
    qs = Incident.objects.filter(
        occurred_at__gte=timezone.make_aware(dt.datetime.combine(start, dt.time.min)),
        occurred_at__lte=timezone.make_aware(dt.datetime.combine(end, dt.time.max)),
    )
    if alert.kind:
        qs = qs.filter(kind=alert.kind)
    # a bounding box first, then the exact distance
    box = alert.radius_m / 1000 / 111.0 + 0.01
    qs = qs.filter(
        latitude__range=(alert.latitude - box, alert.latitude + box),
        longitude__range=(alert.longitude - box * 1.4, alert.longitude + box * 1.4),
    )
    per_day: Counter = Counter()
    for when, lat, lon in qs.values_list("occurred_at", "latitude", "longitude"):
        if km_between(alert.latitude, alert.longitude, lat, lon) * 1000 <= alert.radius_m + 100:
            per_day[timezone.localtime(when).date()] += 1
    labels = [(start + dt.timedelta(days=i)) for i in range(days)]
    return chart_specs.bars(
        [d.strftime("%m-%d") for d in labels],
        [{"name": _("Incidents"), "data": [per_day[d] for d in labels]}],
    )


@login_required
@role_required("intel_alerts")
@require_GET
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_visible_or_404(
        Alert.objects.select_related(
            "school", "region", "police_station", "acknowledged_by", "assessed_by", "closed_by"
        ),
        request.user,
        pk=pk,
    )
    may_incidents = can(request.user, READ, "incidents")
    config = _map_config(request)
    config["circles"] = [_alert_circle(alert)]
    config["focus"] = True
    incidents = []
    if may_incidents:
        incidents = list(alert.incidents.order_by("-occurred_at"))
        config["points"] = [[i.latitude, i.longitude, i.reference] for i in incidents]
    return render(
        request,
        "intel/alert_detail.html",
        {
            "alert": alert,
            "schools": alert.schools.select_related("region").order_by("name"),
            "incidents": incidents,
            "may_incidents": may_incidents,
            "may_write": can(request.user, WRITE, "intel_alerts"),
            "may_operate": can(request.user, WRITE, "operations"),
            "chart": _daily_series(alert),
            "config": config,
            "operations": alert.operations.all(),
        },
    )


@login_required
@role_required("intel_alerts", action=WRITE)
@require_POST
def alert_step(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_visible_or_404(Alert.objects.all(), request.user, pk=pk)
    try:
        services.advance_alert(
            alert,
            request.POST.get("action", ""),
            user=request.user,
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Alert updated."))
    return redirect("intel:alert", pk=alert.pk)


@login_required
@role_required("operations", action=WRITE)
@require_POST
def alert_operation(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_visible_or_404(Alert.objects.all(), request.user, pk=pk)
    try:
        operation = services.operation_from_alert(alert, user=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("intel:alert", pk=alert.pk)
    messages.success(request, _("Special operation started."))
    return redirect("intel:operation", pk=operation.pk)


# --- incidents -------------------------------------------------------------------------


def _incident_rows(request: HttpRequest):
    qs = Incident.objects.visible_to(request.user).select_related("school", "region")
    kind = request.GET.get("kind", "")
    if kind in IncidentKind.values:
        qs = qs.filter(kind=kind)
    status = request.GET.get("status", "")
    if status in Incident.Status.values:
        qs = qs.filter(status=status)
    q = request.GET.get("q", "").strip()[:80]
    if q:
        qs = qs.filter(
            Q(reference__icontains=q) | Q(address__icontains=q) | Q(school__name__icontains=q)
        )
    return qs


def _xlsx(headers: list[str], rows: list[list[Any]], name: str) -> HttpResponse:
    from openpyxl import Workbook

    from campus_safety.spreadsheets import safe_cell

    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


@login_required
@role_required("incidents")
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    qs = _incident_rows(request)
    if request.GET.get("export") == "xlsx":
        if not can(request.user, EXPORT, "incidents"):
            raise PermissionDenied
        record("export.intel_incidents", detail={"filters": request.GET.dict()})
        return _xlsx(
            [_("Reference"), _("Kind"), _("Occurred"), _("Address"), _("School"), _("Status")],
            [
                [
                    i.reference,
                    i.get_kind_display(),
                    timezone.localtime(i.occurred_at).strftime("%Y-%m-%d %H:%M"),
                    i.address,
                    i.school.name if i.school else "",
                    i.get_status_display(),
                ]
                for i in qs[:20000]
            ],
            "incidents",
        )
    page, page_links = listing.paginate(request, qs)
    return render(
        request,
        "intel/incident_list.html",
        {
            "page": page,
            "rows": page.object_list,
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "kinds": IncidentKind.choices,
            "statuses": Incident.Status.choices,
            "may_export": can(request.user, EXPORT, "incidents"),
            "may_write": can(request.user, WRITE, "incidents"),
            "may_import": can(request.user, IMPORT, "incidents"),
        },
    )


@login_required
@role_required("incidents", action=WRITE)
def incident_new(request: HttpRequest) -> HttpResponse:
    """Manual entry (police): the place must be near a school the officer covers."""
    schools = School.objects.visible_to(request.user).order_by("name")
    form = IncidentForm(request.POST or None, schools=schools)
    persons = PersonFormSet(request.POST or None, prefix="p")
    if request.method == "POST" and form.is_valid() and persons.is_valid():
        data = form.cleaned_data
        try:
            points = SchoolPoints.load()
            services.check_place(request.user, data["latitude"], data["longitude"], points)
            incident = services.record_incident(
                kind=data["kind"],
                occurred_at=data["occurred_at"],
                latitude=data["latitude"],
                longitude=data["longitude"],
                address=data["address"],
                summary=data["summary"],
                source=Incident.Source.MANUAL,
                persons=[
                    {k: p[k] for k in ("role", "name", "id_number", "phone", "is_minor")}
                    for p in persons.cleaned_data
                    if p.get("role")
                ],
                user=request.user,
                points=points,
            )
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, _("Incident recorded."))
            return redirect("intel:incident", pk=incident.pk)
    return render(
        request,
        "intel/incident_form.html",
        {"form": form, "persons": persons},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@role_required("incidents", action=IMPORT)
def dispatch_import(request: HttpRequest) -> HttpResponse:
    """110 export in: the source's saved column mapping (edited here and saved when the
    file's header matches it), good rows imported, bad rows listed, call numbers already
    imported skipped."""
    chosen = None
    if request.method == "GET" and request.GET.get("source", "").isdigit():
        chosen = DispatchSource.objects.filter(pk=int(request.GET["source"])).first()
    form = DispatchImportForm(
        request.POST or None,
        request.FILES or None,
        initial=DispatchImportForm.initial_for(chosen),
    )
    result = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            upload = data["file"]
            try:
                content = upload.read(spreadsheets.max_import_bytes() + 1)
                source, result = dispatch_import_module.save_mapping_and_import(
                    user=request.user,
                    source=data["source"],
                    new_source=data["new_source"],
                    column_map=data["column_map"],
                    kind_map=data["kind_map"],
                    coordinate_system=data["coordinate_system"],
                    name=upload.name,
                    content=content,
                )
            except ImportFileError as exc:
                form.add_error(None, str(exc))
            else:
                status = 200
                form = DispatchImportForm(initial=DispatchImportForm.initial_for(source))
    return render(
        request,
        "intel/dispatch_import.html",
        {"form": form, "result": result, "sources": DispatchSource.objects.all()},
        status=status,
    )


@login_required
@role_required("incidents")
@require_GET
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_visible_or_404(
        Incident.objects.select_related("school", "region", "police_station"), request.user, pk=pk
    )
    return render(
        request,
        "intel/incident_detail.html",
        {
            "incident": incident,
            "persons": incident.persons.all(),
            "may_reveal": can(request.user, REVEAL, "personal_data"),
            "schools": incident.schools.order_by("name"),
            "leads": incident.leads.all(),
            "alerts": incident.alerts.all(),
            "may_edit": can(request.user, WRITE, "incidents"),
        },
    )


@login_required
@role_required("incidents", action=WRITE)
def incident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit kind, status, outcome, place and summary (police in scope; audited). Bad
    input answers 400 with the form and its errors."""
    incident = get_visible_or_404(
        Incident.objects.select_related("school", "police_station"), request.user, pk=pk
    )
    form = IncidentEditForm(request.POST or None, initial=IncidentEditForm.initial_for(incident))
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.update_incident(incident, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            if changed:
                messages.success(request, _("Incident updated."))
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("intel:incident", pk=incident.pk)
    return render(
        request,
        "intel/incident_edit.html",
        {"form": form, "incident": incident},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@role_required("incidents")
def person_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """A masked person in full, after the officer states why (each reveal audited with
    its reason); GET asks for the reason, POST shows the data, never cached."""
    person = get_visible_or_404(Person.objects.select_related("incident"), request.user, pk=pk)
    form = RevealForm(request.POST or None)
    shown = None
    status = 200
    if request.method == "POST":
        try:
            shown = services.reveal_persons(request.user, [person], request.POST.get("reason", ""))[
                0
            ]
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
            status = 400
    response = render(
        request,
        "intel/person_reveal.html",
        {"person": person, "incident": person.incident, "form": form, "shown": shown},
        status=status,
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- leads -----------------------------------------------------------------------------


@login_required
@role_required("leads")
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    qs = Lead.objects.visible_to(request.user).select_related("school")
    status = request.GET.get("status", "")
    if status in Lead.Status.values:
        qs = qs.filter(status=status)
    elif status == "open" or not status:
        qs = qs.filter(status__in=Lead.OPEN_STATUSES) if status == "open" else qs
    if request.GET.get("export") == "xlsx":
        if not can(request.user, EXPORT, "leads"):
            raise PermissionDenied
        record("export.intel_leads", detail={"filters": request.GET.dict()})
        return _xlsx(
            [_("Reference"), _("Source"), _("Kind"), _("Received"), _("Status")],
            [
                [
                    x.reference,
                    x.get_source_display(),
                    x.get_kind_display(),
                    timezone.localtime(x.received_at).strftime("%Y-%m-%d %H:%M"),
                    x.get_status_display(),
                ]
                for x in qs[:20000]
            ],
            "leads",
        )
    page, page_links = listing.paginate(request, qs)
    counts = dict(
        Lead.objects.visible_to(request.user).values_list("status").annotate(n=Count("pk"))
    )
    return render(
        request,
        "intel/lead_list.html",
        {
            "page": page,
            "rows": page.object_list,
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "statuses": Lead.Status.choices,
            "counts": counts,
            "may_export": can(request.user, EXPORT, "leads"),
        },
    )


@login_required
@role_required("leads")
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible_or_404(
        Lead.objects.select_related("school", "incident"), request.user, pk=pk
    )
    form = LeadStepForm(request.POST or None)
    if request.method == "POST":
        if not can(request.user, WRITE, "leads"):
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            incident = None
            if data["action"] == "merge" and data.get("incident"):
                incident = (
                    Incident.objects.visible_to(request.user)
                    .filter(reference=data["incident"].strip())
                    .first()
                )
            try:
                services.advance_lead(
                    lead,
                    data["action"],
                    user=request.user,
                    note=data["note"],
                    priority=data.get("priority") or None,
                    incident=incident,
                )
            except ValidationError as exc:
                messages.error(request, _errors(exc))
            else:
                messages.success(request, _("Lead updated."))
                return redirect("intel:lead", pk=lead.pk)
    return render(
        request,
        "intel/lead_detail.html",
        {
            "lead": lead,
            "events": lead.events.select_related("by"),
            "form": form,
            "may_write": can(request.user, WRITE, "leads"),
        },
    )


def _give_back(key: str) -> None:
    with contextlib.suppress(ValueError):  # the hour ran out meanwhile: nothing to give
        cache.decr(key)


def tip(request: HttpRequest) -> HttpResponse:
    """群众举报: a phone form without login; a few tips per address per hour."""
    from django.conf import settings

    form = TipForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        # the citizen's address, not the reverse proxy's (else one quota for the city);
        # a place in the hour's quota is taken atomically and given back if no tip is made
        key = f"intel-tips:{client_ip(request) or 'unknown'}"
        limit = int(getattr(settings, "INTEL_TIPS_PER_HOUR", 5))
        cache.add(key, 0, 3600)
        if cache.incr(key) > limit:
            _give_back(key)
            return render(request, "intel/tip.html", {"form": form, "limited": True}, status=429)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                lead = services.submit_lead(
                    source=Lead.Source.CITIZEN,
                    summary=data["summary"],
                    kind=data["kind"] or IncidentKind.OTHER,
                    address=data["address"],
                    latitude=data.get("latitude"),
                    longitude=data.get("longitude"),
                    photo=data.get("photo_file"),
                    reporter_name=data["name"],
                    reporter_phone=data["phone"],
                )
            except ValidationError as exc:
                form.add_error(None, _errors(exc))
            else:
                return render(request, "intel/tip_done.html", {"reference": lead.reference})
        _give_back(key)
    return render(request, "intel/tip.html", {"form": form}, status=status)


# --- groups, operations, risk ----------------------------------------------------------


@login_required
@role_required("incidents")
@require_GET
def group_list(request: HttpRequest) -> HttpResponse:
    groups = Group.objects.visible_to(request.user).annotate(n_incidents=Count("incidents"))
    return render(request, "intel/group_list.html", {"groups": groups[:200]})


@login_required
@role_required("incidents")
@require_GET
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_visible_or_404(Group.objects.all(), request.user, pk=pk)
    graph = dict(group.graph)
    graph["categories"] = [_("Person"), _("Incident")]
    return render(
        request,
        "intel/group_detail.html",
        {"group": group, "graph": graph, "incidents": group.incidents.order_by("occurred_at")},
    )


@login_required
@role_required("operations")
@require_GET
def operation_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localtime(clock.now()).date()
    operations = list(Operation.objects.visible_to(request.user)[:200])
    for op in operations:
        op.state = op.status_on(today)
    return render(
        request,
        "intel/operation_list.html",
        {"operations": operations, "may_write": can(request.user, WRITE, "operations")},
    )


def covered_regions(user: Any):
    """Districts the user's scope spans (a station spans none: it picks schools)."""
    regions = Region.objects.filter(
        pk__in=School.objects.visible_to(user).values("region")
    ).order_by("code")
    return Region.objects.filter(pk__in=[r.pk for r in regions if covers_region(user, r)])


def unit_choices():
    """Responsible units: police and education organisations (a directory)."""
    return Organisation.objects.exclude(kind=Organisation.Kind.SECURITY_COMPANY).order_by(
        "kind", "name"
    )


@login_required
@role_required("operations", action=WRITE)
def operation_new(request: HttpRequest) -> HttpResponse:
    """Plan a special operation over schools, districts or a drawn area in scope."""
    form = OperationForm(
        request.POST or None,
        schools=School.objects.visible_to(request.user).order_by("name"),
        regions=covered_regions(request.user),
        units=unit_choices(),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            operation = services.create_operation(
                name=data["name"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                user=request.user,
                school_ids=[s.pk for s in data["schools"]],
                region_ids=[r.pk for r in data["regions"]],
                polygon=data["polygon"],
                target_kinds=data["target_kinds"],
                unit_ids=[u.pk for u in data["units"]],
                notes=data["notes"],
            )
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, _("Special operation created."))
            return redirect("intel:operation", pk=operation.pk)
    return render(
        request,
        "intel/operation_form.html",
        {"form": form, "config": _map_config(request)},
        status=400 if request.method == "POST" else 200,
    )


def _blank_entry_form(may_records: bool, day: dt.date) -> OperationEntryForm | None:
    return OperationEntryForm(initial={"day": day}) if may_records else None


def _operation_page(
    request: HttpRequest, operation: Operation, entry_form: OperationEntryForm | None = None
) -> dict[str, Any]:
    """The operation page's context: facts, its records and totals, the effect against
    the matched comparison area, and the map (area, schools, comparison schools)."""
    today = timezone.localtime(clock.now()).date()
    police = is_police(request.user)
    effect = operation_effect(operation, today, police=police)
    labels = {"before": _("Before"), "during": _("During"), "after": _("After")}
    chart = chart_specs.bars(
        [str(labels[p.label]) for p in effect.periods],
        [
            {"name": _("Operation area"), "data": [round(p.area_rate, 2) for p in effect.periods]},
            {
                "name": _("Comparison area"),
                "data": [round(p.comparison_rate, 2) for p in effect.periods],
            },
        ],
    )
    kinds = dict(IncidentKind.choices)
    visible = School.objects.visible_to(request.user)
    area_schools = list(visible.filter(pk__in=effect.area_school_ids).order_by("name"))
    comparison_schools = list(visible.filter(pk__in=effect.comparison_school_ids).order_by("name"))
    config = _map_config(request)
    config["focus"] = True
    config["polygon"] = operation.polygon or []
    config["area_schools"] = [[s.latitude, s.longitude, s.name] for s in area_schools]
    config["comparison_schools"] = [[s.latitude, s.longitude, s.name] for s in comparison_schools]
    may_records = police and can(request.user, WRITE, "operations")
    before = effect.periods[0]
    return {
        "operation": operation,
        "state": operation.status_on(today),
        "effect": effect,
        "before": before,
        "contrasts": {c.label: c for c in effect.contrasts},
        "period_labels": labels,
        "chart": chart,
        "kinds": [kinds.get(k, k) for k in operation.target_kinds],
        "schools": operation.schools.order_by("name"),
        "units": operation.units.all(),
        "area_count": len(effect.area_school_ids),
        "comparison_count": len(effect.comparison_school_ids),
        "comparison_schools": comparison_schools,
        "comparison_hidden": len(effect.comparison_school_ids) - len(comparison_schools),
        "config": config,
        "totals": services.operation_totals(operation),
        "entries": (
            operation.entries.select_related("lead", "incident", "created_by")[:500]
            if police
            else []
        ),
        "may_records": may_records,
        "suggested": (
            services.suggested_leads(operation, request.user, today) if may_records else []
        ),
        "entry_form": entry_form or _blank_entry_form(may_records, min(today, operation.ends_on)),
    }


@login_required
@role_required("operations")
@require_GET
def operation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    operation = get_visible_or_404(Operation.objects.select_related("alert"), request.user, pk=pk)
    return render(request, "intel/operation_detail.html", _operation_page(request, operation))


@login_required
@role_required("operations", action=WRITE)
@require_POST
def operation_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a lead taken up, arrests or a patrol on the operation's page (police in
    scope); bad input re-shows the page with the errors, status 400."""
    operation = get_visible_or_404(Operation.objects.select_related("alert"), request.user, pk=pk)
    if not is_police(request.user):
        raise PermissionDenied
    form = OperationEntryForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.add_operation_entry(
                operation,
                user=request.user,
                kind=data["kind"],
                day=data["day"],
                lead_reference=data["lead"],
                incident_reference=data["incident"],
                persons=data["persons"] or 0,
                hours=data["hours"] or 0.0,
                place=data["place"],
                note=data["note"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Record added to the operation."))
            return redirect(f"{operation.get_absolute_url()}#operation-records")
    return render(
        request,
        "intel/operation_detail.html",
        _operation_page(request, operation, entry_form=form),
        status=400,
    )


@login_required
@role_required("intel_alerts")
@require_GET
def risk_list(request: HttpRequest) -> HttpResponse:
    """重点学校: the ranking, filtered by station or district and grouped per station or
    per district with subtotals (schools, total, highest and mean score)."""
    schools = School.objects.visible_to(request.user)
    stations = Organisation.objects.filter(
        pk__in=schools.exclude(police_station=None).values("police_station")
    ).order_by("name")
    districts = Region.objects.filter(pk__in=schools.values("region")).order_by("code")
    chosen = {"station": None, "region": None}
    raw = request.GET.get("station", "")
    if raw.isdigit() and stations.filter(pk=int(raw)).exists():
        chosen["station"] = int(raw)
        schools = schools.filter(police_station_id=int(raw))
    raw = request.GET.get("region", "")
    if raw.isdigit() and districts.filter(pk=int(raw)).exists():
        chosen["region"] = int(raw)
        schools = schools.filter(region_id=int(raw))
    group = request.GET.get("group", "")
    if group not in ("station", "district"):
        group = ""
    police = is_police(request.user)
    ranking = risk_ranking(schools, limit=None if group else 100, police=police)
    groups = group_ranking(ranking[:2000], group) if group else []
    weights = [(label, KIND_WEIGHTS[value]) for value, label in IncidentKind.choices]
    return render(
        request,
        "intel/risk_list.html",
        {
            "ranking": ranking,
            "groups": groups,
            "group": group,
            "stations": stations,
            "districts": districts,
            "chosen": chosen,
            "weights": weights,
        },
    )
