"""Device pages (设备): the live list, a device's profile with its history and channels,
online rates, faults to repair, devices awaiting approval, maintenance windows, the
device map layer, and the registry's Excel import.

Every page reaches devices through ``Device.objects.visible_to(user)`` (out of scope =
404) and asks the role table for the ``devices`` resource; live questions to a device
go through ``gateway_link`` (apps never import the gateway).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page
from django.db.models import Count, Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import IMPORT, WRITE, can
from campus_safety.audit.services import record
from campus_safety.devices import gateway_link, map_layer, services, snapshots, type_names
from campus_safety.devices.filters import DeviceFilter
from campus_safety.devices.forms import ApproveForm, DeviceForm, MaintenanceForm
from campus_safety.devices.models import Device, MaintenanceWindow, StatusChange
from campus_safety.orgs import map_data
from campus_safety.orgs.models import School
from campus_safety.scoping import get_visible_or_404
from campus_safety.web import listing
from campus_safety.web.spreadsheet_views import export_response

RESOURCE = "devices"
SORTABLE = ("device_id", "name", "kind", "school", "key_area", "status", "last_seen")
HISTORY_PAGE_SIZE = 20
CHANNEL_PAGE_SIZE = 50
GROUPINGS = ("district", "school", "key_area", "kind")
SNAPSHOT_MAX_BYTES = 2 * 1024 * 1024
SNAPSHOT_TIMEOUT_SECONDS = 3.0


def _visible(request: HttpRequest) -> QuerySet[Device]:
    return Device.objects.visible_to(request.user)


def _get_device(request: HttpRequest, pk: int) -> Device:
    """The device if the user may see it; 404 otherwise (never a 403 that confirms it)."""
    return get_visible_or_404(
        Device.objects.select_related("school", "school__region", "parent"), request.user, pk=pk
    )


def _filtered_school(request: HttpRequest) -> School | None:
    pk = request.GET.get("school", "")
    if not pk.isdigit():
        return None
    return School.objects.visible_to(request.user).filter(pk=pk).first()


def _status_counts(devices: QuerySet[Device]) -> dict[str, int]:
    """Devices per status of a (filtered) queryset, one query."""
    counts = {status: 0 for status in Device.Status.values}
    for row in devices.order_by().values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    counts["total"] = sum(counts.values())
    return counts


def _paginate(
    request: HttpRequest, queryset: Any, param: str, per_page: int
) -> tuple[Page, list[listing.PageLink], dict[str, str]]:
    """A page of ``queryset`` read from ``?<param>=``, with links that keep the rest of
    the query (two lists on one page page independently)."""
    page, links = listing.paginate(request, queryset, param, per_page)
    return page, links, listing.neighbour_queries(request, page, param)


# --- the list -------------------------------------------------------------------------------


def _device_filter(request: HttpRequest) -> DeviceFilter:
    visible = _visible(request)
    filterset = DeviceFilter(
        request.GET,
        queryset=visible.select_related("school", "school__region", "parent"),
        request=request,
    )
    form = listing.tidy_filter_form(filterset.form)
    form.fields["region"].queryset = map_data.county_regions_of(
        School.objects.visible_to(request.user)
    ).order_by("code")
    return filterset


@login_required
@role_required(RESOURCE)
def device_list(request: HttpRequest) -> HttpResponse:
    filterset = _device_filter(request)
    devices = filterset.qs
    devices = devices.order_by(*(devices.query.order_by or ("device_id",)), "pk")
    if request.GET.get("export") == "xlsx":
        return export_response(request, RESOURCE, devices)
    page, page_links = listing.paginate(request, devices)
    rows = list(page.object_list)
    seen = services.live_last_seen(rows)
    for device in rows:
        device.live_seen = seen.get(device.device_id)
    return listing.render_list(
        request,
        "devices/device_list.html",
        "devices/_device_table.html",
        {
            "filter": filterset,
            "page": page,
            "rows": rows,
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "headers": listing.sort_headers(request, SORTABLE),
            "ordering": request.GET.get("ordering", ""),
            "school": _filtered_school(request),
            "counts": _status_counts(devices),
            "may_write": can(request.user, WRITE, RESOURCE),
            "may_import": can(request.user, IMPORT, RESOURCE),
        },
    )


# --- one device -------------------------------------------------------------------------------


def _gateway_state(device: Device) -> dict[str, Any]:
    """Whether the live buttons can work: a standalone GB/T 28181 device, registered with
    the gateway that runs in this process."""
    link = gateway_link.current()
    is_gb = device.protocol == Device.Protocol.GB28181 and device.parent_id is None
    return {
        "is_queryable": is_gb,
        "is_running": link is not None,
        "is_registered": bool(link is not None and is_gb and link.is_registered(device.device_id)),
    }


@login_required
@role_required(RESOURCE)
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    device = _get_device(request, pk)
    history = StatusChange.objects.filter(device=device).order_by("-at", "-id")
    history_page, history_links, history_neighbours = _paginate(
        request, history, "history_page", HISTORY_PAGE_SIZE
    )
    channels = Device.objects.filter(parent=device).order_by("device_id")
    channel_query = request.GET.get("channel_q", "").strip()[:64]
    if channel_query:
        channels = channels.filter(
            Q(device_id__startswith=channel_query) | Q(name__icontains=channel_query)
        )
    channel_page, channel_links, channel_neighbours = _paginate(
        request, channels, "channels_page", CHANNEL_PAGE_SIZE
    )
    context = {
        "device": device,
        "type_name": type_names.type_name(device.device_id),
        "type_code": device.type_code,
        "live_seen": services.live_last_seen([device]).get(device.device_id),
        "history_page": history_page,
        "history_links": history_links,
        "history_neighbours": history_neighbours,
        "channel_page": channel_page,
        "channel_links": channel_links,
        "channel_neighbours": channel_neighbours,
        "channel_query": channel_query,
        "channel_counts": _status_counts(Device.objects.filter(parent=device)),
        "gateway": _gateway_state(device),
        "may_write": can(request.user, WRITE, RESOURCE),
    }
    target = request.headers.get("HX-Target") if listing.wants_partial(request) else None
    if target == "device-history":
        return render(request, "devices/_history.html", context)
    if target == "device-channels":
        return render(request, "devices/_channels.html", context)
    return render(request, "devices/device_detail.html", context)


@login_required
@role_required(RESOURCE)
def device_query(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the device now (DeviceStatus, DeviceInfo; Catalog refreshes its channels)."""
    device = _get_device(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    what = request.POST.get("what", "")
    if what not in gateway_link.QUERIES:
        raise Http404
    if what == "catalog" and not can(request.user, WRITE, RESOURCE):
        raise PermissionDenied
    state = _gateway_state(device)
    answer: dict[str, Any] | None = None
    error = ""
    link = gateway_link.current()
    if not state["is_queryable"]:
        error = _("Only a GB/T 28181 device that registers on its own can be asked.")
    elif link is None:
        error = _(
            "The GB/T 28181 gateway is not running in this process "
            "(start the platform with GB28181_ENABLED=1)."
        )
    elif not state["is_registered"]:
        error = _("The device is not registered with the gateway right now.")
    else:
        try:
            answer = async_to_sync(link.query)(what, device.device_id)
        except gateway_link.QueryError as exc:
            error = str(exc)
    stored = 0
    if answer is not None and what == "catalog":
        stored = services.upsert_channels(device.device_id, answer["channels"])
    record(
        f"device.query.{what}",
        device,
        outcome="failure" if error else "success",
        detail={"error": error} if error else {},
    )
    return render(
        request,
        "devices/_query_result.html",
        {
            "device": device,
            "what": what,
            "answer": answer,
            "answer_rows": [
                (k, v) for k, v in (answer or {}).items() if v not in ("", None, [], {}, ())
            ],
            "error": error,
            "stored": stored,
        },
        status=200,
    )


@login_required
@role_required(RESOURCE)
@require_GET
def device_snapshot(request: HttpRequest, pk: int) -> HttpResponse:
    """The camera's snapshot, fetched by the platform (the page's CSP allows images from
    this origin only, and devices are rarely reachable from an operator's browser)."""
    device = _get_device(request, pk)
    if not device.snapshot_url:
        raise Http404
    try:
        data, content_type = snapshots.fetch_snapshot(
            device.snapshot_url, max_bytes=SNAPSHOT_MAX_BYTES, timeout=SNAPSHOT_TIMEOUT_SECONDS
        )
    except snapshots.SnapshotUnavailable:
        return HttpResponse(status=502)
    if not content_type.startswith("image/"):
        return HttpResponse(status=502)
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


# --- online rates, faults ---------------------------------------------------------------------


@login_required
@role_required(RESOURCE)
def online_rate(request: HttpRequest) -> HttpResponse:
    """在线率 by district, school, key area or kind (one GROUP BY each)."""
    by = request.GET.get("by", "district")
    if by not in GROUPINGS:
        by = "district"
    devices = _visible(request).filter(is_approved=True)
    kind = request.GET.get("kind", "")
    if kind in Device.Kind.values:
        devices = devices.filter(kind=kind)
    region = request.GET.get("region", "")
    if region.isdigit():
        devices = devices.filter(school__region__code=region)
    overall = services.online_rate(devices)
    if by == "school":
        rows = sorted(services.online_rate_by_school(devices), key=lambda r: (r.rate, r.name))
    elif by == "key_area":
        rows = services.online_rate_by_key_area(devices)
    elif by == "kind":
        rows = services.online_rate_by_kind(devices)
    else:
        rows = services.online_rate_by_district(devices)
    page, page_links, neighbours = _paginate(request, rows, "page", listing.PAGE_SIZE)
    regions = map_data.county_regions_of(School.objects.visible_to(request.user)).order_by("code")
    return render(
        request,
        "devices/online_rate.html",
        {
            "by": by,
            "groupings": [
                ("district", _("By district")),
                ("school", _("By school")),
                ("key_area", _("By key area")),
                ("kind", _("By kind")),
            ],
            "overall": overall,
            "page": page,
            "page_links": page_links,
            "neighbours": neighbours,
            "kinds": Device.Kind.choices,
            "kind": kind,
            "regions": regions,
            "region": region,
        },
    )


@login_required
@role_required(RESOURCE)
def fault_list(request: HttpRequest) -> HttpResponse:
    """Devices to send someone to: faulty, or offline for more than the fault limit."""
    devices = services.faults_to_repair(
        _visible(request).filter(is_approved=True).select_related("school", "school__region")
    )
    page, page_links, neighbours = _paginate(request, devices, "page", listing.PAGE_SIZE)
    return render(
        request,
        "devices/faults.html",
        {"page": page, "page_links": page_links, "neighbours": neighbours, "now": clock.now()},
    )


# --- adding and changing a device by hand -----------------------------------------------------


def _device_form(request: HttpRequest, device: Device | None) -> HttpResponse:
    """The form of one device: checked by the API's rules (DeviceSerializer), saved by
    the API's writer (services.create_device / update_device); refused input is
    answered 400 with the reasons beside the fields."""
    schools = School.objects.visible_to(request.user).order_by("name")
    initial = {}
    chosen = _filtered_school(request)
    if device is None and chosen is not None:
        initial["school"] = chosen.pk
    form = DeviceForm(
        request.POST or None, request=request, instance=device, schools=schools, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.validated_data
        if device is None:
            saved = services.create_device(data)
        else:
            saved = services.update_device(device, data)
        messages.success(request, _("%(device)s saved.") % {"device": saved})
        return redirect("devices:device_detail", pk=saved.pk)
    return render(
        request,
        "devices/device_form.html",
        {"form": form, "device": device},
        status=400 if form.errors else 200,
    )


@login_required
@role_required(RESOURCE, action=WRITE)
def device_new(request: HttpRequest) -> HttpResponse:
    """Add one device by hand (many at once: the spreadsheet import)."""
    return _device_form(request, None)


@login_required
@role_required(RESOURCE, action=WRITE)
def device_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one device's registration: what it is, where, its keepalive and
    credentials (never shown; blank keeps them)."""
    return _device_form(request, _get_device(request, pk))


# --- devices awaiting approval ----------------------------------------------------------------


def _approval_schools(request: HttpRequest, device: Device) -> QuerySet[School]:
    """Schools the approver may place the device at: their visible schools, narrowed to
    the device's county (its ID's first six digits) when that leaves any."""
    schools = School.objects.visible_to(request.user).order_by("name")
    local = schools.filter(region__code=device.device_id[:6])
    return local if local.exists() else schools


@login_required
@role_required(RESOURCE)
def pending_list(request: HttpRequest) -> HttpResponse:
    devices = (
        services.pending_devices(request.user)
        .select_related("school")
        .order_by("-created_at", "pk")
    )
    page, page_links, neighbours = _paginate(request, devices, "page", listing.PAGE_SIZE)
    may_write = can(request.user, WRITE, RESOURCE)
    rows = []
    for device in page.object_list:
        form = None
        if may_write:
            form = ApproveForm(schools=_approval_schools(request, device), device=device)
        rows.append(
            {"device": device, "form": form, "type_name": type_names.type_name(device.device_id)}
        )
    return render(
        request,
        "devices/pending.html",
        {
            "rows": rows,
            "page": page,
            "page_links": page_links,
            "neighbours": neighbours,
            "may_write": may_write,
        },
    )


def _pending_or_404(request: HttpRequest, pk: int) -> Device:
    return get_object_or_404(services.pending_devices(request.user), pk=pk)


@login_required
@role_required(RESOURCE)
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    device = _pending_or_404(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not can(request.user, WRITE, RESOURCE):
        raise PermissionDenied
    form = ApproveForm(request.POST, schools=_approval_schools(request, device), device=device)
    if form.is_valid():
        try:
            services.approve_device(
                device,
                by=request.user,
                school=form.cleaned_data["school"],
                kind=form.cleaned_data["kind"],
                key_area=form.cleaned_data["key_area"],
                name=form.cleaned_data["name"],
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, _("%(id)s approved.") % {"id": device.device_id})
    else:
        errors = [f"{form.fields[k].label}: {' '.join(v)}" for k, v in form.errors.items()]
        messages.error(request, "; ".join(errors))
    return redirect("devices:pending")


@login_required
@role_required(RESOURCE)
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    device = _pending_or_404(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not can(request.user, WRITE, RESOURCE):
        raise PermissionDenied
    device_id = device.device_id
    services.reject_device(device, by=request.user)
    messages.success(request, _("%(id)s rejected and removed.") % {"id": device_id})
    return redirect("devices:pending")


# --- maintenance windows ----------------------------------------------------------------------


@login_required
@role_required(RESOURCE)
def maintenance(request: HttpRequest) -> HttpResponse:
    """Planned outages: the list, and (for roles that may write) a form to add one."""
    may_write = can(request.user, WRITE, RESOURCE)
    schools = School.objects.visible_to(request.user).order_by("name")
    form = None
    if may_write:
        form = MaintenanceForm(request.POST or None, schools=schools)
    if request.method == "POST":
        if not may_write:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.create_maintenance_window(
                    school=data["school"],
                    device=data["device"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    reason=data["reason"],
                    by=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Maintenance window saved."))
                return redirect("devices:maintenance")
    now = clock.now()
    windows = (
        MaintenanceWindow.objects.visible_to(request.user)
        .select_related("school", "device")
        .order_by("-ends_at", "-pk")
    )
    page, page_links, neighbours = _paginate(request, windows, "page", listing.PAGE_SIZE)
    return render(
        request,
        "devices/maintenance.html",
        {
            "form": form,
            "page": page,
            "page_links": page_links,
            "neighbours": neighbours,
            "now": now,
        },
        status=400 if form is not None and form.is_bound and form.errors else 200,
    )


# --- the map layer ----------------------------------------------------------------------------


@login_required
@role_required(RESOURCE)
def device_map(request: HttpRequest) -> HttpResponse:
    regions = map_data.county_regions_of(School.objects.visible_to(request.user))
    config = {
        **map_layer.layer_config(),
        "tiles": map_data.tile_layer(),
        "districts": map_data.district_outlines(regions),
    }
    return render(
        request,
        "devices/map.html",
        {
            "config": config,
            "counts": _status_counts(_visible(request).filter(kind__in=map_layer.MAPPED_KINDS)),
        },
    )


@login_required
@role_required(RESOURCE)
def device_map_data(request: HttpRequest) -> JsonResponse:
    """``/devices/map.geojson``: one-key alarms and NVRs in scope, coloured by status."""
    return JsonResponse(
        map_layer.device_features(_visible(request)),
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
        content_type="application/geo+json",
    )
