"""The alarm console (报警处置台): a case's page with its timeline, context and
actions and the drills list (the wall, the banner feed and bulk acknowledge are in
``wall.py``, the response statistics in ``statistics_views.py``).

The same wall serves the command centre, a police station, the education bureau and
a school: ``AlarmCase.objects.visible_to(user)`` decides which cases it shows and the
role table (``accounts/roles.py``) which buttons it offers — ``alarms`` write to
acknowledge, ``alarm_dispatch`` write to dispatch, record arrivals and close. Every
step runs through ``workflow`` (the same rules as the API); pages refresh themselves
from the live stream (``static/campus_safety/alarm_console.js``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import WRITE, can
from campus_safety.alarms import drills, workflow
from campus_safety.alarms.context import case_context
from campus_safety.alarms.dispatch import nearest_units
from campus_safety.alarms.forms import CloseForm, DispatchForm, TestWindowForm, UnitStepForm
from campus_safety.alarms.models import (
    AlarmCase,
    AlarmEscalation,
    AlarmEvent,
    PoliceUnit,
    TestWindow,
)
from campus_safety.devices.models import Device, KeyArea
from campus_safety.orgs.models import Organisation, School
from campus_safety.scoping import get_visible_or_404

RESOURCE = "alarms"
State = AlarmCase.State
OPEN_STATES = (State.RECEIVED, State.ACKNOWLEDGED, State.DISPATCHED, State.ON_SCENE)
# What a step's htmx answer triggers: the wall, the banner and the case page refresh.
REFRESH_EVENTS = "alarm-refresh, alarm-case-refresh"
TIMELINE_EVENTS = 50
UNTESTED_SHOWN = 100
KEY_AREAS = dict(KeyArea.choices)
PARTS = {
    "strip": "alarms/_case_strip.html",
    "actions": "alarms/_case_actions.html",
    "log": "alarms/_case_log.html",
}


# --- who is looking ------------------------------------------------------------------------


def console_kind(user: Any) -> str:
    """Which console the user sits at: wording and defaults differ, the data is scoped."""
    if getattr(user, "school_id", None):
        return "school"
    org = getattr(user, "organisation", None)
    role = getattr(user, "role", "")
    if role == "education_staff" or (
        org is not None and org.kind == Organisation.Kind.EDUCATION_BUREAU
    ):
        return "bureau"
    if org is not None and org.kind == Organisation.Kind.POLICE_STATION:
        return "station"
    return "command"


def may_acknowledge(user: Any) -> bool:
    return can(user, WRITE, "alarms")


def may_dispatch(user: Any) -> bool:
    return can(user, WRITE, "alarm_dispatch")


def _cases(request: HttpRequest) -> QuerySet[AlarmCase]:
    return AlarmCase.objects.visible_to(request.user)


def _get_case(request: HttpRequest, pk: int) -> AlarmCase:
    """The case if the user may see it; 404 otherwise (never a 403 that confirms it)."""
    return get_object_or_404(
        _cases(request).select_related(
            "school__region",
            "school__police_station",
            "device",
            "acknowledged_by",
            "dispatched_by",
            "arrived_by",
            "closed_by",
        ),
        pk=pk,
    )


def _person(user: Any) -> str:
    return (user.display_name or user.get_username()) if user is not None else ""


def _distance(metres: int) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres} m"


def key_area_label(code: str) -> str:
    """The key area's name (GB/T 29315) for its code; empty when none."""
    return str(KEY_AREAS.get(code, code or ""))


# --- one case ------------------------------------------------------------------------------


