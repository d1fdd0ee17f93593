"""REST API (``/api/v1/``): schools with their staffing, guards and equipment.

Schools live here rather than in ``orgs/api.py`` because each row carries its guard
counts and gap (``staffing.annotate_staffing``) and its equipment, and orgs never
imports the apps built on top of it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import APIException
from rest_framework.routers import DefaultRouter

from campus_safety.accounts.permissions import RolePermission
from campus_safety.api_pagination import stable_order
from campus_safety.orgs.filters import SchoolFilter
from campus_safety.orgs.models import School
from campus_safety.workforce import services
from campus_safety.workforce.filters import EquipmentFilter, GuardFilter
from campus_safety.workforce.models import Equipment, Guard
from campus_safety.workforce.serializers import (
    EquipmentSerializer,
    GuardSerializer,
    SchoolDetailSerializer,
    SchoolSerializer,
    StaffingRuleQuery,
)
from campus_safety.workforce.staffing import StaffingRule, annotate_staffing


class StillReferenced(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("Other records still refer to this one.")
    default_code = "protected"


class RegistryViewSet(viewsets.ModelViewSet):
    """Scoped, filtered, stably paged CRUD; subclasses name the role-table resource, the
    filter and the scoped queryset."""

    permission_classes = [RolePermission]
    resource: str
    filter_backends = [DjangoFilterBackend]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return stable_order(super().filter_queryset(queryset))


@extend_schema_view(
    list=extend_schema(parameters=[StaffingRuleQuery]),
    retrieve=extend_schema(parameters=[StaffingRuleQuery]),
    destroy=extend_schema(responses={204: None, 409: None}),
)
class SchoolViewSet(RegistryViewSet):
    """学校 — each row with guards by kind, the guards required and the gap."""

    resource = "schools"
    filterset_class = SchoolFilter

    @cached_property
    def staffing_rule(self) -> StaffingRule:
        return StaffingRuleQuery.rule_from(self.request.query_params)

    def get_queryset(self) -> QuerySet:
        schools = School.objects.visible_to(self.request.user).select_related(
            "region", "police_station"
        )
        if self.action == "retrieve":
            schools = schools.prefetch_related("equipment")
        return annotate_staffing(schools, self.staffing_rule)

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return SchoolDetailSerializer if self.action == "retrieve" else SchoolSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "rule": self.staffing_rule}

    def perform_create(self, serializer: SchoolSerializer) -> None:
        self._save_and_recount(serializer)

    def perform_update(self, serializer: SchoolSerializer) -> None:
        self._save_and_recount(serializer)

    def _save_and_recount(self, serializer: SchoolSerializer) -> None:
        """Save through the service, then answer with the staffing figures as they
        stand after the write (read back through the writer's scope)."""
        visible = School.objects.visible_to(self.request.user)
        try:
            school = services.save_school(
                serializer.validated_data, instance=serializer.instance, visible=visible
            )
        except services.OutsideScope as exc:
            raise serializers.ValidationError({"police_station_id": [str(exc)]}) from exc
        serializer.instance = self.get_queryset().get(pk=school.pk)

    def perform_destroy(self, instance: School) -> None:
        try:
            services.delete_school(instance)
        except services.StillReferenced as exc:
            raise StillReferenced(str(exc)) from exc


class GuardViewSet(RegistryViewSet):
    """保安员 — guards posted at the schools in the user's scope."""

    resource = "guards"
    serializer_class = GuardSerializer
    filterset_class = GuardFilter

    def get_queryset(self) -> QuerySet:
        return Guard.objects.visible_to(self.request.user).select_related("school", "company")


class EquipmentViewSet(RegistryViewSet):
    """防护装备 — protective equipment held by the schools in the user's scope."""

    resource = "equipment"
    serializer_class = EquipmentSerializer
    filterset_class = EquipmentFilter

    def get_queryset(self) -> QuerySet:
        return Equipment.objects.visible_to(self.request.user).select_related("school")


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the v1 router."""
    router.register("schools", SchoolViewSet, basename="school")
    router.register("guards", GuardViewSet, basename="guard")
    router.register("equipment", EquipmentViewSet, basename="equipment")
