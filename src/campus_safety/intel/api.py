"""The intel app's REST API: early-warning alerts (education sees its schools' alerts,
no persons), incidents (police; persons masked), leads (police read; schools and
guards may submit), special operations and what they did (arrests, patrols, linked
leads: police only, like the operation's page)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety import clock, spreadsheets
from campus_safety.accounts.permissions import RolePermission
from campus_safety.accounts.roles import IMPORT, READ, can
from campus_safety.intel import dispatch_import, services
from campus_safety.intel.geo import SchoolPoints
from campus_safety.intel.models import (
    Alert,
    CoordinateSystem,
    DispatchSource,
    Group,
    Incident,
    Lead,
    Operation,
    OperationEntry,
)
from campus_safety.intel.serializers import (
    AlertSerializer,
    AlertStepSerializer,
    DispatchImportSerializer,
    DispatchResultSerializer,
    GroupSerializer,
    IncidentCreateSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    LeadSerializer,
    OperationArrestInSerializer,
    OperationArrestSerializer,
    OperationCreateSerializer,
    OperationLeadInSerializer,
    OperationLeadSerializer,
    OperationPatrolInSerializer,
    OperationPatrolSerializer,
    OperationSerializer,
    RevealedPersonSerializer,
    RevealSerializer,
)
from campus_safety.scoping import get_visible_or_404, is_police
from campus_safety.spreadsheets import ImportFileError


def _as_drf(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"detail": exc.messages})


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """预警 — early-warning alerts of the schools in the user's scope."""

    permission_classes = [RolePermission]
    resource = "intel_alerts"
    serializer_class = AlertSerializer

    def get_queryset(self) -> QuerySet:
        return Alert.objects.visible_to(self.request.user).order_by("-raised_at", "-pk")

    @extend_schema(request=AlertStepSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def step(self, request: Request, pk: str | None = None) -> Response:
        """Acknowledge, assess (with the assessment in ``note``) or close."""
        alert = self.get_object()
        data = AlertStepSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            alert = services.advance_alert(
                alert,
                data.validated_data["action"],
                user=request.user,
                note=data.validated_data["note"],
            )
        except DjangoValidationError as exc:
            raise _as_drf(exc) from exc
        return Response(AlertSerializer(alert).data)


class IncidentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """涉校警情 — police only; persons masked."""

    permission_classes = [RolePermission]
    resource = "incidents"

    def get_queryset(self) -> QuerySet:
        return (
            Incident.objects.visible_to(self.request.user)
            .prefetch_related("persons", "schools")
            .order_by("-occurred_at", "-pk")
        )

    def get_serializer_class(self):
        return IncidentCreateSerializer if self.action == "create" else IncidentSerializer

    @extend_schema(request=IncidentCreateSerializer, responses=IncidentSerializer)
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = IncidentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        persons = values.pop("persons", [])
        try:
            points = SchoolPoints.load()
            services.check_place(request.user, values["latitude"], values["longitude"], points)
            incident = services.record_incident(
                source=Incident.Source.API,
                persons=persons,
                user=request.user,
                points=points,
                **values,
            )
        except DjangoValidationError as exc:
            raise _as_drf(exc) from exc
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentUpdateSerializer, responses=IncidentSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        """Edit kind, status, outcome, place, address or summary, like the page: a moved
        place stays in the officer's area; audited with the old and new values."""
        incident = self.get_object()
        data = IncidentUpdateSerializer(data=request.data, context={"incident": incident})
        data.is_valid(raise_exception=True)
        try:
            services.update_incident(incident, user=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise _as_drf(exc) from exc
        incident = self.get_queryset().get(pk=incident.pk)
        return Response(IncidentSerializer(incident).data)

    @extend_schema(request=RevealSerializer, responses=RevealedPersonSerializer(many=True))
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, pk: str | None = None) -> Response:
        """The incident's persons (or the chosen ``persons``) in full, with a stated
        ``reason``; each reveal is audited with it. Police with reveal rights only."""
        incident = self.get_object()
        data = RevealSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        persons = incident.persons.order_by("pk")
        if data.validated_data["persons"]:
            persons = persons.filter(pk__in=data.validated_data["persons"])
        try:
            shown = services.reveal_persons(request.user, persons, data.validated_data["reason"])
        except DjangoValidationError as exc:
            raise _as_drf(exc) from exc
        except DjangoPermissionDenied:
            raise PermissionDenied from None
        response = Response(RevealedPersonSerializer(shown, many=True).data)
        response["Cache-Control"] = "private, no-store"
        return response


class LeadViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """线索 — police read them; schools and guards may only submit."""

    permission_classes = [RolePermission]
    resource = "leads"
    serializer_class = LeadSerializer
    queryset = Lead.objects.none()  # the schema's path type; see get_queryset

    def get_queryset(self) -> QuerySet:
        if not can(self.request.user, READ, "leads"):
            raise PermissionDenied
        return Lead.objects.visible_to(self.request.user).order_by("-received_at", "-pk")

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = LeadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        role = getattr(request.user, "role", "")
        source = {"school_admin": Lead.Source.SCHOOL, "guard": Lead.Source.GUARD}.get(
            role, Lead.Source.POLICE
        )
        try:
            lead = services.submit_lead(
                source=source,
                summary=v["summary"],
                kind=v.get("kind", "other"),
                address=v.get("address", ""),
                latitude=v.get("latitude"),
                longitude=v.get("longitude"),
                user=request.user,
            )
        except DjangoValidationError as exc:
            raise _as_drf(exc) from exc
        body = {"id": lead.pk, "reference": lead.reference, "status": lead.status}
        return Response(body, status=status.HTTP_201_CREATED)


class GroupViewSet(viewsets.ReadOnlyModelViewSet):
    """团伙 — groups of linked persons (police only; the graph's labels are masked)."""

    permission_classes = [RolePermission]
    resource = "incidents"
    serializer_class = GroupSerializer

    def get_queryset(self) -> QuerySet:
        return (
            Group.objects.visible_to(self.request.user)
            .prefetch_related("incidents")
            .order_by("-detected_at", "-pk")
        )


_RECORD_ERRORS = {
    400: OpenApiResponse(description="Refused, with the reason (e.g. a day outside the period)."),
    403: OpenApiResponse(description="Police roles with operations write only."),
    404: OpenApiResponse(description="No such operation in your area."),
}
_RECORD_READ_ERRORS = {
    403: OpenApiResponse(description="Police roles only (others read the totals)."),
    404: OpenApiResponse(description="No such operation in your area."),
}


class OperationRecordsMixin:
    """What an operation did, as on its page: arrests and patrols (list, record) and the
    leads it took up (list, link, unlink). Police only — the education bureau reads the
    operation's totals, never its records; the operation is reached through the user's
    scope (another station's is a 404); every write goes through
    ``services.add_operation_entry`` / ``unlink_operation_lead`` and is audited there."""

    def _operation_for_records(self, request: Request) -> Operation:
        if not is_police(request.user):
            raise PermissionDenied
        return self.get_object()

    def _entries(self, request: Request, operation: Operation, kind: str, serializer) -> Response:
        rows = (
            operation.entries.filter(kind=kind)
            .select_related("lead", "incident", "created_by")
            .order_by("-day", "-pk")
        )
        page = self.paginate_queryset(rows)
        if page is not None:
            return self.get_paginated_response(serializer(page, many=True).data)
        return Response(serializer(rows, many=True).data)

    def _record(self, request: Request, operation: Operation, kind: str, **values) -> Response:
        try:
            entry = services.add_operation_entry(operation, user=request.user, kind=kind, **values)
        except DjangoValidationError as exc:
            raise _as_drf(exc) from exc
        serializer = {
            OperationEntry.Kind.ARREST: OperationArrestSerializer,
            OperationEntry.Kind.PATROL: OperationPatrolSerializer,
        }.get(kind, OperationLeadSerializer)
        entry = OperationEntry.objects.select_related("lead", "incident", "created_by").get(
            pk=entry.pk
        )
        return Response(serializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: OperationArrestSerializer(many=True), **_RECORD_READ_ERRORS},
    )
    @extend_schema(
        methods=["POST"],
        request=OperationArrestInSerializer,
        responses={201: OperationArrestSerializer, **_RECORD_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def arrests(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """抓获: the operation's arrests, newest day first; POST records arrests on a day
        of the operation's period (not in the future), 1 to 500 persons, optionally the
        incident by its reference."""
        operation = self._operation_for_records(request)
        if request.method == "GET":
            return self._entries(
                request, operation, OperationEntry.Kind.ARREST, OperationArrestSerializer
            )
        data = OperationArrestInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        return self._record(
            request,
            operation,
            OperationEntry.Kind.ARREST,
            day=v["day"],
            persons=v["persons"],
            incident_reference=v["incident"],
            place=v["place"],
            note=v["note"],
        )

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: OperationPatrolSerializer(many=True), **_RECORD_READ_ERRORS},
    )
    @extend_schema(
        methods=["POST"],
        request=OperationPatrolInSerializer,
        responses={201: OperationPatrolSerializer, **_RECORD_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def patrols(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """巡逻: the operation's patrols, newest day first; POST records one (1 to 1,000
        officers, more than 0 and up to 24 hours) on a day of its period."""
        operation = self._operation_for_records(request)
        if request.method == "GET":
            return self._entries(
                request, operation, OperationEntry.Kind.PATROL, OperationPatrolSerializer
            )
        data = OperationPatrolInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        return self._record(
            request,
            operation,
            OperationEntry.Kind.PATROL,
            day=v["day"],
            persons=v["officers"],
            hours=v["hours"],
            incident_reference=v["incident"],
            place=v["place"],
            note=v["note"],
        )

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: OperationLeadSerializer(many=True), **_RECORD_READ_ERRORS},
    )
    @extend_schema(
        methods=["POST"],
        request=OperationLeadInSerializer,
        responses={201: OperationLeadSerializer, **_RECORD_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def leads(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """线索: the leads the operation took up; POST links one the officer can see, by
        its reference, once per operation (``day`` defaults to today, or the operation's
        last day once it is over)."""
        operation = self._operation_for_records(request)
        if request.method == "GET":
            return self._entries(
                request, operation, OperationEntry.Kind.LEAD, OperationLeadSerializer
            )
        data = OperationLeadInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        today = timezone.localtime(clock.now()).date()
        day: dt.date = v.get("day") or min(today, operation.ends_on)
        return self._record(
            request,
            operation,
            OperationEntry.Kind.LEAD,
            day=day,
            lead_reference=v["lead"],
            note=v["note"],
        )

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="Unlinked."),
            403: _RECORD_ERRORS[403],
            404: OpenApiResponse(description="No such operation, or the lead is not linked."),
        },
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"leads/(?P<reference>[A-Za-z0-9-]+)",
        url_name="lead-unlink",
    )
    def unlink_lead(
        self, request: Request, pk: str | None = None, reference: str = "", **kwargs
    ) -> Response:
        """Unlink a lead from the operation (by the lead's reference); the lead stays."""
        operation = self._operation_for_records(request)
        entry = get_visible_or_404(
            OperationEntry.objects.filter(
                operation=operation, kind=OperationEntry.Kind.LEAD, lead__reference=reference
            ),
            request.user,
        )
        services.unlink_operation_lead(entry, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OperationViewSet(
    OperationRecordsMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """专项打击整治 — special operations in the user's scope; police create them over
    schools, districts or a drawn polygon they cover."""

    permission_classes = [RolePermission]
    resource = "operations"

    def get_queryset(self) -> QuerySet:
        return (
            Operation.objects.visible_to(self.request.user)
            .prefetch_related("schools", "regions", "units")
            .order_by("-starts_on", "-pk")
        )

    def get_serializer_class(self):
        return OperationCreateSerializer if self.action == "create" else OperationSerializer

    @extend_schema(request=OperationCreateSerializer, responses={201: OperationSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = OperationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            operation = services.create_operation(
                name=v["name"],
                starts_on=v["starts_on"],
                ends_on=v["ends_on"],
                user=request.user,
                school_ids=v["schools"],
                region_ids=v["regions"],
                polygon=v["polygon"],
                target_kinds=v["target_kinds"],
                unit_ids=v["units"],
                notes=v["notes"],
            )
        except DjangoValidationError as exc:
            raise _as_drf(exc) from exc
        return Response(OperationSerializer(operation).data, status=status.HTTP_201_CREATED)


class DispatchImportViewSet(viewsets.GenericViewSet):
    """110 接处警数据 import: the page's mapping, row checks and duplicate skipping, as a
    multipart upload (police with the ``incidents`` import right)."""

    permission_classes = [RolePermission]
    resource = "incidents"
    parser_classes = [parsers.MultiPartParser]
    serializer_class = DispatchImportSerializer
    queryset = DispatchSource.objects.none()

    @extend_schema(
        request={"multipart/form-data": DispatchImportSerializer},
        responses={
            200: DispatchResultSerializer,
            400: OpenApiResponse(description="Bad mapping or file (no row imported)."),
            403: OpenApiResponse(description="The role may not import incidents."),
            413: OpenApiResponse(description="The file is larger than IMPORT_MAX_BYTES."),
        },
    )
    def create(self, request: Request) -> Response:
        """Import one export. The source's mapping, category table and coordinate system
        are saved once the file's header holds every mapped column; good rows become
        incidents (source 110, ``source_ref`` the call number), bad rows come back with
        their row, column and reason, call numbers already imported are counted as
        duplicates."""
        if not can(request.user, IMPORT, "incidents"):
            raise PermissionDenied
        data = DispatchImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        upload = v["file"]
        limit = spreadsheets.max_import_bytes()
        if upload.size > limit:
            return Response(
                {"detail": f"The file is larger than {limit} bytes."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        source = DispatchSource.objects.filter(name=v["source"].strip()).first()
        column_map = v.get("column_map") or (source.column_map if source else {})
        kind_map = v.get("kind_map")
        if kind_map is None:
            kind_map = source.kind_map if source else {}
        system = v.get("coordinate_system") or (
            source.coordinate_system if source else CoordinateSystem.WGS84
        )
        try:
            source, result = dispatch_import.save_mapping_and_import(
                user=request.user,
                source=source,
                new_source=v["source"],
                column_map=column_map,
                kind_map=kind_map,
                coordinate_system=system,
                name=upload.name,
                content=upload.read(limit + 1),
            )
        except ImportFileError as exc:
            raise ValidationError({"file": [str(exc)]}) from exc
        body = {
            "source": source.name,
            "coordinate_system": source.coordinate_system,
            "rows": result.rows,
            "created": result.created,
            "duplicates": result.duplicates,
            "errors": [
                {"row": e.row, "column": e.column, "reason": e.reason} for e in result.errors
            ],
        }
        return Response(DispatchResultSerializer(body).data)


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the shared router."""
    router.register("intel/alerts", AlertViewSet, basename="intel-alert")
    router.register("intel/incidents", IncidentViewSet, basename="intel-incident")
    router.register("intel/leads", LeadViewSet, basename="intel-lead")
    router.register("intel/groups", GroupViewSet, basename="intel-group")
    router.register("intel/operations", OperationViewSet, basename="intel-operation")
    router.register(
        "intel/dispatch-imports", DispatchImportViewSet, basename="intel-dispatch-import"
    )