def case_timeline(case: AlarmCase) -> list[dict[str, Any]]:
    """Everything that happened to a case, oldest first: signals, each state change
    with its person, every unit's legs, escalations and the closing disposition."""
    entries: list[dict[str, Any]] = []

    def add(at: dt.datetime | None, kind: str, label: str, by: Any = None, detail: str = ""):
        if at is not None:
            entries.append(
                {"at": at, "kind": kind, "label": label, "by": _person(by), "detail": detail}
            )

    add(case.opened_at, "opened", _("Case opened"), detail=case.device.name)
    events = AlarmEvent.objects.filter(case=case).order_by("received_at", "id")
    for event in events[:TIMELINE_EVENTS]:
        detail = " · ".join(
            filter(None, [event.get_method_display(), event.alarm_type, event.description])
        )
        add(event.received_at, "signal", _("Alarm signal received"), detail=detail)
    add(case.acknowledged_at, "acknowledged", _("Acknowledged"), case.acknowledged_by)
    for sent in case.dispatches.select_related("unit", "dispatched_by"):
        name = sent.unit.name
        add(sent.dispatched_at, "dispatched", _("Unit dispatched"), sent.dispatched_by, name)
        add(sent.en_route_at, "en_route", _("Unit en route"), detail=name)
        add(sent.arrived_at, "arrived", _("Unit arrived"), detail=name)
        add(sent.cleared_at, "cleared", _("Unit cleared"), detail=name)
    add(case.arrived_at, "on_scene", _("On scene"), case.arrived_by)
    for up in AlarmEscalation.objects.filter(case=case).select_related("organisation"):
        detail = up.get_level_display()
        if up.organisation is not None:
            detail = f"{detail} · {up.organisation.name}"
        add(up.at, "escalated", up.get_reason_display(), detail=detail)
    if case.closed_at is not None:
        label = _("Closed: %(outcome)s") % {"outcome": case.get_state_display()}
        add(case.closed_at, "closed", label, case.closed_by, case.disposition)
    order = {"opened": 0, "signal": 1}
    return sorted(entries, key=lambda e: (e["at"], order.get(e["kind"], 2)))


def _unit_choices(case: AlarmCase, user: Any) -> list[dict[str, Any]]:
    """The nearest available units; with no position known, the available ones."""
    school, device = case.school, case.device
    lon = school.longitude if school is not None and school.longitude is not None else None
    lat = school.latitude if school is not None and school.latitude is not None else None
    if lon is None or lat is None:
        lon, lat = device.longitude, device.latitude
    found = nearest_units(lon, lat)
    for unit in found:
        unit["distance"] = _distance(unit["distance_m"])
    if found:
        return found
    units = PoliceUnit.objects.visible_to(user).filter(is_available=True)
    return [
        {"id": u.pk, "name": u.name, "kind": u.kind, "organisation": u.organisation.name}
        for u in units.select_related("organisation")[:20]
    ]


def _steps(case: AlarmCase, user: Any) -> dict[str, bool]:
    """Which actions this user may take on this case now."""
    is_open = case.closed_at is None
    dispatcher = may_dispatch(user)
    return {
        "acknowledge": is_open and case.state == State.RECEIVED and may_acknowledge(user),
        "dispatch": is_open
        and not case.is_test
        and case.state in {State.ACKNOWLEDGED, State.DISPATCHED}
        and dispatcher,
        "arrive": is_open and case.state in {State.DISPATCHED, State.ON_SCENE} and dispatcher,
        "close": is_open and case.state != State.RECEIVED and dispatcher,
    }


def _case_parts(
    request: HttpRequest,
    case: AlarmCase,
    dispatch_form: DispatchForm | None = None,
    close_form: CloseForm | None = None,
) -> dict[str, Any]:
    """What the live parts of the case page need (no contacts: those are audited)."""
    steps = _steps(case, request.user)
    # Nothing is ticked for the dispatcher (a pre-ticked unit gets sent by mistake);
    # a refused form keeps what they ticked.
    ticked = dispatch_form.data.getlist("units") if dispatch_form is not None else []
    dispatches = list(case.dispatches.select_related("unit__organisation", "dispatched_by"))
    sent_ids = {d.unit_id for d in dispatches if d.cleared_at is None}
    return {
        "case": case,
        "key_area": key_area_label(case.key_area or case.device.key_area),
        "timeline": case_timeline(case),
        "dispatches": dispatches,
        "steps": steps,
        "unit_choices": [
            u
            for u in (_unit_choices(case, request.user) if steps["dispatch"] else [])
            if u["id"] not in sent_ids
        ],
        "dispatch_form": dispatch_form or DispatchForm(user=request.user),
        "ticked_units": set(ticked),
        "close_form": close_form or CloseForm(case=case),
        "may_acknowledge": may_acknowledge(request.user),
        "may_dispatch": may_dispatch(request.user),
        "now": clock.now(),
    }


