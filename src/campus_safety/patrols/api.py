"""REST API of the app (registered on the shared /api/v1/ router): guard tours,
patrol alarms, 护学岗 posts with rosters and check-ins, grid patrols and field stops."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety import clock
from campus_safety.accounts.permissions import RolePermission
from campus_safety.accounts.roles import READ, can
from campus_safety.api_pagination import stable_order
from campus_safety.orgs.models import School
from campus_safety.patrols import grid, peak_posts, services, statistics
from campus_safety.patrols import serializers as s
from campus_safety.patrols.models import (
    Checkpoint,
    FieldStop,
    GridRoute,
    PatrolAlarm,
    PatrolLog,
    PeakPost,
    PostAssignment,
    PostCheckIn,
    TourPlan,
    TourRound,
    TourRoute,
    TourScan,
)
from campus_safety.patrols.post_rules import Position
from campus_safety.scoping import get_visible_or_404


class MayRead(BasePermission):
    """A personal action (check in at one's own post) needs only read on the resource."""

    def has_permission(self, request: Request, view) -> bool:
        return can(request.user, READ, view.resource)


class Refused(serializers.ValidationError):
    pass


class ScopedViewSet(viewsets.ModelViewSet):
    """Scoped (``visible_to``), role-checked, stably ordered."""

    permission_classes = [RolePermission]
    resource: str
    model: type
    related: tuple[str, ...] = ()

    def get_queryset(self) -> QuerySet:
        rows = self.model.objects.visible_to(self.request.user)
        return rows.select_related(*self.related) if self.related else rows

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        params = self.request.query_params
        school = params.get("school", "")
        if school.isdigit() and hasattr(self.model, "school"):
            queryset = queryset.filter(school_id=int(school))
        return stable_order(super().filter_queryset(queryset))


class ReadOnlyScopedViewSet(ScopedViewSet):
    http_method_names = ["get", "head", "options"]


def _day(request: Request, name: str = "day") -> dt.date | None:
    value = request.query_params.get(name, "")
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise serializers.ValidationError({name: _("Give a date like 2026-03-02.")}) from None


class CheckpointViewSet(ScopedViewSet):
    """巡更点 — checkpoints (a device or a QR/NFC tag code)."""

    resource, model, related = "patrols", Checkpoint, ("school",)
    serializer_class = s.CheckpointSerializer


class TourRouteViewSet(ScopedViewSet):
    """巡更路线 — ordered checkpoints."""

    resource, model, related = "patrols", TourRoute, ("school",)
    serializer_class = s.TourRouteSerializer

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().prefetch_related("stops")


class TourPlanViewSet(ScopedViewSet):
    """巡更计划 — a route walked at set times by named guards."""

    resource, model, related = "patrols", TourPlan, ("school",)
    serializer_class = s.TourPlanSerializer

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().prefetch_related("guards")


@extend_schema(
    parameters=[
        OpenApiParameter("day", str, description="YYYY-MM-DD"),
        OpenApiParameter("status", str),
        OpenApiParameter("school", int),
    ]
)
class TourRoundViewSet(ReadOnlyScopedViewSet):
    """Rounds and how they went (complete / late / wrong order / missed checkpoint)."""

    resource, model, related = "patrols", TourRound, ("school",)
    serializer_class = s.TourRoundSerializer

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        day = _day(self.request)
        if day is not None:
            queryset = queryset.filter(day=day)
        wanted = self.request.query_params.get("status", "")
        if wanted:
            if wanted not in TourRound.Status.values:
                raise serializers.ValidationError(
                    {"status": _("Choose one of %s.") % ", ".join(TourRound.Status.values)}
                )
            queryset = queryset.filter(status=wanted)
        return super().filter_queryset(queryset)

    @extend_schema(parameters=[OpenApiParameter("day", str, description="YYYY-MM-DD")])
    @action(detail=False, methods=["get"])
    def compliance(self, request: Request, *args, **kwargs) -> Response:
        """Each school's day against the ≥5 rounds rule (GB/T 29315-2022)."""
        day = _day(request) or services.local_day(clock.now()) - dt.timedelta(days=1)
        schools = School.objects.visible_to(request.user)
        rows = services.compliance(schools, day)
        page = self.paginate_queryset(sorted(rows.values(), key=lambda c: c.school_id))
        return self.get_paginated_response(
            [
                {
                    "school": c.school_id, "day": day, "rounds": c.rounds, "walked": c.walked,
                    "complete": c.complete, "late": c.late, "wrong_order": c.wrong_order,
                    "missed": c.missed, "pending": c.pending, "is_compliant": c.is_compliant,
                }
                for c in page
            ]
        )  # fmt: skip


class TourScanViewSet(ReadOnlyScopedViewSet):
    """Checkpoint scans, from devices and phones (stored once per source and event)."""

    resource, model = "patrols", TourScan
    serializer_class = s.TourScanSerializer


class PatrolAlarmViewSet(ReadOnlyScopedViewSet):
    """巡更报警 — missed checkpoints; acknowledged and resolved by a person."""

    resource, model, related = "patrols", PatrolAlarm, ("school", "checkpoint")
    serializer_class = s.PatrolAlarmSerializer
    http_method_names = ["get", "head", "options", "post"]

    def _step(self, request: Request, step) -> Response:
        alarm = self.get_object()
        body = s.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            step(alarm, request.user, body.validated_data["note"])
        except services.PatrolError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(alarm).data)

    @extend_schema(request=s.NoteSerializer, responses=s.PatrolAlarmSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, services.acknowledge_alarm)

    @extend_schema(request=s.NoteSerializer, responses=s.PatrolAlarmSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, services.resolve_alarm)


