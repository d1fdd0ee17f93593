"""API representations of alarm cases, police units, test windows and statistics."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer, inline_serializer
from rest_framework import serializers

from campus_safety.alarms.models import (
    AlarmCase,
    AlarmEscalation,
    Dispatch,
    PoliceUnit,
    TestWindow,
)
from campus_safety.devices.models import Device
from campus_safety.orgs.models import School
from campus_safety.workforce.serializers import SchoolBriefSerializer


class UserNameField(serializers.CharField):
    """A person on the timeline, by name (never their account details)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> str | None:
        return (value.display_name or value.get_username()) if value else None


class AlarmDeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["id", "device_id", "name", "kind", "key_area"]


class AlarmCaseSerializer(serializers.ModelSerializer):
    """A case as the alarm wall lists it."""

    school = SchoolBriefSerializer(read_only=True)
    device = AlarmDeviceSerializer(read_only=True)
    district = serializers.CharField(source="school.region.name", read_only=True, default=None)

    class Meta:
        model = AlarmCase
        fields = [
            "id",
            "school",
            "district",
            "device",
            "key_area",
            "priority",
            "state",
            "is_test",
            "alarm_type",
            "description",
            "opened_at",
            "last_event_at",
            "event_count",
            "acknowledged_at",
            "dispatched_at",
            "arrived_at",
            "closed_at",
            "escalation_level",
            "is_breach",
        ]
        read_only_fields = fields


class DispatchSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    dispatched_by = UserNameField()

    class Meta:
        model = Dispatch
        fields = [
            "id",
            "unit",
            "unit_name",
            "dispatched_at",
            "dispatched_by",
            "en_route_at",
            "arrived_at",
            "cleared_at",
        ]
        read_only_fields = fields


class EscalationSerializer(serializers.ModelSerializer):
    organisation_name = serializers.CharField(
        source="organisation.name", read_only=True, default=None
    )
    # A plain integer: the region ``level`` enum already owns that schema name.
    level = serializers.IntegerField(
        read_only=True, help_text="0 police station, 1 sub-bureau, 2 command-centre supervisor"
    )

    class Meta:
        model = AlarmEscalation
        fields = ["id", "at", "reason", "level", "organisation", "organisation_name"]
        read_only_fields = fields


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    step = serializers.CharField()
    by = serializers.CharField(allow_null=True)


class AlarmCaseDetailSerializer(AlarmCaseSerializer):
    """A case with its timeline, dispatches, escalations and context."""

    acknowledged_by = UserNameField()
    dispatched_by = UserNameField()
    arrived_by = UserNameField()
    closed_by = UserNameField()
    dispatches = DispatchSerializer(many=True, read_only=True)
    escalations = EscalationSerializer(many=True, read_only=True)
    timeline = serializers.SerializerMethodField()
    context = serializers.SerializerMethodField()

    class Meta(AlarmCaseSerializer.Meta):
        fields = [
            *AlarmCaseSerializer.Meta.fields,
            "acknowledged_by",
            "dispatched_by",
            "arrived_by",
            "closed_by",
            "disposition",
            "dispatches",
            "escalations",
            "timeline",
            "context",
        ]
        read_only_fields = fields

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, case: AlarmCase) -> list[dict[str, Any]]:
        name = UserNameField().to_representation
        steps = [
            (case.opened_at, "opened", None),
            (case.acknowledged_at, "acknowledged", case.acknowledged_by),
            (case.dispatched_at, "dispatched", case.dispatched_by),
            (case.arrived_at, "on_scene", case.arrived_by),
            (case.closed_at, case.state if case.closed_at else "closed", case.closed_by),
        ]
        entries = [{"at": at, "step": step, "by": name(by)} for at, step, by in steps if at]
        entries += [
            {"at": e.at, "step": f"escalated:{e.reason}:{e.level}", "by": None}
            for e in case.escalations.all()
        ]
        return sorted(entries, key=lambda e: e["at"])

    @extend_schema_field(serializers.DictField())
    def get_context(self, case: AlarmCase) -> dict[str, Any]:
        return self.context.get("case_context", {})


class DispatchRequestSerializer(serializers.Serializer):
    units = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=20)


class ArriveRequestSerializer(serializers.Serializer):
    unit = serializers.IntegerField(
        required=False,
        help_text=(
            "The unit that arrived (one sent to this case, still on its way; a police"
            " officer: of their own station). Empty: every such unit."
        ),
    )


class EnRouteRequestSerializer(serializers.Serializer):
    unit = serializers.IntegerField(help_text="The dispatched unit now on its way.")


class ResolveRequestSerializer(serializers.Serializer):
    disposition = serializers.CharField(max_length=4000)
    outcome = serializers.ChoiceField(
        choices=[AlarmCase.State.RESOLVED, AlarmCase.State.FALSE_ALARM],
        default=AlarmCase.State.RESOLVED,
    )


class PoliceUnitSerializer(serializers.ModelSerializer):
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    # Plain text: the schema's ``kind`` enum names are taken by devices and organisations.
    kind = serializers.CharField(read_only=True, help_text="patrol_car | foot_patrol | police_room")

    class Meta:
        model = PoliceUnit
        fields = [
            "id",
            "name",
            "kind",
            "organisation",
            "organisation_name",
            "longitude",
            "latitude",
            "is_available",
        ]
        read_only_fields = fields


class TestWindowSerializer(serializers.ModelSerializer):
    """A drill window; school and device are chosen by id within the user's scope."""

    __test__ = False

    school = serializers.PrimaryKeyRelatedField(queryset=School.objects.none())
    device = serializers.PrimaryKeyRelatedField(
        queryset=Device.objects.none(), required=False, allow_null=True
    )

    class Meta:
        model = TestWindow
        fields = ["id", "school", "device", "starts_at", "ends_at", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        self.fields["school"].queryset = School.objects.visible_to(user)
        self.fields["device"].queryset = Device.objects.visible_to(user)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends <= starts:
            raise serializers.ValidationError({"ends_at": [_("A window ends after it starts.")]})
        school = attrs.get("school", getattr(self.instance, "school", None))
        device = attrs.get("device", getattr(self.instance, "device", None))
        if device is not None and school is not None and device.school_id != school.pk:
            raise serializers.ValidationError({"device": [_("The device is not at this school.")]})
        return attrs


def _step_stats(name: str) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "p50_s": serializers.FloatField(allow_null=True),
            "p90_s": serializers.FloatField(allow_null=True),
        },
    )


class ResponseTimeRowSerializer(serializers.Serializer):
    district_code = serializers.CharField()
    district = serializers.CharField()
    month = serializers.CharField()
    ack = _step_stats("AlarmStepAck")
    dispatch = _step_stats("AlarmStepDispatch")
    arrive = _step_stats("AlarmStepArrive")


class FalseAlarmRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    closed = serializers.IntegerField()
    false_alarms = serializers.IntegerField()
    rate = serializers.FloatField()


class AlarmSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    false_alarm_rate = serializers.FloatField()
    p50_ack_s = serializers.FloatField(allow_null=True)
    p90_arrival_s = serializers.FloatField(allow_null=True)


@extend_schema_serializer(many=False)
class AlarmStatisticsSerializer(serializers.Serializer):
    """The shape of ``/alarm-statistics/`` (documentation only)."""

    summary = AlarmSummarySerializer()
    response_times = ResponseTimeRowSerializer(many=True)
    false_alarms_by_school = FalseAlarmRowSerializer(many=True)
    false_alarms_by_device = FalseAlarmRowSerializer(many=True)