def _labelled(context: dict[str, Any]) -> dict[str, Any]:
    """Readable labels for the codes ``case_context`` returns."""
    kinds, states = dict(Device.Kind.choices), dict(State.choices)
    statuses = dict(Device.Status.choices)
    device = context["device"]
    device["kind_label"] = str(kinds.get(device["kind"], device["kind"]))
    device["key_area_label"] = key_area_label(device["key_area"])
    device["status_label"] = str(statuses.get(device["status"], device["status"]))
    for camera in context["cameras"]:
        camera["key_area_label"] = key_area_label(camera["key_area"])
        camera["status_label"] = str(statuses.get(camera["status"], camera["status"]))
    for unit in context["nearest_units"]:
        unit["distance"] = _distance(unit["distance_m"])
    for row in context["recent_alarms"]:
        row["state_label"] = str(states.get(row["state"], row["state"]))
    if context["school"] is not None:
        kind = context["school"]["kind"]
        context["school"]["kind_label"] = str(dict(School.Kind.choices).get(kind, kind))
    return context


def _render_case(
    request: HttpRequest, case: AlarmCase, status: int = 200, **forms: Any
) -> HttpResponse:
    context = {
        **_case_parts(request, case, **forms),
        "kind": console_kind(request.user),
        "context": _labelled(case_context(case, request.user)),
        "may_see_devices": can(request.user, "read", "devices"),
        "may_see_schools": can(request.user, "read", "schools"),
    }
    return render(request, "alarms/case_detail.html", context, status=status)


@login_required
@role_required(RESOURCE)
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """警情详情 — timeline, context and the steps this user may take."""
    return _render_case(request, _get_case(request, pk))


@login_required
@role_required(RESOURCE)
@require_GET
def case_part(request: HttpRequest, pk: int) -> HttpResponse:
    """One live part of the case page (``?part=status`` or ``actions``), for htmx."""
    case = _get_case(request, pk)
    template = PARTS.get(request.GET.get("part", ""), PARTS["strip"])
    return render(request, template, _case_parts(request, case))


# --- the steps -----------------------------------------------------------------------------


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _back(request: HttpRequest, case: AlarmCase) -> HttpResponse:
    """After a step: htmx gets 204 and a refresh trigger, a form post goes back."""
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Trigger"] = REFRESH_EVENTS
        return response
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("alarms:case_detail", pk=case.pk)


def _refused(request: HttpRequest, case: AlarmCase, message: str) -> HttpResponse:
    if is_htmx(request):
        response = HttpResponse(message, status=409, content_type="text/plain; charset=utf-8")
        response["HX-Trigger"] = REFRESH_EVENTS
        return response
    messages.error(request, message)
    return _back(request, case)


def _step(request: HttpRequest, pk: int, run: Callable[[AlarmCase], str | None]) -> HttpResponse:
    """Look the case up in scope and run one workflow step on it. The step locks the
    case and checks the role and state itself, so two dispatchers pressing the same
    key at once are safe: the second is told why it was refused."""
    case = _get_case(request, pk)
    try:
        done = run(case)
    except workflow.NotAllowed:
        raise PermissionDenied from None
    except ValueError as exc:  # the case moved on, a unit not sent, no disposition …
        return _refused(request, case, str(exc))
    if done and not is_htmx(request):
        messages.success(request, done)
    return _back(request, case)


@login_required
@role_required(RESOURCE)
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """确认 — a person has seen the alarm: stops escalation, silences the banner."""

    def run(case: AlarmCase) -> str:
        workflow.acknowledge_case(case, by=request.user)
        return _("Case #%(id)s acknowledged.") % {"id": case.pk}

    return _step(request, pk, run)


