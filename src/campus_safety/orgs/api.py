"""REST API (``/api/v1/``): the region and organisation directories.

Schools are served from ``workforce/api.py``: every school row carries its guard
staffing, and orgs never imports the apps built on top of it.
"""

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.routers import DefaultRouter

from campus_safety.orgs.models import Organisation, Region


class RegionSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Region
        fields = ["id", "code", "name", "level", "parent"]


class RegionDetailSerializer(RegionSerializer):
    """Adds the GeoJSON outline, which can be tens of kilobytes per region."""

    class Meta(RegionSerializer.Meta):
        fields = [*RegionSerializer.Meta.fields, "outline"]


class RegionBriefSerializer(serializers.ModelSerializer):
    """How other resources name a region."""

    class Meta:
        model = Region
        fields = ["code", "name"]


class OrganisationSerializer(serializers.ModelSerializer):
    region = RegionBriefSerializer(read_only=True)

    class Meta:
        model = Organisation
        fields = [
            "id",
            "name",
            "kind",
            "region",
            "parent",
            "phone",
            "address",
            "longitude",
            "latitude",
        ]


class RegionFilter(django_filters.FilterSet):
    parent = django_filters.ModelChoiceFilter(
        label=_("Parent region code"), queryset=Region.objects.all(), to_field_name="code"
    )

    class Meta:
        model = Region
        fields = ["level", "parent"]


class OrganisationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), field_name="name", lookup_expr="icontains")
    region = django_filters.ModelChoiceFilter(
        label=_("Region code"), queryset=Region.objects.all(), to_field_name="code"
    )

    class Meta:
        model = Organisation
        fields = ["q", "kind", "region"]


def wants_outline(request) -> bool:
    return request.query_params.get("outline", "").lower() in {"1", "true", "yes"}


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "outline", OpenApiTypes.BOOL, description="Include each region's GeoJSON outline."
            )
        ],
        description="Regions without their outlines unless `?outline=1`.",
    ),
)
class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """行政区划 — GB/T 2260 divisions; any signed-in user may read the directory."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = RegionFilter

    def get_queryset(self) -> QuerySet:
        regions = Region.objects.visible_to(self.request.user).select_related("parent")
        if self.action == "list" and not wants_outline(self.request):
            regions = regions.defer("outline")
        return regions

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action == "retrieve" or wants_outline(self.request):
            return RegionDetailSerializer
        return RegionSerializer


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """单位 — police units, education bureaus and security companies."""

    serializer_class = OrganisationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrganisationFilter

    def get_queryset(self) -> QuerySet:
        return Organisation.objects.visible_to(self.request.user).select_related("region")


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the v1 router."""
    router.register("regions", RegionViewSet, basename="region")
    router.register("organisations", OrganisationViewSet, basename="organisation")
