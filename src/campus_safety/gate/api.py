"""The gate app's REST API (``/api/v1/gate/…``), with the pages' scopes: rows through
``visible_to`` (out of scope = 404), actions through the role table; the watch-list
and its hits answer police roles only (everyone else: 404, as if it did not exist).
Refusals carry their reason: 400 bad input, 403 not your role's to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from campus_safety.accounts.permissions import RolePermission
from campus_safety.api_pagination import stable_order
from campus_safety.gate import serializers as s
from campus_safety.gate import services
from campus_safety.gate.models import (
    Pickup,
    PickupPerson,
    Student,
    Vehicle,
    VehiclePassage,
    Visit,
    WatchlistEntry,
    WatchlistHit,
)
from campus_safety.orgs.models import School
from campus_safety.scoping import get_visible_or_404, is_police

PARSERS = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]


def _call(run: Callable[[], Any]) -> Any:
    try:
        return run()
    except services.NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except services.GateError as exc:
        raise ValidationError({"detail": str(exc)}) from exc


def _own_school(request: Request) -> School:
    """Writes at a gate are a school user's (its guard's, its administrator's)."""
    if not request.user.school_id:
        raise PermissionDenied(_no_gate())
    return request.user.school


def _no_student() -> str:
    from django.utils.translation import gettext as _

    return _("Choose the student, or give a pick-up code.")


def _no_gate() -> str:
    from django.utils.translation import gettext as _

    return _("Only a school's own users act at its gate.")


class VisitViewSet(viewsets.ReadOnlyModelViewSet):
    """外来人员登记 — visits of the schools in scope; check-in, invitation, check-out."""

    permission_classes = [RolePermission]
    resource = "visitors"
    serializer_class = s.VisitSerializer
    parser_classes = PARSERS

    def get_queryset(self) -> QuerySet:
        rows = Visit.objects.visible_to(self.request.user)
        state = self.request.query_params.get("state")
        if state:
            rows = rows.filter(state=state)
        return stable_order(rows.order_by("-checked_in_at"))

    @extend_schema(request=s.CheckInSerializer, responses=s.CheckInResultSerializer)
    def create(self, request: Request) -> Response:
        data = s.CheckInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        school = _own_school(request)
        result = _call(lambda: services.check_in(school, by=request.user, **data.validated_data))
        return Response(_check_in_result(result), status=201)

    @extend_schema(request=s.InvitedCheckInSerializer, responses=s.CheckInResultSerializer)
    @action(detail=False, methods=["post"])
    def invited(self, request: Request) -> Response:
        data = s.InvitedCheckInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        school = _own_school(request)
        result = _call(
            lambda: services.check_in_invited(
                data.validated_data["token"],
                school,
                by=request.user,
                document_number=data.validated_data["document_number"],
            )
        )
        return Response(_check_in_result(result), status=201)

    @extend_schema(request=None, responses=s.VisitSerializer)
    @action(detail=True, methods=["post"])
    def check_out(self, request: Request, pk: str | None = None) -> Response:
        visit = _call(lambda: services.check_out(self.get_object(), by=request.user))
        return Response(s.VisitSerializer(visit).data)

    @extend_schema(request=s.InvitationSerializer, responses=s.InvitationTokenSerializer)
    @action(detail=False, methods=["post"])
    def invitations(self, request: Request) -> Response:
        data = s.InvitationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        school = _own_school(request)
        invitation, token = _call(
            lambda: services.create_invitation(school, by=request.user, **data.validated_data)
        )
        return Response({"invitation": invitation.pk, "token": token}, status=201)


def _check_in_result(result: services.CheckIn) -> dict[str, Any]:
    return {"visit": result.visit.pk, "state": result.visit.state, "message": result.message}


class VehicleViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The school's own vehicles (staff, suppliers, school buses)."""

    permission_classes = [RolePermission]
    resource = "visitors"
    serializer_class = s.VehicleSerializer

    def get_queryset(self) -> QuerySet:
        return stable_order(Vehicle.objects.visible_to(self.request.user))

    def perform_create(self, serializer: s.VehicleSerializer) -> None:
        school = _own_school(self.request)
        serializer.instance = _call(
            lambda: services.save_vehicle(school, by=self.request.user, **serializer.validated_data)
        )


class PassageViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Vehicles in and out through the gate (typed by the guard)."""

    permission_classes = [RolePermission]
    resource = "visitors"
    serializer_class = s.PassageSerializer

    def get_queryset(self) -> QuerySet:
        return stable_order(VehiclePassage.objects.visible_to(self.request.user))

    def perform_create(self, serializer: s.PassageSerializer) -> None:
        school = _own_school(self.request)
        passage, _hit = _call(
            lambda: services.record_passage(
                school,
                by=self.request.user,
                plate=serializer.validated_data["plate"],
                direction=serializer.validated_data["direction"],
            )
        )
        serializer.instance = passage


class StudentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Students whose release at the gate is checked (names masked)."""

    permission_classes = [RolePermission]
    resource = "students"
    serializer_class = s.StudentSerializer

    def get_queryset(self) -> QuerySet:
        return stable_order(Student.objects.visible_to(self.request.user))

    def perform_create(self, serializer: s.StudentSerializer) -> None:
        school = _own_school(self.request)
        serializer.instance = _call(
            lambda: services.save_student(school, by=self.request.user, **serializer.validated_data)
        )


class PickupPersonViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Authorised pick-up persons (guardians and delegates)."""

    permission_classes = [RolePermission]
    resource = "students"
    serializer_class = s.PickupPersonSerializer

    def get_queryset(self) -> QuerySet:
        return stable_order(PickupPerson.objects.visible_to(self.request.user))

    def perform_create(self, serializer: s.PickupPersonSerializer) -> None:
        data = dict(serializer.validated_data)
        student = get_visible_or_404(Student, self.request.user, pk=data.pop("student").pk)
        serializer.instance = _call(
            lambda: services.add_pickup_person(student, by=self.request.user, **data)
        )

    @extend_schema(request=None, responses=s.PickupPersonSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        person = _call(lambda: services.approve_pickup_person(self.get_object(), by=request.user))
        return Response(s.PickupPersonSerializer(person).data)

    @extend_schema(request=s.PickupCodeRequestSerializer, responses=s.GuardianLinkSerializer)
    @action(detail=False, methods=["post"], url_path="guardian-links")
    def guardian_links(self, request: Request) -> Response:
        """A signed, expiring link for a guardian to confirm the pick-up list (answered
        once; a newer link replaces it)."""
        data = s.PickupCodeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = get_visible_or_404(PickupPerson, request.user, pk=data.validated_data["person"])
        link, token = _call(lambda: services.issue_guardian_link(person, by=request.user))
        url = request.build_absolute_uri(reverse("gate:guardian")) + "?t=" + token
        return Response(
            s.GuardianLinkSerializer(
                {"id": link.pk, "person": person.pk, "expires_at": link.expires_at, "url": url}
            ).data,
            status=201,
        )

    @extend_schema(request=s.PickupCodeRequestSerializer, responses=s.PickupCodeSerializer)
    @action(detail=False, methods=["post"])
    def codes(self, request: Request) -> Response:
        """A one-time pick-up code for one approved person, one day (today by default)."""
        data = s.PickupCodeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = get_visible_or_404(PickupPerson, request.user, pk=data.validated_data["person"])
        issued, code = _call(
            lambda: services.issue_pickup_code(
                person, by=request.user, day=data.validated_data["day"]
            )
        )
        return Response(
            s.PickupCodeSerializer(
                {
                    "id": issued.pk,
                    "person": person.pk,
                    "student": person.student_id,
                    "valid_on": issued.valid_on,
                    "code": code,
                }
            ).data,
            status=201,
        )


class PickupViewSet(viewsets.ReadOnlyModelViewSet):
    """接送 — the release log; POST releases a child (or refuses, with the reason)."""

    permission_classes = [RolePermission]
    resource = "pickups"
    serializer_class = s.PickupSerializer

    def get_queryset(self) -> QuerySet:
        return stable_order(Pickup.objects.visible_to(self.request.user).order_by("-at"))

    @extend_schema(request=s.ReleaseSerializer, responses=s.ReleaseResultSerializer)
    def create(self, request: Request) -> Response:
        data = s.ReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        school = _own_school(request)
        values = data.validated_data
        if values["code"]:
            result = _call(
                lambda: services.release_with_code(values["code"], school, by=request.user)
            )
            return self._answer(result)
        if not values["student"]:
            raise ValidationError({"student": _no_student()})
        student = get_visible_or_404(Student, request.user, pk=values["student"])
        person = None
        if values["person"]:
            person = get_visible_or_404(PickupPerson, request.user, pk=values["person"])
        result = _call(
            lambda: services.release(
                student,
                school,
                by=request.user,
                person=person,
                person_name=values["person_name"],
                card_code=values["card_code"],
                document_number=values["document_number"],
            )
        )
        return self._answer(result)

    def _answer(self, result: services.Release) -> Response:
        outcome = result.pickup.outcome
        return Response(
            {
                "pickup": result.pickup.pk,
                "outcome": "refused" if outcome == Pickup.Outcome.HELD else outcome,
                "message": result.message,
            },
            status=201,
        )


class PoliceOnly:
    """Mixin: the watch-list answers police roles only, 404 for anyone else."""

    request: Request

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not is_police(request.user):
            raise Http404  # before the role check: a 403 would say the list exists
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


class WatchlistViewSet(PoliceOnly, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """重点人员 — the police watch-list (every read audited); ``end`` ends an entry."""

    permission_classes = [RolePermission]
    resource = "watchlist"
    serializer_class = s.WatchlistEntrySerializer

    def get_queryset(self) -> QuerySet:
        return stable_order(WatchlistEntry.objects.visible_to(self.request.user))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        services.audit_read(request.user, "watchlist api", len(response.data.get("results", [])))
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        entry = self.get_object()
        services.audit_read(request.user, "entry api", 1, entry)
        return Response(self.get_serializer(entry).data)

    def perform_create(self, serializer: s.WatchlistEntrySerializer) -> None:
        data = dict(serializer.validated_data)
        try:
            station = services.responsible_station(self.request.user, data.pop("station"))
        except services.GateError as exc:
            raise ValidationError({"station": str(exc)}) from exc
        serializer.instance = _call(
            lambda: services.create_entry(by=self.request.user, station=station, **data)
        )

    @extend_schema(request=None, responses=s.WatchlistEntrySerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        entry = _call(lambda: services.end_entry(self.get_object(), by=request.user))
        return Response(self.get_serializer(entry).data)


class WatchlistHitViewSet(PoliceOnly, viewsets.ReadOnlyModelViewSet):
    """Watch-list hits at the gates in scope (police only)."""

    permission_classes = [RolePermission]
    resource = "watchlist"
    serializer_class = s.WatchlistHitSerializer

    def get_queryset(self) -> QuerySet:
        return stable_order(WatchlistHit.objects.visible_to(self.request.user).order_by("-at"))


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the shared router."""
    router.register("gate/visits", VisitViewSet, basename="gate-visit")
    router.register("gate/vehicles", VehicleViewSet, basename="gate-vehicle")
    router.register("gate/passages", PassageViewSet, basename="gate-passage")
    router.register("gate/students", StudentViewSet, basename="gate-student")
    router.register("gate/pickup-persons", PickupPersonViewSet, basename="gate-pickup-person")
    router.register("gate/pickups", PickupViewSet, basename="gate-pickup")
    router.register("gate/watchlist", WatchlistViewSet, basename="gate-watchlist")
    router.register("gate/watchlist-hits", WatchlistHitViewSet, basename="gate-watchlist-hit")
