"""REST API (``/api/v1/``): the headline figures and guard staffing per district.

Both read ``summary.summary`` over the user's visible schools, so the API, the
dashboard and the ``report summary`` command can never disagree.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety.accounts.permissions import RolePermission
from campus_safety.orgs.models import School
from campus_safety.reports.summary import summary
from campus_safety.workforce.figures import GUARD_KINDS
from campus_safety.workforce.serializers import StaffingRuleQuery
from campus_safety.workforce.staffing import COUNTED_KINDS

HAZARD_FIGURES = ("found", "rectified", "open", "overdue")


def _counts(name: str, keys: tuple[str, ...]) -> serializers.Serializer:
    return inline_serializer(name, {k: serializers.IntegerField() for k in keys})


class SummaryDistrictSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    schools = serializers.IntegerField()
    students = serializers.IntegerField()
    guards = _counts("SummaryDistrictGuards", GUARD_KINDS)
    required = serializers.IntegerField()
    schools_short = serializers.IntegerField()
    gap = serializers.IntegerField()
    equipment = serializers.IntegerField()


@extend_schema_serializer(many=False)  # served by a ``list`` action, but one object
class SummarySerializer(serializers.Serializer):
    """The shape of ``reports.summary.summary`` (documentation only)."""

    generated_at = serializers.DateTimeField()
    schools = serializers.IntegerField()
    schools_by_kind = serializers.DictField(child=serializers.IntegerField())
    students = serializers.IntegerField()
    guards = _counts("SummaryGuards", (*GUARD_KINDS, "total"))
    equipment = serializers.IntegerField()
    equipment_by_kind = serializers.DictField(child=serializers.IntegerField())
    staffing = inline_serializer(
        "SummaryStaffing",
        {
            "rule": serializers.CharField(),
            "required": serializers.IntegerField(),
            "gap": serializers.IntegerField(),
            "schools_short": serializers.IntegerField(),
        },
    )
    cameras = serializers.IntegerField()
    one_key_alarms = serializers.IntegerField()
    devices_online_rate = serializers.FloatField()
    devices = serializers.DictField()
    alarms = inline_serializer(
        "SummaryAlarms",
        {
            "total": serializers.IntegerField(),
            "false_alarm_rate": serializers.FloatField(),
            "p50_ack_s": serializers.FloatField(allow_null=True),
            "p90_arrival_s": serializers.FloatField(allow_null=True),
        },
    )
    hazards = inline_serializer(
        "SummaryHazards",
        {
            kind: _counts(f"SummaryHazards{kind.title()}", HAZARD_FIGURES)
            for kind in ("internal", "surrounding")
        },
    )
    patrols = inline_serializer(
        "SummaryPatrols",
        {
            "posts": serializers.IntegerField(),
            "post_coverage_rate": serializers.FloatField(),
            "tour_compliance_rate": serializers.FloatField(),
        },
    )
    districts = SummaryDistrictSerializer(many=True)


class DistrictStaffingSerializer(serializers.Serializer):
    """Guards required and counted in one district; ``gap`` adds up each school's own
    shortfall, since a surplus at one school does not guard another."""

    code = serializers.CharField()
    name = serializers.CharField()
    schools = serializers.IntegerField()
    required = serializers.IntegerField()
    counted = serializers.IntegerField()
    gap = serializers.IntegerField()
    schools_short = serializers.IntegerField()


@extend_schema_serializer(many=False)
class DistrictStaffingListSerializer(serializers.Serializer):
    rule = serializers.CharField()
    districts = DistrictStaffingSerializer(many=True)


def district_staffing(figures: dict[str, Any]) -> dict[str, Any]:
    """Cut the staffing columns per district out of a ``summary`` result."""
    return {
        "rule": figures["staffing"]["rule"],
        "districts": [
            {
                "code": d["code"],
                "name": d["name"],
                "schools": d["schools"],
                "required": d["required"],
                "counted": sum(d["guards"][k] for k in COUNTED_KINDS),
                "gap": d["gap"],
                "schools_short": d["schools_short"],
            }
            for d in figures["districts"]
        ],
    }


class SummaryViewSet(viewsets.ViewSet):
    """City, district or school figures, for whatever the user's scope covers."""

    permission_classes = [RolePermission]
    resource = "schools"

    @extend_schema(parameters=[StaffingRuleQuery], responses=SummarySerializer)
    def list(self, request: Request, format: str | None = None) -> Response:
        rule = StaffingRuleQuery.rule_from(request.query_params)
        return Response(summary(School.objects.visible_to(request.user), rule))


class DistrictStaffingViewSet(viewsets.ViewSet):
    """专职保安员配备 — guards required, counted and missing per district."""

    permission_classes = [RolePermission]
    resource = "schools"

    @extend_schema(parameters=[StaffingRuleQuery], responses=DistrictStaffingListSerializer)
    def list(self, request: Request, format: str | None = None) -> Response:
        rule = StaffingRuleQuery.rule_from(request.query_params)
        figures = summary(School.objects.visible_to(request.user), rule)
        return Response(district_staffing(figures))


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the v1 router."""
    router.register("reports/summary", SummaryViewSet, basename="report-summary")
    router.register("staffing/districts", DistrictStaffingViewSet, basename="staffing-district")
