"""The linkage app's REST API (``/api/v1/linkage/...``) with the pages' scopes:
police rooms and duty logs, discipline records (the list masked; a record only with
``?reason=``, audited), plans, drills and their compliance, notices with receipts,
lectures. Refusals carry their reason: 400 bad input, 403 not yours to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety.accounts.models import User
from campus_safety.accounts.permissions import RolePermission
from campus_safety.linkage import discipline, notices, services
from campus_safety.linkage.models import (
    DisciplineRecord,
    Drill,
    DutyLog,
    EmergencyPlan,
    Lecture,
    Notice,
    NoticeReceipt,
    PoliceRoom,
)
from campus_safety.linkage.serializers import (
    LinkageComplianceSerializer,
    LinkageConfirmSerializer,
    LinkageDisciplineCreateSerializer,
    LinkageDisciplineDetailSerializer,
    LinkageDisciplineListSerializer,
    LinkageDrillSerializer,
    LinkageDutyLogCreateSerializer,
    LinkageDutyLogSerializer,
    LinkageForwardSerializer,
    LinkageLectureSerializer,
    LinkageNoticeCreateSerializer,
    LinkageNoticeDetailSerializer,
    LinkageNoticeSerializer,
    LinkagePlanSerializer,
    LinkagePoliceRoomSerializer,
    LinkageReceiptSerializer,
    LinkageRemindedSerializer,
)
from campus_safety.orgs.models import School
from campus_safety.scoping import get_visible_or_404


def _call(run: Callable[[], Any]) -> Any:
    try:
        return run()
    except DjangoValidationError as exc:
        raise ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        ) from exc
    except services.NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc


def _school(user: Any, pk: int) -> School:
    return get_visible_or_404(School, user, pk=pk)


class PoliceRoomViewSet(viewsets.ReadOnlyModelViewSet):
    """校园警务室 of the schools in the user's scope."""

    permission_classes = [RolePermission]
    resource = "police_rooms"
    serializer_class = LinkagePoliceRoomSerializer

    def get_queryset(self):
        return (
            PoliceRoom.objects.visible_to(self.request.user)
            .select_related("school")
            .prefetch_related("officers")
            .order_by("pk")
        )


class DutyLogViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Duty log entries of the police rooms in scope; POST records one (a problem
    becomes a hazard)."""

    permission_classes = [RolePermission]
    resource = "police_rooms"
    serializer_class = LinkageDutyLogSerializer

    def get_queryset(self):
        return (
            DutyLog.objects.visible_to(self.request.user)
            .select_related("room", "officer")
            .order_by("-at", "-pk")
        )

    @extend_schema(request=LinkageDutyLogCreateSerializer, responses=LinkageDutyLogSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = LinkageDutyLogCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        school = _school(request.user, data.validated_data.pop("school"))
        room = PoliceRoom.objects.filter(school=school).first()
        if room is None:
            raise ValidationError({"school": ["This school has no police room registered."]})
        log = _call(lambda: services.record_duty(request.user, room, **data.validated_data))
        return Response(LinkageDutyLogSerializer(log).data, status=201)


class DisciplineViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """训诫教育 records the user is a reader of (see ``DisciplineQuerySet``); a record
    needs ``?reason=`` and each read is audited with it."""

    permission_classes = [RolePermission]
    resource = "discipline"
    serializer_class = LinkageDisciplineListSerializer

    def get_queryset(self):
        return (
            DisciplineRecord.objects.visible_to(self.request.user)
            .select_related("school")
            .order_by("-created_at", "-pk")
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        discipline.audit_list(request.user, len(response.data.get("results", [])), "api")
        return response

    @extend_schema(
        parameters=[OpenApiParameter("reason", OpenApiTypes.STR, required=True)],
        responses=LinkageDisciplineDetailSerializer,
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            pk = int(kwargs["pk"])
        except (TypeError, ValueError):
            raise Http404 from None
        discipline.readable_or_404(request.user, pk)
        record = _call(
            lambda: discipline.read_record(request.user, pk, request.query_params.get("reason", ""))
        )
        return Response(LinkageDisciplineDetailSerializer(record).data)

    @extend_schema(
        request=LinkageDisciplineCreateSerializer, responses=LinkageDisciplineListSerializer
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = LinkageDisciplineCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        school = _school(request.user, fields.pop("school"))
        contact = User.objects.filter(pk=fields.pop("designated_contact")).first()
        record = _call(
            lambda: discipline.record_discipline(
                request.user, school=school, designated_contact=contact, **fields
            )
        )
        return Response(LinkageDisciplineListSerializer(record).data, status=201)


class PlanViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """应急预案 of the schools in scope; POST submits a new version."""

    permission_classes = [RolePermission]
    resource = "emergency_plans"
    serializer_class = LinkagePlanSerializer

    def get_queryset(self):
        return EmergencyPlan.objects.visible_to(self.request.user).order_by("pk")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = LinkagePlanSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        school = _school(request.user, data.validated_data["school"].pk)
        plan = _call(
            lambda: services.submit_plan(
                request.user,
                school,
                kind=data.validated_data["kind"],
                summary=data.validated_data.get("summary", ""),
            )
        )
        return Response(LinkagePlanSerializer(plan).data, status=201)


class DrillViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """应急演练 of the schools in scope; ``compliance`` is this term's board."""

    permission_classes = [RolePermission]
    resource = "emergency_plans"
    serializer_class = LinkageDrillSerializer

    def get_queryset(self):
        return Drill.objects.visible_to(self.request.user).order_by("-held_at", "-pk")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = LinkageDrillSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        school = _school(request.user, fields.pop("school").pk)
        drill = _call(lambda: services.record_drill(request.user, school, **fields))
        return Response(LinkageDrillSerializer(drill).data, status=201)

    @extend_schema(responses=LinkageComplianceSerializer(many=True))
    @action(detail=False)
    def compliance(self, request: Request, **kwargs: Any) -> Response:
        rows = services.drill_compliance(School.objects.visible_to(request.user))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(LinkageComplianceSerializer(page, many=True).data)


class NoticeViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """信息通报 the user sent or whose schools received; receipts, confirm, remind."""

    permission_classes = [RolePermission]
    resource = "notices"
    serializer_class = LinkageNoticeSerializer

    def get_queryset(self):
        return Notice.objects.visible_to(self.request.user).order_by("-created_at", "-pk")

    @extend_schema(request=LinkageNoticeCreateSerializer, responses=LinkageNoticeSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = LinkageNoticeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        target = {
            k: fields.pop(k, []) for k in ("regions", "stations", "kinds", "schools", "units")
        }
        notice = _call(lambda: notices.send_notice(request.user, target=target, **fields))
        return Response(LinkageNoticeSerializer(notice).data, status=201)

    def get_serializer_class(self):
        # one notice carries its forwarding chain; a list does not (a query per row)
        if self.action == "retrieve":
            return LinkageNoticeDetailSerializer
        return LinkageNoticeSerializer

    @extend_schema(responses=LinkageReceiptSerializer(many=True))
    @action(detail=True)
    def receipts(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        notice = self.get_object()
        rows = (
            NoticeReceipt.objects.visible_to(request.user)
            .filter(notice=notice)
            .select_related("school")
            .order_by("school__code")
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(LinkageReceiptSerializer(page, many=True).data)

    @extend_schema(request=LinkageConfirmSerializer, responses=LinkageReceiptSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        notice = self.get_object()
        data = LinkageConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        receipt = _call(
            lambda: notices.confirm(request.user, notice, data.validated_data.get("reply", ""))
        )
        return Response(LinkageReceiptSerializer(receipt).data)

    @extend_schema(request=None, responses=LinkageRemindedSerializer)
    @action(detail=True, methods=["post"])
    def remind(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Remind the schools that have not confirmed and the units that have not
        forwarded."""
        notice = self.get_object()
        done = _call(lambda: notices.remind(notice, request.user))
        return Response({"reminded": int(done), "schools": done.schools, "units": done.units})

    @extend_schema(
        request=LinkageForwardSerializer,
        responses={201: LinkageNoticeSerializer},
        description=(
            "转发: the unit this notice was passed to forwards it to its own schools "
            "(a station: its area; a bureau or sub-bureau: its region) and, optionally, "
            "to units below it (`units`). Once per unit (400 the second time); 403 when "
            "the notice was not passed to the caller's unit. Audited `notice.forward`."
        ),
    )
    @action(detail=True, methods=["post"])
    def forward(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        notice = self.get_object()
        data = LinkageForwardSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        notices.mark_relay_read(request.user, notice)
        child = _call(
            lambda: notices.forward(
                request.user,
                notice,
                note=fields.get("note", ""),
                units=fields.get("units") or None,
                confirm_by=fields.get("confirm_by"),
            )
        )
        return Response(LinkageNoticeSerializer(child).data, status=201)


class LectureViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Safety lectures at the schools in scope."""

    permission_classes = [RolePermission]
    resource = "safety_lectures"
    serializer_class = LinkageLectureSerializer

    def get_queryset(self):
        return Lecture.objects.visible_to(self.request.user).order_by("-held_on", "-pk")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = LinkageLectureSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        school = _school(request.user, fields.pop("school").pk)
        lecture = _call(lambda: services.record_lecture(request.user, school, **fields))
        return Response(LinkageLectureSerializer(lecture).data, status=201)


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the shared router."""
    router.register("linkage/police-rooms", PoliceRoomViewSet, basename="linkage-police-room")
    router.register("linkage/duty-logs", DutyLogViewSet, basename="linkage-duty-log")
    router.register("linkage/discipline", DisciplineViewSet, basename="linkage-discipline")
    router.register("linkage/plans", PlanViewSet, basename="linkage-plan")
    router.register("linkage/drills", DrillViewSet, basename="linkage-drill")
    router.register("linkage/notices", NoticeViewSet, basename="linkage-notice")
    router.register("linkage/lectures", LectureViewSet, basename="linkage-lecture")
