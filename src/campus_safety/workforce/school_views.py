"""School pages: the filtered list, one school's profile, the city map, and the two small
JSON answers other pages use: the school search of the form pickers and the schools
drawn as context on every map."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from campus_safety.accounts.access import role_required
from campus_safety.orgs import map_data
from campus_safety.orgs.filters import SchoolFilter
from campus_safety.orgs.models import Organisation, School
from campus_safety.scoping import get_visible_or_404
from campus_safety.web import listing
from campus_safety.web.spreadsheet_views import export_response
from campus_safety.workforce.models import Guard
from campus_safety.workforce.rule_choice import rule_choices, with_staffing_rule
from campus_safety.workforce.staffing import (
    COUNTED_KINDS,
    RULES,
    StaffingRule,
    annotate_staffing,
    basis_of,
    get_rule,
    required_guards,
)

SORTABLE = (
    "code",
    "name",
    "region",
    "kind",
    "students",
    "guards_counted",
    "required_guards",
    "guard_gap",
)
LARGEST_FIRST = ("students", "guards_counted", "required_guards", "guard_gap")
BASIS_LABELS = {
    "day_students": _("Non-boarding students"),
    "staff_and_students": _("Staff + students"),
}


def _school_filter(request: HttpRequest, rule: StaffingRule) -> SchoolFilter:
    """The list's filter over the user's schools, with choices narrowed to the scope."""
    visible = School.objects.visible_to(request.user)
    schools = annotate_staffing(visible, rule).select_related("region", "police_station")
    filterset = SchoolFilter(request.GET, queryset=schools)
    form = listing.tidy_filter_form(filterset.form)
    form.fields["region"].queryset = map_data.county_regions_of(visible).order_by("code")
    form.fields["police_station"].queryset = Organisation.objects.filter(
        kind=Organisation.Kind.POLICE_STATION,
        pk__in=visible.order_by().values("police_station_id"),
    ).order_by("name")
    return filterset


@login_required
@role_required("schools")
@with_staffing_rule
def school_list(request: HttpRequest, rule: StaffingRule) -> HttpResponse:
    filterset = _school_filter(request, rule)
    # Explicit order: Meta.ordering does not apply to the grouped (annotated) query, and
    # ties (same gap, same kind) must not jump between pages.
    schools = filterset.qs
    schools = schools.order_by(*schools.query.order_by, "code")
    if request.GET.get("export") == "xlsx":
        return export_response(request, "schools", schools)
    page, page_links = listing.paginate(request, schools)
    return listing.render_list(
        request,
        "schools/school_list.html",
        "schools/_school_table.html",
        {
            "filter": filterset,
            "page": page,
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "headers": listing.sort_headers(request, SORTABLE, LARGEST_FIRST),
            "ordering": request.GET.get("ordering", ""),
            "rule": rule,
            "rules": rule_choices(),
        },
    )


def staffing_under_each_rule(
    school: School, counted: int, active: StaffingRule
) -> list[dict[str, object]]:
    """The school's requirement under every rule, so the two policies can be compared."""
    rows = []
    for key in RULES:
        rule = active if key == active.key else get_rule(key)
        size = {"students": school.students, "boarders": school.boarders, "staff": school.staff}
        required = required_guards(rule, **size)
        rows.append(
            {
                "rule": rule,
                "basis_label": BASIS_LABELS.get(rule.basis, rule.basis),
                "basis": basis_of(rule, **size),
                "required": required,
                "counted": counted,
                "gap": max(required - counted, 0),
                "is_active": key == active.key,
            }
        )
    return rows


