"""REST API (``/api/v1/``): the headline figures and guard staffing per district.

Both read ``summary.summary`` over the user's visible schools, so the API, the
dashboard and the ``report summary`` command can never disagree.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety.accounts.permissions import RolePermission
from campus_safety.orgs.map_data import county_regions_of
from campus_safety.orgs.models import Region, School
from campus_safety.reports import (
    availability,
    campaign,
    counting,
    scheduled,
    screen_data,
    targets,
)
from campus_safety.reports.models import GeneratedReport
from campus_safety.reports.summary import summary
from campus_safety.scoping import is_police
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
        return Response(summary(School.objects.visible_to(request.user), rule, reader=request.user))


class DistrictStaffingViewSet(viewsets.ViewSet):
    """专职保安员配备 — guards required, counted and missing per district."""

    permission_classes = [RolePermission]
    resource = "schools"

    @extend_schema(parameters=[StaffingRuleQuery], responses=DistrictStaffingListSerializer)
    def list(self, request: Request, format: str | None = None) -> Response:
        rule = StaffingRuleQuery.rule_from(request.query_params)
        figures = summary(School.objects.visible_to(request.user), rule, reader=request.user)
        return Response(district_staffing(figures))


REGION_QUERY = OpenApiParameter(
    "region", str, description="a district's code (GB/T 2260) inside your scope"
)
FROM_QUERY = OpenApiParameter("from", OpenApiTypes.DATE, description="first day (YYYY-MM-DD)")
TO_QUERY = OpenApiParameter("to", OpenApiTypes.DATE, description="last day (YYYY-MM-DD)")
DAYS_QUERY = OpenApiParameter("days", int, description="days back from today (1–92)")


def _scoped(request: Request) -> tuple[Any, Region | None]:
    """The user's schools, narrowed to ``?region=`` (a district in scope, else 404)."""
    schools = School.objects.visible_to(request.user)
    if code := request.query_params.get("region", "").strip():
        district = county_regions_of(schools).filter(code=code).first()
        if district is None:
            raise NotFound(_("No such district in your area."))
        return schools.filter(region=district), district
    return schools, None


class TargetsViewSet(viewsets.ViewSet):
    """四个100% — each target's rate per district and the schools that miss, with why."""

    permission_classes = [RolePermission]
    resource = "schools"

    @extend_schema(parameters=[StaffingRuleQuery, REGION_QUERY], responses=OpenApiTypes.OBJECT)
    def list(self, request: Request, format: str | None = None) -> Response:
        rule = StaffingRuleQuery.rule_from(request.query_params)
        return Response(targets.board(_scoped(request)[0], rule))

    @extend_schema(
        parameters=[StaffingRuleQuery, REGION_QUERY, OpenApiParameter("weeks", int)],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=False)
    def trend(self, request: Request, format: str | None = None) -> Response:
        rule = StaffingRuleQuery.rule_from(request.query_params)
        try:
            weeks = min(max(int(request.query_params.get("weeks", 8)), 1), 26)
        except ValueError as error:
            raise ValidationError({"weeks": _("A whole number of weeks.")}) from error
        return Response(
            {"rule": rule.key, "weeks": targets.weekly_trend(_scoped(request)[0], rule, weeks)}
        )


class AvailabilityViewSet(viewsets.ViewSet):
    """在线率历史 — daily availability of the approved devices per district and in total."""

    permission_classes = [RolePermission]
    resource = "devices"

    @extend_schema(parameters=[REGION_QUERY, DAYS_QUERY], responses=OpenApiTypes.OBJECT)
    def list(self, request: Request, format: str | None = None) -> Response:
        schools, _district = _scoped(request)
        try:
            days = min(max(int(request.query_params.get("days", 14)), 1), 92)
        except ValueError as error:
            raise ValidationError({"days": _("A whole number of days.")}) from error
        history = availability.schools_history(schools, days)
        names = dict(Region.objects.filter(pk__in=history.regions).values_list("pk", "code"))
        return Response(
            {
                "days": [d.isoformat() for d in history.days],
                "total": history.series(history.total),
                "rate": history.mean_rate(history.total),
                "districts": {
                    names[pk]: {"rate": history.mean_rate(t), "days": history.series(t)}
                    for pk, t in history.regions.items()
                },
                "schools": {pk: history.mean_rate(t) for pk, t in history.schools.items()},
            }
        )


