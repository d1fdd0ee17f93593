"""The video app's REST API (``/api/v1/video-cameras/``): a camera's named presets
(预置位) and reading them from the camera (GB/T 28181-2022 PresetQuery), for roles
that may steer cameras. Live streams, playback and PTZ moves stay on the camera page's
endpoints (``/video/``): they hold a connection open, which a REST call should not."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from campus_safety.accounts.roles import READ, WRITE, can
from campus_safety.devices.models import Device
from campus_safety.video import routing, services
from campus_safety.video.serializers import (
    ErrorSerializer,
    PresetReadSerializer,
    PresetSerializer,
)


class MayManagePresets(BasePermission):
    """Presets are part of steering a camera: ``ptz`` read to list them, write to read
    them from the camera (it changes the platform's list)."""

    message = _("Your role may not steer cameras.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can(request.user, READ if request.method in SAFE_METHODS else WRITE, "ptz")


class CameraPresetViewSet(viewsets.GenericViewSet):
    """摄像机预置位 — the presets of the cameras in the user's scope (a camera outside it
    is a 404)."""

    permission_classes = [MayManagePresets]
    serializer_class = PresetSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Device]:
        return services.cameras_visible_to(self.request.user).select_related("parent")

    @extend_schema(responses=PresetSerializer(many=True))
    @action(detail=True, methods=["get"])
    def presets(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The camera's presets with their names, by number."""
        return Response(PresetSerializer(services.presets_of(self.get_object()), many=True).data)

    @extend_schema(
        request=None,
        responses={
            200: PresetReadSerializer,
            502: ErrorSerializer,
            503: ErrorSerializer,
            504: ErrorSerializer,
        },
    )
    @action(detail=True, methods=["post"], url_path="presets/read", url_name="read-presets")
    def read_presets(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """从设备读取: ask the camera for the presets it keeps (PresetQuery) and merge them
        into the named list — the camera's names win, numbers it no longer has are
        removed (only when its whole answer came). 504 when the camera does not answer
        (设备未应答), 502 when its answer is refused or unreadable. Audited."""
        camera = self.get_object()
        device_id = services.target_of(camera).device_id
        routed = async_to_sync(routing.route)(request._request, device_id)
        if routed is not None:  # another SIP process holds the camera's registration
            return routed
        try:
            merge = async_to_sync(services.read_device_presets)(camera, request.user)
        except services.PresetReadError as exc:
            return Response({"error": str(exc)}, status=exc.status)
        return Response(
            {
                "presets": services.presets_of(camera),
                "listed": merge.listed,
                "complete": merge.is_complete,
                "added": list(merge.added),
                "renamed": list(merge.renamed),
                "removed": [{"number": n, "name": name} for n, name in merge.removed],
            }
        )


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the shared router."""
    router.register("video-cameras", CameraPresetViewSet, basename="video-camera")
