"""The intel app's REST API: early-warning alerts (education sees its schools' alerts,
no persons), incidents (police; persons masked) and leads (police read; schools and
guards may submit)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety import spreadsheets
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
    OperationCreateSerializer,
    OperationSerializer,
    RevealedPersonSerializer,
    RevealSerializer,
)
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


class OperationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
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