@login_required
@role_required("schools")
@with_staffing_rule
def school_detail(request: HttpRequest, pk: int, rule: StaffingRule) -> HttpResponse:
    school = get_visible_or_404(
        School.objects.select_related("region", "police_station"), request.user, pk=pk
    )
    guards = list(school.guards.select_related("company").order_by("kind", "name"))
    counted = sum(guard.kind in COUNTED_KINDS for guard in guards)
    staffing = staffing_under_each_rule(school, counted, rule)
    active = next(row for row in staffing if row["is_active"])
    guard_counts = [
        (label, sum(g.kind == kind for g in guards)) for kind, label in Guard.Kind.choices
    ]
    equipment = list(school.equipment.all())
    location = None
    if school.longitude is not None and school.latitude is not None:
        location = {
            "lat": school.latitude,
            "lon": school.longitude,
            "name": school.name,
            "gap": active["gap"],
            "tiles": map_data.tile_layer(),
            "outline": school.region.outline,
            "district": school.region.name,
        }
    return render(
        request,
        "schools/school_detail.html",
        {
            "school": school,
            "guards": guards,
            "guard_counts": guard_counts,
            "equipment": equipment,
            "equipment_total": sum(item.quantity for item in equipment),
            "staffing": staffing,
            "active": active,
            "rule": rule,
            "rules": rule_choices(),
            "location": location,
        },
    )


@login_required
@role_required("schools")
def school_map(request: HttpRequest) -> HttpResponse:
    visible = School.objects.visible_to(request.user)
    regions = map_data.county_regions_of(visible)
    filterset = SchoolFilter(request.GET, queryset=visible)
    form = listing.tidy_filter_form(filterset.form)
    form.fields["region"].queryset = regions.order_by("code")
    config = map_data.map_config(reverse("schools:map_data"), regions)
    return render(request, "schools/map.html", {"filter": filterset, "config": config})


@login_required
@role_required("schools")
@with_staffing_rule
def school_map_data(request: HttpRequest, rule: StaffingRule) -> JsonResponse:
    """``/schools/map.geojson``: the user's schools as points, filtered like the list."""
    schools = annotate_staffing(School.objects.visible_to(request.user), rule)
    filterset = SchoolFilter(request.GET, queryset=schools)
    return JsonResponse(
        map_data.school_features(filterset.qs),
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
        content_type="application/geo+json",
    )


SEARCH_LIMIT = 20
EVERY_MATCH_LIMIT = 5000  # "add every match" of a campaign's picker: a city's schools
SEARCH_MAX_LENGTH = 64
SEARCH_MAX_TERMS = 4


def search_schools(schools: QuerySet[School], text: str) -> QuerySet[School]:
    """``schools`` matching every word of ``text`` in the name, the school code (prefix),
    the district or the police station; names that start with the first word first."""
    terms = text.split()[:SEARCH_MAX_TERMS]
    for term in terms:
        schools = schools.filter(
            Q(name__icontains=term)
            | Q(code__startswith=term)
            | Q(region__name__icontains=term)
            | Q(police_station__name__icontains=term)
        )
    first = terms[0] if terms else ""
    return schools.annotate(
        starts=Case(
            When(Q(name__istartswith=first) | Q(code__startswith=first), then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("starts", "name", "code")


@login_required
@role_required("schools")
@require_GET
def school_search(request: HttpRequest) -> HttpResponse:
    """``/schools/search.json?q=``: at most 20 of the user's schools for a form's picker,
    each with its district and police station so two schools of one name can be told apart;
    ``&all=1`` (a campaign's "add every match"): every match, up to 5,000."""
    text = request.GET.get("q", "").strip()
    limit = EVERY_MATCH_LIMIT if request.GET.get("all") == "1" else SEARCH_LIMIT
    if len(text) > SEARCH_MAX_LENGTH:
        return HttpResponseBadRequest(
            gettext("Search text too long (at most %(n)s characters).") % {"n": SEARCH_MAX_LENGTH}
        )
    rows = list(
        search_schools(School.objects.visible_to(request.user), text).values_list(
            "pk", "name", "code", "region__name", "police_station__name"
        )[: limit + 1]
    )
    return JsonResponse(
        {
            "results": [
                {
                    "id": pk,
                    "name": name,
                    "code": code,
                    "district": district,
                    "station": station or "",
                }
                for pk, name, code, district, station in rows[:limit]
            ],
            "more": len(rows) > limit,
        },
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
    )


@login_required
@role_required("schools")
@require_GET
def school_map_context(request: HttpRequest) -> JsonResponse:
    """``/schools/context.json``: the user's schools as ``[lon, lat, name]`` — the grey
    dots every map draws under its own points (2,029 in the reference city: one query,
    no GeoJSON envelope per point)."""
    return JsonResponse(
        map_data.school_points(School.objects.visible_to(request.user)),
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
        headers={"Cache-Control": "private, max-age=300"},
    )
