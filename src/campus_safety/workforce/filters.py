"""Guard and equipment filters, shared by the workforce pages and the API."""

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from campus_safety.orgs.filters import district_filter
from campus_safety.orgs.models import Organisation
from campus_safety.workforce.models import Equipment, Guard


class GuardFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Guard.Kind.choices)
    school = django_filters.NumberFilter(label=_("School"), field_name="school_id")
    region = district_filter()
    company = django_filters.ModelChoiceFilter(
        label=_("Security company"),
        queryset=Organisation.objects.filter(kind=Organisation.Kind.SECURITY_COMPANY),
    )
    certified = django_filters.BooleanFilter(label=_("Certified"), method="filter_certified")
    ordering = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=[
            ("name", "name"),
            ("kind", "kind"),
            ("school__code", "school"),
            ("hired_on", "hired_on"),
        ],
    )

    class Meta:
        model = Guard
        fields = ["q", "kind", "school", "region", "company"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()[:64]
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(school__name__icontains=value)
            | Q(certificate_number__startswith=value)
        )

    def filter_certified(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if value is None:
            return queryset
        return (
            queryset.exclude(certificate_number="")
            if value
            else queryset.filter(certificate_number="")
        )


class EquipmentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Equipment.Kind.choices)
    school = django_filters.NumberFilter(label=_("School"), field_name="school_id")
    region = district_filter()

    class Meta:
        model = Equipment
        fields = ["kind", "school", "region"]
