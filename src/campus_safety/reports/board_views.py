"""Pages of the reports that bureaus use: the 4×100% board, availability history, the
campaign report written from data, and the scheduled reports' inbox. Each reads the
user's visible schools, so a district sees its own figures through the same code as
the city; every table can be downloaded as Excel.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campus_safety import clock, scoping
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import EXPORT, READ, can
from campus_safety.audit.services import record
from campus_safety.devices.models import Device
from campus_safety.orgs.map_data import county_regions_of
from campus_safety.orgs.models import Region, School
from campus_safety.reports import availability, campaign, counting, scheduled, targets
from campus_safety.reports.models import GeneratedReport, InboxItem
from campus_safety.reports.views import scope_title, visible_schools
from campus_safety.scoping import get_visible_or_404
from campus_safety.web.spreadsheet_views import xlsx_response
from campus_safety.workforce.rule_choice import rule_choices, with_staffing_rule
from campus_safety.workforce.staffing import StaffingRule

AVAILABILITY_DAYS = 14
TREND_WEEKS = 8
MISSING_SHOWN = 30  # the page lists the first schools that miss; the workbook lists all


def _fix_url(target: str, school_id: int) -> str:
    try:
        if target == targets.GUARDS:
            return reverse(targets.FIX_URLS[target], args=[school_id])
        url = reverse(targets.FIX_URLS[target])
    except NoReverseMatch:
        return ""
    return f"{url}?school={school_id}"


# --- 4×100% ---------------------------------------------------------------------------


@login_required
@role_required("schools", "guards")
@with_staffing_rule
def targets_board(request: HttpRequest, rule: StaffingRule) -> HttpResponse:
    """四个100% — rates per district and the schools that miss, with why and a link."""
    schools, district = visible_schools(request)
    data = targets.board(schools, rule)
    labels = targets.target_labels()
    missing = [
        {
            **row,
            "targets": [
                {
                    "key": t,
                    "label": labels[t],
                    "why": row["why"].get(t, ""),
                    "url": _fix_url(t, row["id"]),
                }
                for t in row["missing"]
            ],
        }
        for row in data["schools_missing"][:MISSING_SHOWN]
    ]
    return render(
        request,
        "reports/targets.html",
        {
            "board": data,
            "labels": [labels[t] for t in targets.TARGETS],
            "keys": targets.TARGETS,
            "missing": missing,
            "missing_total": len(data["schools_missing"]),
            "district": district,
            "districts": county_regions_of(School.objects.visible_to(request.user)).order_by(
                "code"
            ),
            "title": district.name if district else scope_title(request.user),
            "rule": rule,
            "rules": rule_choices(),
        },
    )


@login_required
@role_required("schools", "guards")
@with_staffing_rule
def targets_json(request: HttpRequest, rule: StaffingRule) -> JsonResponse:
    schools = visible_schools(request)[0]
    return JsonResponse(targets.board(schools, rule), json_dumps_params={"ensure_ascii": False})


@login_required
@role_required("schools", "guards")
@with_staffing_rule
def targets_trend(request: HttpRequest, rule: StaffingRule) -> JsonResponse:
    """The rates of each of the last weeks (the board's trend chart)."""
    schools = visible_schools(request)[0]
    weeks = min(max(int(request.GET.get("weeks", TREND_WEEKS) or TREND_WEEKS), 1), 26)
    return JsonResponse(
        {"rule": rule.key, "weeks": targets.weekly_trend(schools, rule, weeks)},
        json_dumps_params={"ensure_ascii": False},
    )


@login_required
@role_required("schools", "guards", action=EXPORT)
@with_staffing_rule
def targets_xlsx(request: HttpRequest, rule: StaffingRule) -> HttpResponse:
    schools = visible_schools(request)[0]
    data = targets.board(schools, rule)
    labels = targets.target_labels()
    head = [labels[t] for t in targets.TARGETS]
    content = scheduled.tables_workbook(
        [
            (_("Report title"), _("4×100% targets")),
            (_("Generated at"), timezone.localtime(clock.now()).strftime("%Y-%m-%d %H:%M")),
            (_("Staffing rule"), str(rule.label)),
        ],
        [
            (
                _("Districts"),
                [_("District"), _("Schools"), *head, _("All four met")],
                [
                    [
                        d["name"],
                        d["schools"],
                        *(d["rates"][t] for t in targets.TARGETS),
                        d["all_met"],
                    ]
                    for d in data["districts"]
                ]
                + [
                    [
                        _("Total"),
                        data["schools"],
                        *(data["rates"][t] for t in targets.TARGETS),
                        data["all_met"],
                    ]
                ],
                {2, 3, 4, 5},
            ),
            (
                _("Schools missing"),
                [_("Code"), _("School"), *head],
                [
                    [s["code"], s["name"], *(s["why"].get(t, "✓") for t in targets.TARGETS)]
                    for s in data["schools_missing"]
                ],
                set(),
            ),
        ],
    )
    record("export.targets", detail={"rule": rule.key})
    return xlsx_response(content, "targets.xlsx")


# --- Availability ------------------------------------------------------------------------


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", AVAILABILITY_DAYS))
    except ValueError:
        days = AVAILABILITY_DAYS
    return min(max(days, 1), 92)


def _availability_rows(request: HttpRequest) -> tuple[Any, list[dict[str, Any]], Any]:
    schools, district = visible_schools(request)
    history = availability.schools_history(schools, _days(request))
    if district is None:
        names = dict(county_regions_of(schools).values_list("pk", "name"))
        rows = [
            {"name": names.get(pk, ""), "code": code, "tallies": history.regions.get(pk, {})}
            for pk, code in county_regions_of(schools).order_by("code").values_list("pk", "code")
        ]
    else:
        rows = [
            {"name": name, "school": pk, "tallies": history.schools.get(pk, {})}
            for pk, name in schools.order_by("code").values_list("pk", "name")
        ]
    for row in rows:
        row["series"] = history.series(row.pop("tallies"))
        rates = [d for d in row["series"] if d["rate"] is not None]
        observed = sum(d["observed_hours"] for d in rates)
        row["rate"] = (
            round(sum(d["online_hours"] for d in rates) / observed, 4) if observed else None
        )
    return history, rows, district


@login_required
@role_required("devices")
def availability_page(request: HttpRequest) -> HttpResponse:
    """在线率历史 — daily availability per district (or per school of one district)."""
    history, rows, district = _availability_rows(request)
    return render(
        request,
        "reports/availability.html",
        {
            "days": history.days,
            "total": history.series(history.total),
            "total_rate": history.mean_rate(history.total),
            "rows": rows,
            "district": district,
            "title": district.name if district else scope_title(request.user),
            "n_days": len(history.days),
        },
    )


@login_required
@role_required("devices")
def availability_json(request: HttpRequest) -> JsonResponse:
    history, rows, _ignored = _availability_rows(request)
    return JsonResponse(
        {
            "days": [d.isoformat() for d in history.days],
            "total": history.series(history.total),
            "rows": rows,
        },
        json_dumps_params={"ensure_ascii": False},
    )


@login_required
@role_required("devices", action=EXPORT)
def availability_xlsx(request: HttpRequest) -> HttpResponse:
    history, rows, _ignored = _availability_rows(request)
    days = [d.isoformat() for d in history.days]
    content = scheduled.tables_workbook(
        [(_("Report title"), _("Device availability")), (_("Days"), f"{days[0]} – {days[-1]}")],
        [
            (
                _("Availability"),
                [_("Name"), _("Period"), *days],
                [[r["name"], r["rate"], *(d["rate"] for d in r["series"])] for r in rows],
                set(range(1, len(days) + 2)),
            )
        ],
    )
    record("export.availability", detail={"days": len(days)})
    return xlsx_response(content, "availability.xlsx")


@login_required
@role_required("devices")
def device_availability(request: HttpRequest, pk: int) -> HttpResponse:
    """A device's last days as a fragment (its page loads it with htmx)."""
    device = get_visible_or_404(Device, request.user, pk=pk)
    data = availability.device_history(device, _days(request))
    return render(request, "reports/_device_availability.html", {"data": data, "device": device})


@login_required
@role_required("devices")
def school_availability(request: HttpRequest, pk: int) -> HttpResponse:
    school = get_visible_or_404(School, request.user, pk=pk)
    history = availability.schools_history(School.objects.filter(pk=school.pk), _days(request))
    tallies = history.schools.get(school.pk, {})
    data = {"rows": history.series(tallies), "period_rate": history.mean_rate(tallies)}
    return render(request, "reports/_device_availability.html", {"data": data, "school": school})


# --- Campaign report -----------------------------------------------------------------------


def _campaign_args(request: HttpRequest) -> tuple[Region | None, dt.date | None, dt.date | None]:
    """``?region=`` (a district or the city in the user's scope), ``?from=``, ``?to=``."""
    schools = School.objects.visible_to(request.user)
    region = None
    if code := request.GET.get("region", "").strip():
        region = Region.objects.filter(code=code).first()
        if region is None or not campaign.area_schools(schools, region).exists():
            raise Http404
    dates = []
    for key in ("from", "to"):
        raw = request.GET.get(key, "").strip()
        try:
            value = parse_date(raw) if raw else None
        except ValueError:  # well-formed but no such day (2026-13-01)
            value = None
        if raw and value is None:
            raise ValidationError(_("Dates are written YYYY-MM-DD."))
        dates.append(value)
    if dates[0] and dates[1] and dates[1] < dates[0]:
        raise ValidationError(_("The period ends before it starts."))
    return region, dates[0], dates[1]


def _campaign_or_400(request: HttpRequest) -> campaign.CampaignReport | HttpResponse:
    try:
        region, start, end = _campaign_args(request)
    except ValidationError as error:
        return HttpResponseBadRequest(" ".join(error.messages))
    police = counting.reads_police_only(request.user)  # a watch-list hit's case
    return campaign.campaign(School.objects.visible_to(request.user), region, start, end, police)


@login_required
@role_required("schools", "guards")
def campaign_page(request: HttpRequest) -> HttpResponse:
    """护校安园 progress report: the paragraphs with every figure linked to its rows."""
    report = _campaign_or_400(request)
    if isinstance(report, HttpResponse):
        return report
    schools = School.objects.visible_to(request.user)
    return render(
        request,
        "reports/campaign.html",
        {
            "report": report,
            "districts": county_regions_of(schools).order_by("code"),
            "region": request.GET.get("region", ""),
            "start": request.GET.get("from", ""),
            "end": request.GET.get("to", ""),
            "query": request.GET.urlencode(),
        },
    )


@login_required
@role_required("schools", "guards")
def campaign_json(request: HttpRequest) -> HttpResponse:
    report = _campaign_or_400(request)
    if isinstance(report, HttpResponse):
        return report
    return JsonResponse(report.as_json(), json_dumps_params={"ensure_ascii": False, "indent": 2})


@login_required
@role_required("schools", "guards", action=EXPORT)
def campaign_pdf(request: HttpRequest) -> HttpResponse:
    """The report as a PDF with its charts (monthly alarms and hazards, 4×100% by
    district, device availability), drawn from the same area and period."""
    report = _campaign_or_400(request)
    if isinstance(report, HttpResponse):
        return report
    region, start, end = _campaign_args(request)
    now = clock.now()
    data = campaign.charts(
        School.objects.visible_to(request.user),
        region,
        start,
        end,
        counting.reads_police_only(request.user),
        now=now,
    )
    body = campaign.render_pdf(report, data, timezone.localtime(now).strftime("%Y-%m-%d %H:%M"))
    record("export.campaign", detail={"query": request.GET.urlencode()})
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="campaign.pdf"'
    return response


# --- Scheduled reports ------------------------------------------------------------------------


@login_required
@role_required("scheduled_reports")
def inbox(request: HttpRequest) -> HttpResponse:
    """站内信 — the reports delivered to the user, newest first, and the area's others."""
    items = list(InboxItem.objects.filter(user=request.user).select_related("report__region")[:200])
    delivered = {item.report_id for item in items}
    others = [
        r
        for r in scheduled.visible_reports(request.user)
        .select_related("region")
        .defer("pdf", "xlsx")[:100]
        if r.pk not in delivered
    ]
    schools = School.objects.visible_to(request.user)
    regions = list(
        Region.objects.filter(pk__in=schools.order_by().values("region__parent_id"))
    ) + list(county_regions_of(schools).order_by("code"))
    return render(
        request,
        "reports/inbox.html",
        {
            "items": items,
            "others": others,
            "unread": sum(item.read_at is None for item in items),
            "kinds": GeneratedReport.Kind.choices,
            "regions": regions,
            "may_generate": can(request.user, EXPORT, "scheduled_reports"),
        },
    )


def _report_for(request: HttpRequest, pk: int) -> GeneratedReport:
    report = scheduled.visible_reports(request.user).filter(pk=pk).first()
    if report is None:
        raise Http404
    InboxItem.objects.filter(user=request.user, report=report, read_at__isnull=True).update(
        read_at=clock.now()
    )
    return report


@login_required
@role_required("scheduled_reports", action=READ)
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_for(request, pk)
    record("export.scheduled_report", report, detail={"format": "pdf"})
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    name = f"report-{report.kind}-{report.region.code}-{report.period_start}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@role_required("scheduled_reports", action=READ)
def report_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_for(request, pk)
    record("export.scheduled_report", report, detail={"format": "xlsx"})
    return xlsx_response(
        bytes(report.xlsx), f"report-{report.kind}-{report.region.code}-{report.period_start}.xlsx"
    )


@login_required
@role_required("scheduled_reports", action=READ)
def report_figures(request: HttpRequest, pk: int) -> JsonResponse:
    """The figures a kept report was made from, as kept."""
    report = _report_for(request, pk)
    return JsonResponse(report.figures, json_dumps_params={"ensure_ascii": False})


@login_required
@require_POST
@role_required("scheduled_reports", action=EXPORT)
def report_generate(request: HttpRequest) -> HttpResponse:
    """Make the last complete week's, month's or term's report now (to the user's inbox)."""
    kind = request.POST.get("kind", "")
    if kind not in GeneratedReport.Kind.values:
        return HttpResponseBadRequest(_("Unknown report kind."))
    region = Region.objects.filter(code=request.POST.get("region", "")).first()
    schools = School.objects.visible_to(request.user)
    if region is None or not campaign.area_schools(schools, region).exists():
        return HttpResponseBadRequest(_("Unknown area."))
    scope = scoping.user_scope(request.user)
    if not scope.everything and not (
        scope.region_prefix and region.code.startswith(scope.region_prefix)
    ):
        return HttpResponseBadRequest(_("That area is wider than yours."))
    period = scheduled.last_period(kind, timezone.localdate(clock.now()))
    if period is None:
        return HttpResponseBadRequest(_("No such period has ended yet."))
    scheduled.generate(kind, region, *period, requested_by=request.user)
    messages.success(request, _("The report is in your inbox."))
    return redirect("reports:inbox")
