"""Workforce pages: guards (保安员), protective equipment (防护装备) and staffing (配备达标)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campus_safety.accounts.access import role_required
from campus_safety.orgs.map_data import county_regions_of
from campus_safety.orgs.models import Organisation, School
from campus_safety.web import listing
from campus_safety.web.spreadsheet_views import export_response
from campus_safety.workforce import charts
from campus_safety.workforce.figures import registry_figures
from campus_safety.workforce.filters import EquipmentFilter, GuardFilter
from campus_safety.workforce.models import Equipment, Guard
from campus_safety.workforce.rule_choice import rule_choices, with_staffing_rule
from campus_safety.workforce.staffing import StaffingRule, annotate_staffing

GUARD_SORTABLE = ("name", "kind", "school", "hired_on")
LARGEST_GAPS_SHOWN = 20


def _filtered_school(request: HttpRequest) -> School | None:
    """The school named by ``?school=``, if the user may see it (shown as a removable tag)."""
    pk = request.GET.get("school", "")
    if not pk.isdigit():
        return None
    return School.objects.visible_to(request.user).filter(pk=pk).first()


@login_required
@role_required("guards")
def guard_list(request: HttpRequest) -> HttpResponse:
    visible_schools = School.objects.visible_to(request.user)
    guards = Guard.objects.visible_to(request.user).select_related(
        "school", "school__region", "company"
    )
    filterset = GuardFilter(request.GET, queryset=guards)
    form = listing.tidy_filter_form(filterset.form)
    form.fields["region"].queryset = county_regions_of(visible_schools).order_by("code")
    form.fields["company"].queryset = Organisation.objects.filter(
        kind=Organisation.Kind.SECURITY_COMPANY,
        pk__in=Guard.objects.visible_to(request.user).order_by().values("company_id"),
    ).order_by("name")
    rows = filterset.qs
    if rows.query.order_by:
        rows = rows.order_by(*rows.query.order_by, "pk")
    if request.GET.get("export") == "xlsx":
        return export_response(request, "guards", rows)
    page, page_links = listing.paginate(request, rows)
    return listing.render_list(
        request,
        "workforce/guard_list.html",
        "workforce/_guard_table.html",
        {
            "filter": filterset,
            "page": page,
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "headers": listing.sort_headers(request, GUARD_SORTABLE),
            "ordering": request.GET.get("ordering", ""),
            "school": _filtered_school(request),
        },
    )


def equipment_by_district(rows: QuerySet) -> tuple[list[tuple[str, str]], list[dict]]:
    """A district × kind table of pieces held, with only the kinds that occur."""
    cells = (
        rows.order_by()
        .values("school__region__code", "school__region__name", "kind")
        .annotate(pieces=Sum("quantity"))
    )
    labels = dict(Equipment.Kind.choices)
    districts: dict[str, dict[str, Any]] = {}
    kinds_seen = set()
    for cell in cells:
        code = cell["school__region__code"]
        row = districts.setdefault(
            code, {"code": code, "name": cell["school__region__name"], "pieces": {}, "total": 0}
        )
        row["pieces"][cell["kind"]] = cell["pieces"]
        row["total"] += cell["pieces"]
        kinds_seen.add(cell["kind"])
    kinds = [(k, labels[k]) for k in labels if k in kinds_seen]
    table = []
    for code in sorted(districts):
        row = districts[code]
        table.append({**row, "cells": [row["pieces"].get(k, 0) for k, _label in kinds]})
    return kinds, table


@login_required
@role_required("equipment")
def equipment(request: HttpRequest) -> HttpResponse:
    visible_schools = School.objects.visible_to(request.user)
    items = Equipment.objects.visible_to(request.user).select_related("school", "school__region")
    filterset = EquipmentFilter(request.GET, queryset=items)
    form = listing.tidy_filter_form(filterset.form)
    form.fields["region"].queryset = county_regions_of(visible_schools).order_by("code")
    rows = filterset.qs
    if request.GET.get("export") == "xlsx":
        return export_response(request, "equipment", rows)
    labels = dict(Equipment.Kind.choices)
    order = list(labels)
    totals = sorted(
        (
            {
                "kind": t["kind"],
                "label": labels.get(t["kind"], t["kind"]),
                "pieces": t["pieces"],
                "schools": t["schools"],
            }
            for t in rows.order_by()
            .values("kind")
            .annotate(pieces=Sum("quantity"), schools=Count("school", distinct=True))
        ),
        key=lambda t: order.index(t["kind"]) if t["kind"] in order else len(order),
    )
    kinds, by_district = equipment_by_district(rows)
    page, page_links = listing.paginate(request, rows)
    return listing.render_list(
        request,
        "workforce/equipment.html",
        "workforce/_equipment_table.html",
        {
            "filter": filterset,
            "totals": totals,
            "total_pieces": sum(t["pieces"] for t in totals),
            "schools_holding": rows.order_by().values("school").distinct().count(),
            "schools_in_scope": visible_schools.count(),
            "kinds": kinds,
            "by_district": by_district,
            "kind_totals": [
                next((t["pieces"] for t in totals if t["kind"] == k), 0) for k, _label in kinds
            ],
            "chart": charts.equipment_by_kind([(t["kind"], t["pieces"]) for t in totals]),
            "page": page,
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "school": _filtered_school(request),
        },
    )


@login_required
@role_required("schools", "guards")
@with_staffing_rule
def staffing(request: HttpRequest, rule: StaffingRule) -> HttpResponse:
    """Per district: guards required under the chosen rule, guards that count, the gap."""
    visible = School.objects.visible_to(request.user)
    data = registry_figures(visible, rule)
    districts = [
        {
            **d,
            "counted": d["guards"]["professional"] + d["guards"]["full_time"],
            "met": d["schools"] - d["schools_short"],
        }
        for d in data["districts"]
    ]
    largest_gaps = (
        annotate_staffing(visible, rule)
        .filter(guard_gap__gt=0)
        .select_related("region", "police_station")
        .order_by("-guard_gap", "code")[:LARGEST_GAPS_SHOWN]
    )
    counted = data["guards"]["professional"] + data["guards"]["full_time"]
    return render(
        request,
        "workforce/staffing.html",
        {
            "summary": data,
            "districts": districts,
            "counted": counted,
            "met": data["schools"] - data["staffing"]["schools_short"],
            "largest_gaps": largest_gaps,
            "chart": charts.required_and_counted(districts),
            "rule": rule,
            "rules": rule_choices(),
        },
    )