class PeakPostViewSet(ScopedViewSet):
    """护学岗 — gate posts; check in and out with the phone's position."""

    resource, model, related = "posts", PeakPost, ("school",)
    serializer_class = s.PeakPostSerializer

    def get_permissions(self):
        if self.action in ("check_in", "check_out", "coverage"):
            return [MayRead()]
        return super().get_permissions()

    def _duty(self, request: Request, pk: str | None, step) -> Response:
        post = get_visible_or_404(PeakPost, request.user, pk=pk)
        body = s.PositionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            row = step(
                request.user,
                post,
                Position(data["longitude"], data["latitude"], data["accuracy"]),
                note=data["note"],
                as_exception=data["exception"],
            )
        except services.CheckInRefused as exc:
            return Response({"reasons": exc.reasons}, status=status.HTTP_409_CONFLICT)
        code = status.HTTP_201_CREATED if step is peak_posts.check_in else status.HTTP_200_OK
        return Response(s.PostCheckInSerializer(row).data, status=code)

    @extend_schema(request=s.PositionSerializer, responses={201: s.PostCheckInSerializer})
    @action(detail=True, methods=["post"], url_path="check-in", url_name="check-in")
    def check_in(self, request: Request, pk: str | None = None) -> Response:
        return self._duty(request, pk, peak_posts.check_in)

    @extend_schema(request=s.PositionSerializer, responses=s.PostCheckInSerializer)
    @action(detail=True, methods=["post"], url_path="check-out", url_name="check-out")
    def check_out(self, request: Request, pk: str | None = None) -> Response:
        return self._duty(request, pk, peak_posts.check_out)

    @extend_schema(parameters=[OpenApiParameter("day", str, description="YYYY-MM-DD")])
    @action(detail=False, methods=["get"])
    def coverage(self, request: Request, *args, **kwargs) -> Response:
        """Each window of the day: staffed / understaffed / empty (live during the peak),
        and the district rates (护学岗 setting and coverage)."""
        day = _day(request) or services.local_day(clock.now())
        rows = statistics.window_coverage(self.get_queryset(), day, clock.now())
        kpis = statistics.coverage_by_district(School.objects.visible_to(request.user))
        return Response(
            {
                "day": day,
                "windows": [
                    {
                        "post": r["post"].pk, "peak": r["peak"], "opens": r["opens"],
                        "closes": r["closes"], "phase": r["phase"], "state": r["state"],
                        "required": r["required"], "present": r["present"],
                        "rostered": r["rostered"],
                    }
                    for r in rows
                ],
                "setting_rate": kpis["setting_rate"],
                "coverage_rate": kpis["coverage_rate"],
                "districts": kpis["districts"],
            }
        )  # fmt: skip


