"""Hazard filters, shared by the hazard pages and ``/api/v1/hazards/``: status, kind,
district, school, overdue, responsible party, severity, source and free text."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from campus_safety import clock
from campus_safety.devices.models import KeyArea
from campus_safety.hazards.models import Hazard
from campus_safety.hazards.statistics import overdue_q
from campus_safety.orgs.filters import district_filter, school_filter
from campus_safety.orgs.models import Organisation

HAZARD_ORDERINGS = {
    "reference": "reference",
    "reported": "reported_at",
    "deadline": "deadline",
    "severity": "severity",
    "status": "status",
    "school": "school__name",
}
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def police_stations(request) -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=Organisation.Kind.POLICE_STATION).order_by("name")


class HazardFilter(django_filters.FilterSet):
    """Filters over an already scoped queryset (``Hazard.objects.visible_to(user)``)."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=Hazard.Status.choices)
    is_open = django_filters.BooleanFilter(label=_("Still open"), method="filter_open")
    is_rectified = django_filters.BooleanFilter(label=_("Rectified"), method="filter_rectified")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Hazard.Kind.choices)
    region = district_filter()
    school = school_filter()
    severity = django_filters.ChoiceFilter(label=_("Severity"), choices=Hazard.Severity.choices)
    category = django_filters.ChoiceFilter(label=_("Category"), choices=Hazard.Category.choices)
    source = django_filters.ChoiceFilter(label=_("Found by"), choices=Hazard.Source.choices)
    key_area = django_filters.ChoiceFilter(label=_("Key area"), choices=KeyArea.choices)
    spot_kind = django_filters.ChoiceFilter(
        label=_("Trouble-spot kind"), choices=Hazard.SpotKind.choices
    )
    responsible = django_filters.ChoiceFilter(
        label=_("Responsible party"),
        field_name="responsible_kind",
        choices=Hazard.Responsible.choices,
    )
    responsible_organisation = django_filters.ModelChoiceFilter(
        label=_("Responsible police station"), queryset=police_stations
    )
    overdue = django_filters.BooleanFilter(label=_("Overdue"), method="filter_overdue")
    escalated = django_filters.BooleanFilter(
        label=_("Escalated"), method="filter_escalated", help_text="escalated after the deadline"
    )
    ordering = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=[(path, name) for name, path in HAZARD_ORDERINGS.items()],
    )

    class Meta:
        model = Hazard
        fields = ["q", "status", "kind", "region", "school", "severity", "source"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()[:64]
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__icontains=value)
            | Q(title__icontains=value)
            | Q(school__name__icontains=value)
            | Q(location__icontains=value)
            | Q(facility__icontains=value)
        )

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        condition = Q(status__in=Hazard.OPEN_STATUSES)
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_rectified(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        condition = Q(status__in=Hazard.RECTIFIED_STATUSES)
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        condition = overdue_q(clock.now())
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_escalated(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        escalated = Q(escalation_level__gt=0, status__in=Hazard.RUNNING_STATUSES)
        return queryset.filter(escalated) if value else queryset.exclude(escalated)
