"""API representations of checkpoints, routes, plans, rounds, scans, patrol alarms,
gate posts, rosters, check-ins, grid routes, patrol logs and field stops."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from campus_safety.orgs.models import Organisation, School
from campus_safety.patrols import peak_posts, services
from campus_safety.patrols import rounds as rules
from campus_safety.patrols.models import (
    Checkpoint,
    FieldStop,
    GridRoute,
    PatrolAlarm,
    PatrolLog,
    PeakPost,
    PostAssignment,
    PostCheckIn,
    RouteStop,
    TourPlan,
    TourRound,
    TourRoute,
    TourScan,
)
from campus_safety.patrols.post_rules import clean_required
from campus_safety.workforce.serializers import SchoolBriefSerializer, VisibleSchoolField


class VisibleField(serializers.PrimaryKeyRelatedField):
    """An id of a ``model`` row the writer can see; others read as "does not exist"."""

    def __init__(self, model, **kwargs) -> None:
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return self.model.objects.visible_to(getattr(request, "user", None))


class SameSchoolMixin:
    """Rows that belong to one school may only point at rows of that school."""

    def check_school(self, school: School, *objects: Any) -> None:
        for obj in objects:
            if obj is not None and obj.school_id != school.pk:
                raise serializers.ValidationError(
                    _("%(object)s belongs to another school.") % {"object": obj}
                )


class CheckpointSerializer(SameSchoolMixin, serializers.ModelSerializer):
    school = SchoolBriefSerializer(read_only=True)
    school_id = VisibleSchoolField(source="school", write_only=True)

    class Meta:
        model = Checkpoint
        fields = [
            "id", "school", "school_id", "name", "code", "device", "key_area", "longitude",
            "latitude", "is_active",
        ]  # fmt: skip
        validators = [
            serializers.UniqueTogetherValidator(
                queryset=Checkpoint.objects.all(),
                fields=["school_id", "code"],
                message=_("The school already has a checkpoint with this code."),
            )
        ]

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        school = data.get("school") or self.instance.school
        device = data.get("device")
        if device is not None:
            if device.kind != "patrol_checkpoint":
                raise serializers.ValidationError({"device": _("Not a guard-tour checkpoint.")})
            self.check_school(school, device)
        return data

    def create(self, data: dict[str, Any]) -> Checkpoint:
        return services.save_checkpoint(None, data)

    def update(self, checkpoint: Checkpoint, data: dict[str, Any]) -> Checkpoint:
        return services.save_checkpoint(checkpoint, data)


class RouteStopSerializer(serializers.ModelSerializer):
    class Meta:
        model = RouteStop
        fields = ["checkpoint", "position", "due_minutes"]
        extra_kwargs = {"checkpoint": {"queryset": Checkpoint.objects.all()}}


class TourRouteSerializer(SameSchoolMixin, serializers.ModelSerializer):
    school = SchoolBriefSerializer(read_only=True)
    school_id = VisibleSchoolField(source="school", write_only=True)
    stops = RouteStopSerializer(many=True)

    class Meta:
        model = TourRoute
        fields = ["id", "school", "school_id", "name", "stops"]

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        school = data.get("school") or self.instance.school
        stops = data.get("stops", [])
        if "stops" in data and not stops:
            raise serializers.ValidationError(
                {"stops": _("A route needs at least one checkpoint.")}
            )
        self.check_school(school, *(s["checkpoint"] for s in stops))
        if len({s["checkpoint"].pk for s in stops}) != len(stops):
            raise serializers.ValidationError({"stops": _("A checkpoint appears twice.")})
        if len({s["position"] for s in stops}) != len(stops):
            raise serializers.ValidationError({"stops": _("Two stops share a position.")})
        return data

    def create(self, data: dict[str, Any]) -> TourRoute:
        return services.save_route(None, data)

    def update(self, route: TourRoute, data: dict[str, Any]) -> TourRoute:
        return services.save_route(route, data)


class TourPlanSerializer(SameSchoolMixin, serializers.ModelSerializer):
    school = SchoolBriefSerializer(read_only=True)
    school_id = VisibleSchoolField(source="school", write_only=True)
    route = VisibleField(TourRoute)

    class Meta:
        model = TourPlan
        fields = [
            "id", "school", "school_id", "name", "route", "round_starts", "duration_minutes",
            "grace_minutes", "days", "guards", "is_active",
        ]  # fmt: skip
        extra_kwargs = {"guards": {"required": False}}

    def validate_round_starts(self, value: Any) -> list[str]:
        try:
            return [t.strftime("%H:%M") for t in rules.parse_round_starts(value)]
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        school = data.get("school") or self.instance.school
        self.check_school(school, data.get("route"), *data.get("guards", []))
        return data

    def create(self, data: dict[str, Any]) -> TourPlan:
        return services.save_plan(None, data)

    def update(self, plan: TourPlan, data: dict[str, Any]) -> TourPlan:
        return services.save_plan(plan, data)


class TourRoundSerializer(serializers.ModelSerializer):
    school = SchoolBriefSerializer(read_only=True)
    stops = serializers.SerializerMethodField()

    class Meta:
        model = TourRound
        fields = [
            "id", "plan", "school", "day", "starts_at", "due_at", "closes_at", "status",
            "stops_total", "stops_on_time", "stops_late", "stops_missed", "duplicate_scans",
            "is_out_of_order", "stops", "evaluated_at",
        ]  # fmt: skip

    def get_stops(self, row: TourRound) -> list[dict[str, Any]]:
        def when(value: float | None) -> str | None:
            return dt.datetime.fromtimestamp(value, dt.UTC).isoformat() if value else None

        return [
            {"checkpoint": s["checkpoint"], "due": when(s["due"]), "scanned": when(s["scanned"]),
             "state": s["state"]}
            for s in row.detail
        ]  # fmt: skip


class TourScanSerializer(serializers.ModelSerializer):
    class Meta:
        model = TourScan
        fields = [
            "id", "school", "checkpoint", "code", "source", "device", "guard", "card_id",
            "occurred_at", "received_at",
        ]  # fmt: skip


class PatrolAlarmSerializer(serializers.ModelSerializer):
    school = SchoolBriefSerializer(read_only=True)
    checkpoint_name = serializers.CharField(source="checkpoint.name", read_only=True)

    class Meta:
        model = PatrolAlarm
        fields = [
            "id", "school", "round", "checkpoint", "checkpoint_name", "raised_at", "state",
            "acknowledged_at", "escalated_at", "resolved_at", "note",
        ]  # fmt: skip
        read_only_fields = fields


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class PeakPostSerializer(serializers.ModelSerializer):
    school = SchoolBriefSerializer(read_only=True)
    school_id = VisibleSchoolField(source="school", write_only=True)

    class Meta:
        model = PeakPost
        fields = [
            "id", "school", "school_id", "name", "longitude", "latitude", "radius_m", "required",
            "in_service_since", "is_active",
        ]  # fmt: skip

    def validate_required(self, value: Any) -> dict[str, int]:
        try:
            return clean_required(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def create(self, data: dict[str, Any]) -> PeakPost:
        return peak_posts.save_post(None, data)

    def update(self, post: PeakPost, data: dict[str, Any]) -> PeakPost:
        return peak_posts.save_post(post, data)


class PostAssignmentSerializer(serializers.ModelSerializer):
    user_name = serializers.CharField(source="user.__str__", read_only=True)
    checked_in_at = serializers.SerializerMethodField()

    class Meta:
        model = PostAssignment
        fields = [
            "id", "post", "school", "day", "peak", "starts_at", "ends_at", "person_type", "user",
            "user_name", "swapped_from", "note", "checked_in_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_checked_in_at(self, row: PostAssignment) -> str | None:
        check_in = getattr(row, "check_in", None)
        return check_in.checked_in_at.isoformat() if check_in else None


class SwapSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class GenerateSerializer(serializers.Serializer):
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    school_id = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="only this school's posts"
    )


class PositionSerializer(serializers.Serializer):
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    accuracy = serializers.FloatField(min_value=0, required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    exception = serializers.BooleanField(required=False, default=False)


class PostCheckInSerializer(serializers.ModelSerializer):
    class Meta:
        model = PostCheckIn
        fields = [
            "id", "assignment", "post", "school", "user", "person_type", "checked_in_at",
            "in_distance_m", "checked_out_at", "out_distance_m", "is_exception", "note",
        ]  # fmt: skip
        read_only_fields = fields


class GridRouteSerializer(serializers.ModelSerializer):
    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.filter(
            kind__in=[Organisation.Kind.POLICE_STATION, Organisation.Kind.POLICE_SUB_BUREAU]
        )
    )
    schools = VisibleField(School, many=True)

    class Meta:
        model = GridRoute
        fields = ["id", "organisation", "name", "schools", "path"]

    def validate_path(self, value: Any) -> list:
        return clean_path(value, with_time=False)


def clean_path(value: Any, *, with_time: bool) -> list:
    """[[lon, lat(, time)], …], at most 20,000 points, coordinates in range."""
    if not isinstance(value, list) or len(value) > 20_000:
        raise serializers.ValidationError(_("give a list of at most 20,000 points"))
    for point in value:
        ok = isinstance(point, list) and len(point) == (3 if with_time else 2)
        if ok:
            lon, lat = point[0], point[1]
            ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat))
            ok = ok and -180 <= lon <= 180 and -90 <= lat <= 90
        if ok and with_time:
            try:
                dt.datetime.fromisoformat(str(point[2]))
            except ValueError:
                ok = False
        if not ok:
            shape = "[longitude, latitude, time]" if with_time else "[longitude, latitude]"
            raise serializers.ValidationError(_("every point must be %(shape)s") % {"shape": shape})
    return value


class PatrolLogSerializer(serializers.ModelSerializer):
    route = VisibleField(GridRoute, required=False, allow_null=True)

    class Meta:
        model = PatrolLog
        fields = [
            "id", "organisation", "route", "officer", "started_at", "ended_at", "track",
            "distance_m",
        ]  # fmt: skip
        read_only_fields = ["organisation", "officer", "distance_m"]

    def validate_track(self, value: Any) -> list:
        return clean_path(value, with_time=True)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        ended = data.get("ended_at")
        if ended is not None and ended < data["started_at"]:
            raise serializers.ValidationError({"ended_at": _("A patrol ends after it starts.")})
        return data


class FieldStopSerializer(serializers.ModelSerializer):
    nearest_school_name = serializers.CharField(source="nearest_school.name", read_only=True)

    class Meta:
        model = FieldStop
        fields = [
            "id", "organisation", "officer", "at", "place", "longitude", "latitude",
            "nearest_school", "nearest_school_name", "distance_m", "subject", "outcome", "note",
        ]  # fmt: skip
        read_only_fields = ["organisation", "officer", "nearest_school", "distance_m"]
        extra_kwargs = {
            "longitude": {"min_value": -180, "max_value": 180},
            "latitude": {"min_value": -90, "max_value": 90},
        }

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if (data.get("longitude") is None) != (data.get("latitude") is None):
            raise serializers.ValidationError(_("Give both longitude and latitude, or neither."))
        return data
