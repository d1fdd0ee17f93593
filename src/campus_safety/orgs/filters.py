"""School filters, shared by the schools page and ``/api/v1/schools/``."""

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.web.widgets import SchoolPicker

SCHOOL_ORDERINGS = {
    "code": "code",
    "name": "name",
    "kind": "kind",
    "students": "students",
    "staff": "staff",
    "region": "region__code",
    "required_guards": "required_guards",
    "guard_gap": "guard_gap",
    "guards_counted": "guards_counted",
}


def district_filter(field_name: str = "school__region") -> django_filters.ModelChoiceFilter:
    """``?region=371402``: a county-level division by its GB/T 2260 code."""
    return django_filters.ModelChoiceFilter(
        label=_("District"),
        field_name=field_name,
        queryset=Region.objects.filter(level=Region.Level.COUNTY),
        to_field_name="code",
    )


def visible_schools(request) -> QuerySet[School]:
    """Only schools in the user's scope are valid choices (no probing other scopes)."""
    return School.objects.visible_to(getattr(request, "user", None)).order_by("name")


def school_filter() -> django_filters.ModelChoiceFilter:
    """``?school=<id>``, among the schools the user may see (a search box for many)."""
    return django_filters.ModelChoiceFilter(
        label=_("School"), queryset=visible_schools, widget=SchoolPicker
    )


class SchoolFilter(django_filters.FilterSet):
    """Expects a queryset already passed through ``annotate_staffing`` for ``short``."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    region = district_filter("region")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=School.Kind.choices)
    is_boarding = django_filters.BooleanFilter(label=_("Boarding"))
    police_station = django_filters.ModelChoiceFilter(
        label=_("Police station"),
        queryset=Organisation.objects.filter(kind=Organisation.Kind.POLICE_STATION),
    )
    has_police_room = django_filters.BooleanFilter(label=_("Campus police room"))
    short = django_filters.BooleanFilter(label=_("Short of guards"), method="filter_short")
    ordering = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=[(path, name) for name, path in SCHOOL_ORDERINGS.items()],
    )

    class Meta:
        model = School
        fields = ["q", "region", "kind", "is_boarding", "police_station", "has_police_room"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()[:64]
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(code__startswith=value) | Q(address__icontains=value)
        )

    def filter_short(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(guard_gap__gt=0) if value else queryset.filter(guard_gap=0)