class CampaignViewSet(viewsets.ViewSet):
    """The campaign report's paragraphs and each figure (exact, as written, its records)."""

    permission_classes = [RolePermission]
    resource = "schools"

    @extend_schema(parameters=[REGION_QUERY, FROM_QUERY, TO_QUERY], responses=OpenApiTypes.OBJECT)
    def list(self, request: Request, format: str | None = None) -> Response:
        schools = School.objects.visible_to(request.user)
        region = None
        if code := request.query_params.get("region", "").strip():
            region = Region.objects.filter(code=code).first()
            if region is None or not campaign.area_schools(schools, region).exists():
                raise NotFound(_("No such area in your scope."))
        dates = {}
        for key in ("from", "to"):
            raw = request.query_params.get(key, "").strip()
            try:
                dates[key] = parse_date(raw) if raw else None
            except ValueError:
                dates[key] = None
            if raw and dates[key] is None:
                raise ValidationError({key: _("Dates are written YYYY-MM-DD.")})
        try:
            police = counting.reads_police_only(request.user)
            report = campaign.campaign(schools, region, dates["from"], dates["to"], police)
        except ValueError as error:
            raise ValidationError({"to": _("The period ends before it starts.")}) from error
        return Response(report.as_json())


class BigScreenViewSet(viewsets.ViewSet):
    """The big screen's figures: ``live`` (alarms, units, posts, devices, hazards) and
    ``kpi`` (the 4×100% rates per district, the open early-warning clusters and the
    latest inspection ranking)."""

    permission_classes = [RolePermission]
    resource = "big_screen"

    @extend_schema(parameters=[REGION_QUERY], responses=OpenApiTypes.OBJECT)
    def list(self, request: Request, format: str | None = None) -> Response:
        police = is_police(request.user)  # a watch-list hit's case is police eyes only
        return Response(screen_data.live_part(_scoped(request)[0], police=police))

    @extend_schema(parameters=[StaffingRuleQuery, REGION_QUERY], responses=OpenApiTypes.OBJECT)
    @action(detail=False)
    def kpi(self, request: Request, format: str | None = None) -> Response:
        rule = StaffingRuleQuery.rule_from(request.query_params)
        return Response(screen_data.kpi_part(_scoped(request)[0], rule))


class GeneratedReportSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code")
    kind = serializers.CharField(help_text="weekly, monthly or term")

    class Meta:
        model = GeneratedReport
        fields = ["id", "kind", "region", "period_start", "period_end", "generated_at"]


class GeneratedReportViewSet(viewsets.ReadOnlyModelViewSet):
    """Kept scheduled reports of the user's area; ``figures`` gives what each was made from."""

    permission_classes = [RolePermission]
    resource = "scheduled_reports"
    serializer_class = GeneratedReportSerializer
    queryset = GeneratedReport.objects.none()  # the schema's path type; see get_queryset

    def get_queryset(self):
        return (
            scheduled.visible_reports(self.request.user)
            .select_related("region")
            .defer("pdf", "xlsx", "figures")
            .order_by("-period_end", "-id")
        )

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True)
    def figures(self, request: Request, pk: str | None = None, format: str | None = None):
        report = get_object_or_404(scheduled.visible_reports(request.user), pk=pk)
        return Response(report.figures)


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the v1 router."""
    router.register("reports/summary", SummaryViewSet, basename="report-summary")
    router.register("staffing/districts", DistrictStaffingViewSet, basename="staffing-district")
    router.register("reports/targets", TargetsViewSet, basename="report-targets")
    router.register("reports/availability", AvailabilityViewSet, basename="report-availability")
    router.register("reports/campaign", CampaignViewSet, basename="report-campaign")
    router.register("reports/big-screen", BigScreenViewSet, basename="report-big-screen")
    router.register("reports/generated", GeneratedReportViewSet, basename="report-generated")
