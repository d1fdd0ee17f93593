"""The inspections app's REST API: daily results, notices (with answer / accept /
return), video patrols and their findings, camera picture quality — the pages' scopes.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import parsers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety.accounts.permissions import RolePermission
from campus_safety.api_pagination import stable_order
from campus_safety.inspections import notices
from campus_safety.inspections.models import (
    CameraQuality,
    DailyResult,
    Finding,
    Notice,
    VideoPatrol,
)


class InspectionResultSerializer(serializers.ModelSerializer):
    school_name = serializers.CharField(source="school.name", read_only=True)

    class Meta:
        model = DailyResult
        fields = [
            "id",
            "school",
            "school_name",
            "day",
            "ruleset",
            "score",
            "district_rank",
            "city_rank",
            "failed",
            "items",
            "notice",
        ]


class InspectionNoticeSerializer(serializers.ModelSerializer):
    school_name = serializers.CharField(source="school.name", read_only=True)
    hazard_reference = serializers.CharField(source="hazard.reference", read_only=True)
    status = serializers.CharField(source="hazard.status", read_only=True)
    deadline = serializers.DateTimeField(source="hazard.deadline", read_only=True)
    state = serializers.SerializerMethodField()

    class Meta:
        model = Notice
        fields = [
            "id",
            "reference",
            "school",
            "school_name",
            "source",
            "items",
            "issued_at",
            "hazard",
            "hazard_reference",
            "status",
            "deadline",
            "state",
        ]

    def get_state(self, notice: Notice) -> str:
        return notices.state_label(notice)


class InspectionNoticeStepSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    photos = serializers.ListField(child=serializers.ImageField(), required=False, max_length=6)


class InspectionFindingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Finding
        fields = ["id", "patrol", "school", "device", "kind", "note", "at", "notice"]


class InspectionPatrolSerializer(serializers.ModelSerializer):
    schools = serializers.SerializerMethodField()

    class Meta:
        model = VideoPatrol
        fields = [
            "id",
            "plan",
            "organisation",
            "inspector",
            "status",
            "started_at",
            "finished_at",
            "schools",
        ]

    def get_schools(self, patrol: VideoPatrol) -> list[int]:
        return [stop.school_id for stop in patrol.stops.all()]


class InspectionCameraSerializer(serializers.ModelSerializer):
    device_id = serializers.CharField(source="device.device_id", read_only=True)

    class Meta:
        model = CameraQuality
        fields = [
            "id",
            "device",
            "device_id",
            "school",
            "faults",
            "faulty_since",
            "checked_at",
            "reference_at",
        ]


class DailyResultViewSet(viewsets.ReadOnlyModelViewSet):
    """每日网上巡查结果 — scores of the schools in the user's scope."""

    permission_classes = [RolePermission]
    resource = "inspections"
    serializer_class = InspectionResultSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["day", "school", "school__region__code"]

    def get_queryset(self) -> QuerySet:
        return stable_order(
            DailyResult.objects.visible_to(self.request.user).select_related("school")
        )


class NoticeViewSet(viewsets.ReadOnlyModelViewSet):
    """整改通知 — and the steps of their life (the hazard workflow's)."""

    permission_classes = [RolePermission]
    resource = "inspection_notices"
    serializer_class = InspectionNoticeSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["school", "source"]
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]

    def get_queryset(self) -> QuerySet:
        return stable_order(
            Notice.objects.visible_to(self.request.user).select_related("school", "hazard")
        )

    def _step(self, request: Request, step: str) -> Response:
        notice = self.get_object()
        if step not in notices.steps_for(request.user, notice):
            raise PermissionDenied(notices.state_label(notice))
        body = InspectionNoticeStepSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = body.validated_data.get("note", "")
        try:
            if step == "answer":
                notices.answer_notice(
                    notice, request.user, note, body.validated_data.get("photos", [])
                )
            elif step == "accept":
                notices.accept_notice(notice, request.user, note)
            else:
                notices.return_notice(notice, request.user, note)
        except DjangoValidationError as exc:
            raise ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            ) from exc
        notice.hazard.refresh_from_db()
        return Response(InspectionNoticeSerializer(notice).data)

    @extend_schema(request=InspectionNoticeStepSerializer, responses=InspectionNoticeSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: Any = None) -> Response:
        """The school answers with what it did and at least one photo."""
        return self._step(request, "answer")

    @extend_schema(request=InspectionNoticeStepSerializer, responses=InspectionNoticeSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: Any = None) -> Response:
        """The issuing side accepts the answer."""
        return self._step(request, "accept")

    @extend_schema(request=InspectionNoticeStepSerializer, responses=InspectionNoticeSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: Any = None) -> Response:
        """The issuing side returns the answer with the reason."""
        return self._step(request, "return")


class VideoPatrolViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [RolePermission]
    resource = "inspections"
    serializer_class = InspectionPatrolSerializer

    def get_queryset(self) -> QuerySet:
        return stable_order(
            VideoPatrol.objects.visible_to(self.request.user).distinct().prefetch_related("stops")
        )


class FindingViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [RolePermission]
    resource = "inspections"
    serializer_class = InspectionFindingSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["school", "kind", "patrol"]

    def get_queryset(self) -> QuerySet:
        return stable_order(Finding.objects.visible_to(self.request.user))


class CameraQualityViewSet(viewsets.ReadOnlyModelViewSet):
    """视频质量诊断 — each camera's current picture faults."""

    permission_classes = [RolePermission]
    resource = "inspections"
    serializer_class = InspectionCameraSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["school"]

    def get_queryset(self) -> QuerySet:
        return stable_order(
            CameraQuality.objects.visible_to(self.request.user).select_related("device")
        )


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the shared router."""
    router.register("inspections/results", DailyResultViewSet, basename="inspection-result")
    router.register("inspections/notices", NoticeViewSet, basename="inspection-notice")
    router.register("inspections/patrols", VideoPatrolViewSet, basename="inspection-patrol")
    router.register("inspections/findings", FindingViewSet, basename="inspection-finding")
    router.register("inspections/cameras", CameraQualityViewSet, basename="inspection-camera")