class PostAssignmentViewSet(ReadOnlyScopedViewSet):
    """排班 — roster entries; generated for a span (a term), swapped one by one."""

    resource, model, related = "posts", PostAssignment, ("user",)
    serializer_class = s.PostAssignmentSerializer
    http_method_names = ["get", "head", "options", "post"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        day = _day(self.request)
        if day is not None:
            queryset = queryset.filter(day=day)
        if self.request.query_params.get("mine") == "true":
            queryset = queryset.filter(user=self.request.user)
        return super().filter_queryset(queryset.select_related("check_in"))

    @extend_schema(request=s.GenerateSerializer, responses={201: dict})
    @action(detail=False, methods=["post"])
    def generate(self, request: Request, *args, **kwargs) -> Response:
        body = s.GenerateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        posts = PeakPost.objects.visible_to(request.user)
        school_id = body.validated_data["school_id"]
        if school_id is not None:
            school = School.objects.visible_to(request.user).filter(pk=school_id).first()
            if school is None:
                raise serializers.ValidationError({"school_id": _("No such school.")})
            posts = posts.filter(school=school)
        try:
            counts = peak_posts.generate_roster(
                posts,
                body.validated_data["starts_on"],
                body.validated_data["ends_on"],
                by=request.user,
            )
        except services.PatrolError as exc:
            raise serializers.ValidationError({"detail": str(exc)}) from exc
        return Response(counts, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SwapSerializer, responses=s.PostAssignmentSerializer)
    @action(detail=True, methods=["post"])
    def swap(self, request: Request, pk: str | None = None) -> Response:
        entry = self.get_object()
        body = s.SwapSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        to_user = get_user_model().objects.filter(pk=body.validated_data["user"]).first()
        if to_user is None:
            raise serializers.ValidationError({"user": _("No such person.")})
        try:
            peak_posts.swap_assignment(entry, to_user, request.user, body.validated_data["note"])
        except services.PatrolError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(entry).data)


class PostCheckInViewSet(ReadOnlyScopedViewSet):
    """Check-ins and check-outs at posts (exceptions carry their note)."""

    resource, model = "posts", PostCheckIn
    serializer_class = s.PostCheckInSerializer


class GridRouteViewSet(ScopedViewSet):
    """网格化巡逻路线 — police routes covering schools."""

    resource, model = "grid_patrols", GridRoute
    serializer_class = s.GridRouteSerializer

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().prefetch_related("schools").distinct()


class PoliceRecordViewSet(ScopedViewSet):
    """Logs and stops are written by the officer, for the officer's own unit (grid.py)."""

    http_method_names = ["get", "head", "options", "post"]
    record: Any  # grid.record_patrol_log or grid.record_field_stop

    def perform_create(self, serializer) -> None:
        try:
            serializer.instance = type(self).record(self.request.user, serializer.validated_data)
        except services.PatrolError as exc:
            raise serializers.ValidationError({"detail": str(exc)}) from exc


class PatrolLogViewSet(PoliceRecordViewSet):
    """巡逻记录 — a patrol with its GPS track (police only)."""

    resource, model, related = "grid_patrols", PatrolLog, ("officer",)
    serializer_class = s.PatrolLogSerializer
    record = grid.record_patrol_log

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().distinct()


class FieldStopViewSet(PoliceRecordViewSet):
    """盘查 — stops of suspicious persons near schools; police eyes only. The nearest
    school is found from the position."""

    resource, model, related = "field_stops", FieldStop, ("nearest_school",)
    serializer_class = s.FieldStopSerializer
    record = grid.record_field_stop


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the shared router."""
    router.register("patrol-checkpoints", CheckpointViewSet, basename="patrol-checkpoint")
    router.register("patrol-routes", TourRouteViewSet, basename="patrol-route")
    router.register("patrol-plans", TourPlanViewSet, basename="patrol-plan")
    router.register("patrol-rounds", TourRoundViewSet, basename="patrol-round")
    router.register("patrol-scans", TourScanViewSet, basename="patrol-scan")
    router.register("patrol-alarms", PatrolAlarmViewSet, basename="patrol-alarm")
    router.register("gate-posts", PeakPostViewSet, basename="gate-post")
    router.register("post-roster", PostAssignmentViewSet, basename="post-roster")
    router.register("post-check-ins", PostCheckInViewSet, basename="post-check-in")
    router.register("grid-routes", GridRouteViewSet, basename="grid-route")
    router.register("patrol-logs", PatrolLogViewSet, basename="patrol-log")
    router.register("field-stops", FieldStopViewSet, basename="field-stop")
