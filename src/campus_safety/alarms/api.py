"""REST API (``/api/v1/``): alarm cases and their actions, police units, drill windows
and response-time statistics. Scope through ``visible_to`` (out of scope = 404); what
a role may do through the role table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety.accounts.permissions import RolePermission
from campus_safety.alarms import drills, statistics, workflow
from campus_safety.alarms.context import case_context
from campus_safety.alarms.models import AlarmCase, AlarmEscalation, Dispatch, PoliceUnit, TestWindow
from campus_safety.alarms.serializers import (
    AlarmCaseDetailSerializer,
    AlarmCaseSerializer,
    AlarmStatisticsSerializer,
    ArriveRequestSerializer,
    DispatchRequestSerializer,
    EnRouteRequestSerializer,
    PoliceUnitSerializer,
    ResolveRequestSerializer,
    TestWindowSerializer,
)
from campus_safety.api_pagination import stable_order
from campus_safety.orgs.models import School


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The case is not in a state that allows this.")
    default_code = "invalid_transition"


class AlarmCaseFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=AlarmCase.State.choices)
    school = filters.NumberFilter(field_name="school_id")
    district = filters.CharFilter(field_name="school__region__code", help_text="GB/T 2260 code")
    priority = filters.NumberFilter()
    is_test = filters.BooleanFilter()
    is_open = filters.BooleanFilter(method="filter_open", help_text="not yet closed")

    class Meta:
        model = AlarmCase
        fields = ["state", "school", "district", "priority", "is_test"]

    def filter_open(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(closed_at__isnull=value)


class AlarmCaseViewSet(viewsets.ReadOnlyModelViewSet):
    """报警警情 — the cases of the schools in the user's scope, and the steps on them."""

    permission_classes = [RolePermission]
    resource = "alarms"
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlarmCaseFilter

    def get_queryset(self) -> QuerySet:
        cases = AlarmCase.objects.visible_to(self.request.user).select_related(
            "school__region", "device"
        )
        if self.action == "retrieve":
            cases = cases.select_related(
                "school__police_station",
                "acknowledged_by",
                "dispatched_by",
                "arrived_by",
                "closed_by",
            ).prefetch_related(
                Prefetch(
                    "dispatches",
                    Dispatch.objects.select_related("unit", "dispatched_by"),
                ),
                Prefetch("escalations", AlarmEscalation.objects.select_related("organisation")),
            )
        return cases

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return stable_order(super().filter_queryset(queryset))

    def get_serializer_class(self) -> type:
        return AlarmCaseDetailSerializer if self.action == "retrieve" else AlarmCaseSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case = self.get_object()
        context = {
            **self.get_serializer_context(),
            "case_context": case_context(case, request.user),
        }
        return Response(AlarmCaseDetailSerializer(case, context=context).data)

    def _step(self, request: Request, run: Callable[[AlarmCase], Any]) -> Response:
        """Run one workflow step on a case in scope (out of scope = 404). The step locks
        the case and checks the role and state itself; its refusals are mapped here:
        role 403, a case (or unit) that moved on 409, bad input 400, with the reason."""
        case = self.get_object()
        try:
            run(case)
        except workflow.NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except workflow.InvalidTransition as exc:
            raise Conflict(str(exc)) from exc
        except ValueError as exc:  # a written disposition missing, a unit not sent …
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(AlarmCaseSerializer(self.get_queryset().get(pk=case.pk)).data)

    @extend_schema(request=None, responses={200: AlarmCaseSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, lambda case: workflow.acknowledge_case(case, by=request.user))

    @extend_schema(request=DispatchRequestSerializer, responses={200: AlarmCaseSerializer})
    @action(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch")
    def send_units(self, request: Request, pk: str | None = None) -> Response:
        """Named so as not to shadow ``APIView.dispatch``; the route is ``…/dispatch/``."""
        body = DispatchRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = body.validated_data["units"]
        return self._step(request, lambda case: workflow.dispatch_units(case, ids, by=request.user))

    @extend_schema(request=EnRouteRequestSerializer, responses={200: AlarmCaseSerializer})
    @action(detail=True, methods=["post"], url_path="en-route", url_name="en-route")
    def en_route(self, request: Request, pk: str | None = None) -> Response:
        body = EnRouteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        unit = body.validated_data["unit"]
        return self._step(
            request, lambda case: workflow.record_en_route(case, unit, by=request.user)
        )

    @extend_schema(request=ArriveRequestSerializer, responses={200: AlarmCaseSerializer})
    @action(detail=True, methods=["post"])
    def arrive(self, request: Request, pk: str | None = None) -> Response:
        body = ArriveRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        unit = body.validated_data.get("unit")
        return self._step(
            request, lambda case: workflow.record_arrival(case, by=request.user, unit=unit)
        )

    @extend_schema(request=ResolveRequestSerializer, responses={200: AlarmCaseSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        body = ResolveRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._step(
            request,
            lambda case: workflow.close_case(
                case,
                by=request.user,
                disposition=body.validated_data["disposition"],
                outcome=body.validated_data["outcome"],
            ),
        )


class PoliceUnitViewSet(viewsets.ReadOnlyModelViewSet):
    """出警力量 — patrol cars, foot patrols and campus police rooms with their positions."""

    permission_classes = [RolePermission]
    resource = "alarm_dispatch"
    serializer_class = PoliceUnitSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["kind", "organisation", "is_available"]

    def get_queryset(self) -> QuerySet:
        return stable_order(
            PoliceUnit.objects.visible_to(self.request.user).select_related("organisation")
        )


class TestWindowViewSet(viewsets.ModelViewSet):
    """报警测试窗口 — planned drills: alarms inside become test cases."""

    __test__ = False
    permission_classes = [RolePermission]
    resource = "alarm_drills"
    serializer_class = TestWindowSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["school", "device"]

    def get_queryset(self) -> QuerySet:
        return stable_order(TestWindow.objects.visible_to(self.request.user))

    def perform_create(self, serializer: TestWindowSerializer) -> None:
        serializer.instance = drills.schedule_test_window(
            self.request.user, **serializer.validated_data
        )


class AlarmStatisticsViewSet(viewsets.ViewSet):
    """出警统计 — response times per district and month, false-alarm rates (no drills)."""

    permission_classes = [RolePermission]
    resource = "alarms"

    @extend_schema(responses=AlarmStatisticsSerializer)
    def list(self, request: Request, format: str | None = None) -> Response:
        cases = AlarmCase.objects.visible_to(request.user)
        return Response(
            {
                "summary": statistics.summary_block(
                    School.objects.visible_to(request.user), reader=request.user
                ),
                "response_times": statistics.response_times(cases),
                "false_alarms_by_school": statistics.false_alarm_rates(cases, by="school"),
                "false_alarms_by_device": statistics.false_alarm_rates(cases, by="device"),
            }
        )


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the v1 router."""
    router.register("alarm-cases", AlarmCaseViewSet, basename="alarm-case")
    router.register("police-units", PoliceUnitViewSet, basename="police-unit")
    router.register("test-windows", TestWindowViewSet, basename="test-window")
    router.register("alarm-statistics", AlarmStatisticsViewSet, basename="alarm-statistics")
