"""REST API (``/api/v1/``): hazards and their workflow steps, photos, campaigns and
checklists. Scope through ``visible_to`` (out of scope = 404); what a role may do
through the role table and ``services.allowed_steps``. Refusals carry their reason:
400 bad input, 403 not yours to do, 409 wrong state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety import clock
from campus_safety.accounts.permissions import RolePermission
from campus_safety.api_pagination import stable_order
from campus_safety.hazards import campaigns, services
from campus_safety.hazards.filters import HazardFilter
from campus_safety.hazards.models import Campaign, Checklist, Hazard, HazardEvent, HazardPhoto
from campus_safety.hazards.serializers import (
    AnswerChecklistSerializer,
    AssignSerializer,
    CampaignSerializer,
    ChecklistSerializer,
    EvidenceSerializer,
    HazardDetailSerializer,
    HazardPhotoSerializer,
    HazardReportSerializer,
    HazardSerializer,
    ReturnSerializer,
    StepSerializer,
)
from campus_safety.orgs.models import Organisation, School

PARSERS = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The hazard is not in a state that allows this.")
    default_code = "invalid_transition"


def _as_drf(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"detail": exc.messages})


def _call(run: Callable[[], Any]) -> Any:
    """Run a service and turn its refusals into API errors with their reasons."""
    try:
        return run()
    except DjangoValidationError as exc:
        raise _as_drf(exc) from exc
    except services.NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except services.InvalidTransition as exc:
        raise Conflict(str(exc)) from exc


class HazardViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """安全隐患 / 治安乱点 — the hazards of the schools in the user's scope, and the steps."""

    permission_classes = [RolePermission]
    resource = "hazards"
    filter_backends = [DjangoFilterBackend]
    filterset_class = HazardFilter
    parser_classes = PARSERS

    def get_queryset(self) -> QuerySet:
        hazards = Hazard.objects.visible_to(self.request.user).select_related(
            "school__region", "escalated_to", "responsible_organisation"
        )
        if self.action != "list":
            hazards = hazards.select_related(
                "reported_by", "assigned_by", "submitted_by", "verified_by", "closed_by"
            ).prefetch_related(
                Prefetch(
                    "events",
                    HazardEvent.objects.select_related("by", "organisation").prefetch_related(
                        "photos"
                    ),
                ),
                Prefetch("photos", HazardPhoto.objects.order_by("uploaded_at", "pk")),
            )
        return hazards

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return stable_order(super().filter_queryset(queryset))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": clock.now()}

    def get_serializer_class(self) -> type:
        if self.action == "list":
            return HazardSerializer
        if self.action == "create":
            return HazardReportSerializer
        return HazardDetailSerializer

    def _detail(self, hazard: Hazard, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=hazard.pk)
        return Response(
            HazardDetailSerializer(fresh, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(request=HazardReportSerializer, responses={201: HazardDetailSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = HazardReportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        school = School.objects.visible_to(request.user).filter(pk=data.pop("school")).first()
        if school is None:
            raise ValidationError({"school": [_("Unknown school.")]})
        photos = data.pop("photos", [])
        if not photos and hasattr(request.data, "getlist"):
            photos = request.FILES.getlist("photos")
        hazard = _call(
            lambda: services.report_hazard(request.user, school=school, photos=photos, **data)
        )
        return self._detail(hazard, status.HTTP_201_CREATED)

    def _step(self, request: Request, run: Callable[[Hazard], Any]) -> Response:
        hazard = self.get_object()
        _call(lambda: run(hazard))
        return self._detail(hazard)

    @extend_schema(request=AssignSerializer, responses={200: HazardDetailSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Name the responsible party and deadline (again = reassign)."""
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        organisation = None
        if data.get("organisation"):
            organisation = Organisation.objects.filter(
                pk=data["organisation"], kind=Organisation.Kind.POLICE_STATION
            ).first()
            if organisation is None:
                raise ValidationError({"organisation": [_("Unknown police station.")]})
        return self._step(
            request,
            lambda h: services.assign_hazard(
                h,
                request.user,
                responsible_kind=data["responsible_kind"],
                organisation=organisation,
                department=data.get("department", ""),
                deadline=data.get("deadline"),
                note=data.get("note", ""),
            ),
        )

    @extend_schema(request=StepSerializer, responses={200: HazardDetailSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        note = self._note(request)
        return self._step(request, lambda h: services.start_rectification(h, request.user, note))

    def _note(self, request: Request) -> str:
        body = StepSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data.get("note", "")

    def _evidence(self, request: Request) -> tuple[str, list, bool]:
        body = EvidenceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        photos = data.get("photos") or (
            request.FILES.getlist("photos") if hasattr(request, "FILES") else []
        )
        return data.get("note", ""), photos, data["strip_location"]

    @extend_schema(request=EvidenceSerializer, responses={200: HazardDetailSerializer})
    @action(detail=True, methods=["post"])
    def progress(self, request: Request, pk: str | None = None) -> Response:
        note, photos, strip = self._evidence(request)
        return self._step(
            request, lambda h: services.record_progress(h, request.user, note, photos, strip)
        )

    @extend_schema(request=EvidenceSerializer, responses={200: HazardDetailSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        note, photos, strip = self._evidence(request)
        return self._step(
            request, lambda h: services.submit_fix(h, request.user, note, photos, strip)
        )

    @extend_schema(request=StepSerializer, responses={200: HazardDetailSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str | None = None) -> Response:
        note = self._note(request)
        return self._step(request, lambda h: services.verify_fix(h, request.user, note))

    @extend_schema(request=ReturnSerializer, responses={200: HazardDetailSerializer})
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def send_back(self, request: Request, pk: str | None = None) -> Response:
        body = ReturnSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        return self._step(
            request,
            lambda h: services.return_fix(
                h, request.user, data.get("note", ""), data.get("deadline")
            ),
        )

    @extend_schema(request=StepSerializer, responses={200: HazardDetailSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        note = self._note(request)
        return self._step(request, lambda h: services.close_hazard(h, request.user, note))

    @extend_schema(request=StepSerializer, responses={200: HazardDetailSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> Response:
        note = self._note(request)
        return self._step(request, lambda h: services.dismiss_hazard(h, request.user, note))

    @extend_schema(request=EvidenceSerializer, responses={201: HazardPhotoSerializer(many=True)})
    @action(detail=True, methods=["post"])
    def photos(self, request: Request, pk: str | None = None) -> Response:
        """Add photos (as found, by the reporter; or evidence, by the responsible party)."""
        hazard = self.get_object()
        _note, photos, strip = self._evidence(request)
        rows = _call(lambda: services.add_photos(hazard, request.user, photos, strip))
        return Response(HazardPhotoSerializer(rows, many=True).data, status.HTTP_201_CREATED)


class CampaignViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """专项检查 — campaigns reaching schools in the user's scope."""

    permission_classes = [RolePermission]
    resource = "campaigns"
    serializer_class = CampaignSerializer

    def get_queryset(self) -> QuerySet:
        return stable_order(Campaign.objects.visible_to(self.request.user))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = CampaignSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        ids = set(data.pop("schools"))
        schools = list(School.objects.visible_to(request.user).filter(pk__in=ids))
        if len(schools) != len(ids):
            raise ValidationError({"schools": [_("Unknown school.")]})
        campaign = _call(lambda: campaigns.create_campaign(request.user, schools=schools, **data))
        return Response(
            CampaignSerializer(campaign, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ChecklistViewSet(viewsets.ReadOnlyModelViewSet):
    """A school's checklist in a campaign; answering it opens a hazard per "no"."""

    permission_classes = [RolePermission]
    resource = "campaigns"
    serializer_class = ChecklistSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["campaign", "school", "status"]

    def get_queryset(self) -> QuerySet:
        return stable_order(
            Checklist.objects.visible_to(self.request.user)
            .select_related("campaign", "school__region")
            .prefetch_related("answers__hazard")
        )

    @extend_schema(request=AnswerChecklistSerializer, responses={200: ChecklistSerializer})
    @action(detail=True, methods=["post"], permission_classes=[])
    def answer(self, request: Request, pk: str | None = None) -> Response:
        """Answer every item at once (the school's self-check, or an inspector's visit)."""
        if not request.user.is_authenticated:
            raise PermissionDenied
        checklist = self.get_object()
        body = AnswerChecklistSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        answers = {
            a["item"]: (a["answer"], a.get("note", "")) for a in body.validated_data["answers"]
        }
        _call(lambda: campaigns.answer_checklist(checklist, request.user, answers))
        fresh = self.get_queryset().get(pk=checklist.pk)
        return Response(ChecklistSerializer(fresh).data)


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the shared router."""
    router.register("hazards", HazardViewSet, basename="hazard")
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("checklists", ChecklistViewSet, basename="checklist")
