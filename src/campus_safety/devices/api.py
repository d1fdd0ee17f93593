"""REST API (``/api/v1/devices/``): the device registry with live state, each device's
status history and channels (paginated: an NVR may bring thousands), online rates,
approval of pending devices, and the gateway's counters."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety.accounts.permissions import RolePermission
from campus_safety.api_pagination import stable_order
from campus_safety.devices import gateway_link, services
from campus_safety.devices.filters import DeviceFilter
from campus_safety.devices.models import Device, StatusChange
from campus_safety.devices.serializers import (
    ApproveSerializer,
    DeviceBriefSerializer,
    DeviceSerializer,
    GatewayStatusSerializer,
    OnlineRateReportSerializer,
    StatusChangeSerializer,
)
from campus_safety.scoping import get_visible_or_404

GROUPINGS = {
    "district": services.online_rate_by_district,
    "school": services.online_rate_by_school,
    "key_area": services.online_rate_by_key_area,
    "kind": services.online_rate_by_kind,
    "city": services.online_rate_by_city,
}


def _channel_counts() -> Subquery:
    return Coalesce(
        Subquery(
            Device.objects.filter(parent=OuterRef("pk"))
            .order_by()
            .values("parent")
            .annotate(n=Count("pk"))
            .values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


@extend_schema_view(
    destroy=extend_schema(responses={204: None}),
)
class DeviceViewSet(viewsets.ModelViewSet):
    """设备 — devices of the schools in the user's scope, with their live state."""

    permission_classes = [RolePermission]
    resource = "devices"
    serializer_class = DeviceSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeviceFilter

    def get_queryset(self) -> QuerySet[Device]:
        devices = Device.objects.visible_to(self.request.user).select_related("school", "parent")
        if self.action in ("list", "retrieve", "create", "update", "partial_update"):
            devices = devices.annotate(channel_count=_channel_counts())
        return devices

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """The list's filters apply to the list only (a detail route is found by id)."""
        if self.action != "list":
            return queryset
        return stable_order(super().filter_queryset(queryset))

    def perform_create(self, serializer: DeviceSerializer) -> None:
        with transaction.atomic():
            device = serializer.save()
        serializer.instance = self.get_queryset().get(pk=device.pk)

    def perform_update(self, serializer: DeviceSerializer) -> None:
        with transaction.atomic():
            device = serializer.save()
        serializer.instance = self.get_queryset().get(pk=device.pk)

    def _device(self) -> Device:
        """The device of a detail route, through the scope (404 outside it)."""
        return get_visible_or_404(Device, self.request.user, pk=self.kwargs["pk"])

    @extend_schema(responses=StatusChangeSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The device's state changes, newest first (paginated)."""
        device = self._device()
        changes = StatusChange.objects.filter(device=device).order_by("-at", "-id")
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(StatusChangeSerializer(page, many=True).data)

    @extend_schema(responses=DeviceBriefSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def channels(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The device's channels (通道), by channel ID (paginated)."""
        device = self._device()
        channels = Device.objects.filter(parent=device).order_by("device_id", "pk")
        page = self.paginate_queryset(channels)
        return self.get_paginated_response(DeviceBriefSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "by",
                OpenApiTypes.STR,
                enum=list(GROUPINGS),
                description="Group by district (default), school, key area, kind or city.",
            )
        ],
        responses=OnlineRateReportSerializer,
    )
    @action(detail=False, methods=["get"], url_path="online-rate")
    def online_rate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """在线率 of approved devices (after the list's filters), one GROUP BY."""
        by = request.query_params.get("by", "district")
        if by not in GROUPINGS:
            raise serializers.ValidationError({"by": f"one of {', '.join(GROUPINGS)}"})
        devices = super().filter_queryset(
            Device.objects.visible_to(request.user).filter(is_approved=True)
        )

        def row(rate: services.OnlineRate) -> dict[str, Any]:
            return {
                "key": None if rate.key is None else str(rate.key),
                "name": rate.name,
                "total": rate.total,
                "online": rate.online,
                "rate": round(rate.rate, 4),
            }

        return Response(
            {
                "by": by,
                "overall": row(services.online_rate(devices)),
                "rows": [row(r) for r in GROUPINGS[by](devices)],
            }
        )

    @extend_schema(request=ApproveSerializer, responses=DeviceSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def approve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Admit a device waiting for approval, placing it at a school (audited)."""
        device = get_object_or_404(services.pending_devices(request.user), pk=self.kwargs["pk"])
        body = ApproveSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        try:
            services.approve_device(
                device,
                by=request.user,
                school=body.validated_data["school"],
                kind=body.validated_data.get("kind"),
                key_area=body.validated_data.get("key_area"),
                name=body.validated_data.get("name"),
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        device = self.get_queryset().get(pk=device.pk)
        return Response(DeviceSerializer(device, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Refuse a device waiting for approval: it is removed (audited)."""
        device = get_object_or_404(services.pending_devices(request.user), pk=self.kwargs["pk"])
        services.reject_device(device, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=GatewayStatusSerializer, filters=False)
    @action(detail=False, methods=["get"], filterset_class=None)
    def gateway(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Counters of the gateway running in this process (platform administrators)."""
        if not (request.user.is_superuser or request.user.role == "system_admin"):
            raise PermissionDenied
        link = gateway_link.current()
        if link is None:
            return Response({"running": False})
        return Response({"running": True, **link.stats()})


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the v1 router."""
    router.register("devices", DeviceViewSet, basename="device")