@login_required
@role_required(RESOURCE)
@require_POST
def dispatch_units(request: HttpRequest, pk: int) -> HttpResponse:
    """派警 — send one or more available units; starts the response-circle clock."""
    case = _get_case(request, pk)
    if not may_dispatch(request.user):
        raise PermissionDenied
    form = DispatchForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render_case(request, case, status=400, dispatch_form=form)

    def run(case: AlarmCase) -> str:
        units = list(form.cleaned_data["units"])
        workflow.dispatch_units(case, units, by=request.user)
        names = "、".join(u.name for u in units)
        return _("Dispatched: %(units)s.") % {"units": names}

    return _step(request, pk, run)


def _unit(request: HttpRequest) -> int | None:
    form = UnitStepForm(request.POST)
    return form.cleaned_data.get("unit") if form.is_valid() else None


@login_required
@role_required(RESOURCE)
@require_POST
def en_route(request: HttpRequest, pk: int) -> HttpResponse:
    """A dispatched unit reports it is on its way."""

    def run(case: AlarmCase) -> str:
        workflow.record_en_route(case, _unit(request), by=request.user)
        return _("Unit en route.")

    return _step(request, pk, run)


@login_required
@role_required(RESOURCE)
@require_POST
def arrive(request: HttpRequest, pk: int) -> HttpResponse:
    """到场 — a unit (or every unit sent) is on scene; the first stops the clock."""

    def run(case: AlarmCase) -> str:
        workflow.record_arrival(case, by=request.user, unit=_unit(request))
        return _("Arrival recorded.")

    return _step(request, pk, run)


@login_required
@role_required(RESOURCE)
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    """结案 — only a person closes a case, with an outcome and a written disposition."""
    case = _get_case(request, pk)
    if not may_dispatch(request.user):
        raise PermissionDenied
    form = CloseForm(request.POST, case=case)
    if not form.is_valid():
        return _render_case(request, case, status=400, close_form=form)

    def run(case: AlarmCase) -> str:
        workflow.close_case(
            case,
            by=request.user,
            disposition=form.cleaned_data["disposition"],
            outcome=form.cleaned_data["outcome"],
        )
        return _("Case #%(id)s closed: %(outcome)s.") % {
            "id": case.pk,
            "outcome": case.get_state_display(),
        }

    return _step(request, pk, run)


# --- drills -----------------------------------------------------------------------------


@login_required
@role_required("alarm_drills")
@require_GET
def drill_device_options(request: HttpRequest) -> HttpResponse:
    """The drill form's device options for the chosen school (htmx swaps them in)."""
    school = request.GET.get("school") or ""
    if school:
        school = get_visible_or_404(School, request.user, pk=school).pk if school.isdigit() else ""
    form = TestWindowForm(user=request.user, initial={"school": school or None})
    return render(request, "alarms/_drill_device_options.html", {"field": form["device"]})


@login_required
@role_required("alarm_drills")
def drill_list(request: HttpRequest) -> HttpResponse:
    """报警测试 — planned drill windows, and one-key alarms not tested for 30 days."""
    may_plan = can(request.user, WRITE, "alarm_drills")
    form = None
    if may_plan:
        form = TestWindowForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            window = drills.schedule_test_window(request.user, **form.cleaned_data)
            messages.success(request, _("Drill window planned: %(window)s.") % {"window": window})
            return redirect("alarms:drills")
    elif request.method == "POST":
        raise PermissionDenied
    now = clock.now()
    windows = (
        TestWindow.objects.visible_to(request.user)
        .filter(ends_at__gte=now - dt.timedelta(days=30))
        .select_related("school", "device", "created_by")
        .order_by("starts_at", "id")
    )
    untested = drills.untested_one_key_alarms(
        days=30, devices=Device.objects.visible_to(request.user)
    ).select_related("school__region")
    return render(
        request,
        "alarms/drills.html",
        {
            "form": form,
            "windows": windows,
            "now": now,
            "untested": untested.order_by("school__name", "name")[:UNTESTED_SHOWN],
            "untested_count": untested.count(),
        },
        status=400 if form is not None and form.is_bound and form.errors else 200,
    )
