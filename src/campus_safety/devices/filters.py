"""Device filters, shared by the device pages and ``/api/v1/devices/``."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from campus_safety.devices.models import Device, KeyArea
from campus_safety.orgs.filters import district_filter, school_filter

DEVICE_ORDERINGS = {
    "device_id": "device_id",
    "name": "name",
    "kind": "kind",
    "status": "status",
    "status_since": "status_since",
    "last_seen": "last_seen_at",
    "school": "school__name",
    "district": "school__region__code",
    "key_area": "key_area",
    "protocol": "protocol",
}


class DeviceFilter(django_filters.FilterSet):
    """Filters over an already scoped queryset (``Device.objects.visible_to(user)``)."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    region = district_filter()
    school = school_filter()
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Device.Kind.choices)
    key_area = django_filters.ChoiceFilter(label=_("Key area"), choices=KeyArea.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Device.Status.choices)
    protocol = django_filters.ChoiceFilter(label=_("Protocol"), choices=Device.Protocol.choices)
    is_flapping = django_filters.BooleanFilter(label=_("Flapping"))
    picture_fault = django_filters.BooleanFilter(
        label=_("Picture fault"),
        field_name="picture_fault_since",
        lookup_expr="isnull",
        exclude=True,
    )
    standalone = django_filters.BooleanFilter(
        label=_("Connects on its own"), field_name="parent", lookup_expr="isnull"
    )
    parent = django_filters.CharFilter(
        label=_("Parent device ID"), field_name="parent__device_id", max_length=20
    )
    ordering = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=[(path, name) for name, path in DEVICE_ORDERINGS.items()],
    )

    class Meta:
        model = Device
        fields = ["q", "region", "school", "kind", "key_area", "status", "protocol"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()[:64]
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(device_id__startswith=value)
        return queryset.filter(
            Q(name__icontains=value)
            | Q(school__name__icontains=value)
            | Q(address__icontains=value)
        )
