"""Dashboards: the overview (city, district or school) and the printable summary report.

Both read ``reports.summary.summary`` over ``School.objects.visible_to(user)``, so a
district bureau or a school sees its own figures through the same code as the city,
and the page shows exactly what ``campus-safety report summary --json`` prints.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime

from campus_safety import spreadsheets as xl
from campus_safety.accounts.access import role_required
from campus_safety.accounts.landing import landing_url, lands_on_overview
from campus_safety.accounts.roles import READ, can
from campus_safety.audit.services import record
from campus_safety.linkage.statistics import coverage_by_district
from campus_safety.orgs.map_data import county_regions_of
from campus_safety.orgs.models import Region, School
from campus_safety.reports import charts, workbook
from campus_safety.reports.blocks import summary_blocks
from campus_safety.reports.summary import summary
from campus_safety.workforce.rule_choice import rule_choices, with_staffing_rule
from campus_safety.workforce.staffing import StaffingRule, annotate_staffing

LARGEST_GAPS_SHOWN = 10


def scope_title(user: Any, school: School | None = None) -> str:
    """Whose figures these are: the user's school, organisation, region, or the city."""
    if school is not None:
        return school.name
    if user.organisation_id:
        return user.organisation.name
    if user.region_id:
        return user.region.name
    city = Region.objects.filter(level=Region.Level.CITY).order_by("code").first()
    return city.name if city else ""


def visible_schools(request: HttpRequest) -> tuple[Any, Region | None]:
    """The user's schools, narrowed to ``?region=<code>`` when given (404 outside the
    scope), and that district."""
    schools = School.objects.visible_to(request.user)
    district = None
    if code := request.GET.get("region", "").strip():
        district = get_object_or_404(county_regions_of(schools), code=code)
        schools = schools.filter(region=district)
    return schools, district


def scope_level(user: Any, district: Region | None) -> str:
    """Which dashboard this is: a school's, a district's, a police station's area, or the
    city's (for users whose scope is the city or wider)."""
    if user.school_id:
        return "school"
    if district is not None:
        return "district"
    organisation = user.organisation if user.organisation_id else None
    if organisation is not None and organisation.kind == organisation.Kind.POLICE_STATION:
        return "area"
    region = organisation.region if organisation is not None else user.region
    if region is not None and region.level == Region.Level.COUNTY:
        return "district"
    return "city"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """``/``: the overview for the roles that start their day on it, else a redirect to
    the role's own first page (accounts/landing.py: the wall, the scan page …)."""
    if lands_on_overview(request.user):
        return overview(request)
    return redirect(landing_url(request.user))


# Staffing statistics are guard figures: a role that may not read guards (a volunteer)
# does not get them summed up either.
@login_required
@role_required("schools", "guards")
@with_staffing_rule
def overview(request: HttpRequest, rule: StaffingRule) -> HttpResponse:
    visible = School.objects.visible_to(request.user)
    districts = county_regions_of(visible).order_by("code")
    district = None
    if code := request.GET.get("region", "").strip():
        district = get_object_or_404(districts, code=code)
        visible = visible.filter(region=district)
    level = scope_level(request.user, district)
    school = visible.select_related("region").first() if level == "school" else None
    data = summary(visible, rule, reader=request.user)
    largest_gaps = (
        annotate_staffing(visible, rule)
        .filter(guard_gap__gt=0)
        .select_related("region")
        .order_by("-guard_gap", "code")[:LARGEST_GAPS_SHOWN]
    )
    chart_specs = {
        "kinds": charts.schools_by_kind(data),
        "guards": charts.guards_by_district(data),
        "gaps": charts.staffing_by_district(data),
        "guard_kinds": charts.guard_kinds(data["guards"]),
    }
    return render(
        request,
        "reports/overview.html",
        {
            "summary": data,
            "generated_at": parse_datetime(data["generated_at"]),
            "level": level,
            "title": district.name if district else scope_title(request.user, school),
            "district": district,
            "districts": districts if level != "school" else [],
            "school": school,
            "largest_gaps": largest_gaps if level != "school" else [],
            "met": data["schools"] - data["staffing"]["schools_short"],
            "counted": data["guards"]["professional"] + data["guards"]["full_time"],
            "charts": chart_specs,
            "rule": rule,
            "rules": rule_choices(),
            # police-room coverage per district for police and bureau readers (issue #20)
            "room_coverage": coverage_by_district(visible)
            if level != "school" and can(request.user, READ, "police_rooms")
            else None,
        },
    )


@login_required
@role_required("schools", "guards")
@with_staffing_rule
def summary_report(request: HttpRequest, rule: StaffingRule) -> HttpResponse:
    """统计报表 — every block of the summary as a short table, printable and exportable."""
    visible = School.objects.visible_to(request.user)
    data = summary(visible, rule, reader=request.user)
    school = visible.first() if request.user.school_id else None
    blocks = [
        (block, block.link if block.link and can(request.user, READ, block.link[1]) else None)
        for block in summary_blocks(data)
    ]
    return render(
        request,
        "reports/summary.html",
        {
            "summary": data,
            "blocks": blocks,
            "generated_at": parse_datetime(data["generated_at"]),
            "title": scope_title(request.user, school),
            "source_note": workbook.source_note(),
            "rule": rule,
            "rules": rule_choices(),
        },
    )


@login_required
@role_required("schools", "guards")
@with_staffing_rule
def summary_xlsx(request: HttpRequest, rule: StaffingRule) -> HttpResponse:
    """The summary report as an Excel workbook, one sheet per block (audited)."""
    visible = School.objects.visible_to(request.user)
    data = summary(visible, rule, reader=request.user)
    school = visible.first() if request.user.school_id else None
    content = workbook.summary_workbook(
        summary_blocks(data),
        title=scope_title(request.user, school),
        generated_at=parse_datetime(data["generated_at"]),
        rule_label=str(rule.label),
    )
    record("export.summary", detail={"rule": rule.key})
    response = HttpResponse(content, content_type=xl.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="summary-{rule.key}.xlsx"'
    return response


@login_required
@role_required("schools", "guards")
@with_staffing_rule
def summary_json(request: HttpRequest, rule: StaffingRule) -> JsonResponse:
    """The figures of ``campus-safety report summary --json``, for the user's scope."""
    data = summary(School.objects.visible_to(request.user), rule, reader=request.user)
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
