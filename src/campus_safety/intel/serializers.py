"""REST serializers: they validate; the services write. No persons' data leaves through
the alert serializer; incidents' persons are masked."""

from __future__ import annotations

import json

from django.utils import timezone
from rest_framework import serializers

from campus_safety import clock
from campus_safety.intel.dispatch_import import FIELDS as DISPATCH_FIELDS
from campus_safety.intel.models import (
    Alert,
    CoordinateSystem,
    Group,
    Incident,
    IncidentKind,
    Lead,
    Operation,
    OperationEntry,
    Person,
)


class AlertSerializer(serializers.ModelSerializer):
    schools = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id", "reference", "kind", "scan_date", "raised_at", "latitude", "longitude",
            "radius_m", "window_start", "window_end", "observed", "expected", "statistic",
            "p_value", "recurrence_days", "school", "region", "police_station", "schools",
            "status", "acknowledged_at", "assessment", "assessed_at", "closed_at",
        ]  # fmt: skip
        read_only_fields = fields


class AlertStepSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["acknowledge", "assess", "close"])
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class PersonSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="name_masked", read_only=True)
    id_number = serializers.CharField(source="id_number_masked", read_only=True)

    class Meta:
        model = Person
        fields = ["id", "role", "name", "id_number", "is_minor"]


class PersonInSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Person.Role.choices)
    name = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    id_number = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    is_minor = serializers.BooleanField(required=False, default=False)


class RevealSerializer(serializers.Serializer):
    reason = serializers.CharField(min_length=4, max_length=300)
    persons = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=50
    )


class RevealedPersonSerializer(serializers.Serializer):
    """A person in full: only ever the answer to an audited reveal."""

    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Person.Role.choices)
    name = serializers.CharField()
    id_number = serializers.CharField()
    phone = serializers.CharField()
    is_minor = serializers.BooleanField()


class IncidentSerializer(serializers.ModelSerializer):
    persons = PersonSerializer(many=True, read_only=True)
    schools = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id", "reference", "kind", "occurred_at", "latitude", "longitude", "address",
            "summary", "status", "outcome", "source", "school", "schools", "persons",
        ]  # fmt: skip
        read_only_fields = fields


class IncidentCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IncidentKind.choices)
    occurred_at = serializers.DateTimeField()
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    summary = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    source_ref = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    persons = PersonInSerializer(many=True, required=False, default=list)

    def validate_persons(self, value):
        if len(value) > 50:
            raise serializers.ValidationError("at most 50 persons")
        return value


class IncidentUpdateSerializer(serializers.Serializer):
    """PATCH an incident: any of these; the rest stays."""

    kind = serializers.ChoiceField(choices=IncidentKind.choices, required=False)
    status = serializers.ChoiceField(choices=Incident.Status.choices, required=False)
    outcome = serializers.CharField(max_length=400, required=False, allow_blank=True)
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    summary = serializers.CharField(max_length=4000, required=False, allow_blank=True)

    def validate(self, data: dict) -> dict:
        incident = self.context["incident"]
        if ("latitude" in data) != ("longitude" in data):
            raise serializers.ValidationError("give both latitude and longitude")
        status = data.get("status", incident.status)
        outcome = data.get("outcome", incident.outcome)
        if status in (Incident.Status.SOLVED, Incident.Status.CLOSED) and not outcome.strip():
            raise serializers.ValidationError(
                {"outcome": "say how it ended before solving or closing it"}
            )
        return data


class LeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = [
            "id", "reference", "source", "kind", "summary", "address", "latitude", "longitude",
            "status", "priority", "received_at", "triaged_at", "verified_at", "resolved_at",
            "dismissed_reason", "incident", "school",
        ]  # fmt: skip
        read_only_fields = [
            "id", "reference", "source", "status", "priority", "received_at", "triaged_at",
            "verified_at", "resolved_at", "dismissed_reason", "incident", "school",
        ]  # fmt: skip


class GroupSerializer(serializers.ModelSerializer):
    """A group with its graph; the graph's person labels are masked when it is built."""

    incidents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Group
        fields = [
            "id", "detected_at", "persons", "incidents", "graph", "status", "school", "region",
            "police_station",
        ]  # fmt: skip
        read_only_fields = fields


class OperationSerializer(serializers.ModelSerializer):
    schools = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    regions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    units = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    state = serializers.SerializerMethodField()
    totals = serializers.SerializerMethodField()

    class Meta:
        model = Operation
        fields = [
            "id", "name", "starts_on", "ends_on", "state", "schools", "regions", "polygon",
            "target_kinds", "units", "alert", "notes", "school", "region", "police_station",
            "created_at", "totals",
        ]  # fmt: skip
        read_only_fields = fields

    def get_state(self, obj: Operation) -> str:
        """Planned, active or finished, today."""
        return obj.status_on(timezone.localtime(clock.now()).date())

    def get_totals(self, obj: Operation) -> dict[str, float]:
        """What the operation recorded: leads, persons arrested, patrols, officer-hours."""
        from campus_safety.intel.services import operation_totals

        return operation_totals(obj)


class OperationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    schools = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=3000
    )
    regions = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=100
    )
    polygon = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        required=False,
        default=list,
        max_length=200,
    )
    target_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=IncidentKind.choices), required=False, default=list
    )
    units = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=50
    )
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class _EntrySerializer(serializers.ModelSerializer):
    recorded_by = serializers.SerializerMethodField()

    def get_recorded_by(self, obj: OperationEntry) -> str:
        """Who recorded it (user name)."""
        return obj.created_by.get_username() if obj.created_by else ""


class OperationArrestSerializer(_EntrySerializer):
    """抓获 — arrests an operation made: how many persons (no person's data)."""

    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)

    class Meta:
        model = OperationEntry
        fields = ["id", "day", "persons", "incident", "place", "note", "created_at", "recorded_by"]
        read_only_fields = fields


class OperationPatrolSerializer(_EntrySerializer):
    """巡逻 — a patrol of the operation: officers and hours."""

    officers = serializers.IntegerField(source="persons", read_only=True)
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)

    class Meta:
        model = OperationEntry
        fields = [
            "id", "day", "officers", "hours", "incident", "place", "note", "created_at",
            "recorded_by",
        ]  # fmt: skip
        read_only_fields = fields


class OperationLeadSerializer(_EntrySerializer):
    """A lead the operation took up (linked by its reference)."""

    lead = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    lead_id = serializers.IntegerField(read_only=True, allow_null=True)
    lead_status = serializers.CharField(source="lead.status", read_only=True, default="")

    class Meta:
        model = OperationEntry
        fields = [
            "id",
            "day",
            "lead",
            "lead_id",
            "lead_status",
            "note",
            "created_at",
            "recorded_by",
        ]
        read_only_fields = fields


class OperationArrestInSerializer(serializers.Serializer):
    """Arrests on a day of the operation; the number of persons is checked like on the
    page (1 to 500)."""

    day = serializers.DateField()
    persons = serializers.IntegerField(help_text="Persons arrested: 1 to 500.")
    incident = serializers.CharField(
        max_length=24, required=False, allow_blank=True, default="",
        help_text="The incident's reference (SJ…), optional.",
    )  # fmt: skip
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=400, required=False, allow_blank=True, default="")


class OperationPatrolInSerializer(serializers.Serializer):
    """A patrol on a day of the operation: 1 to 1,000 officers, more than 0 and up to 24
    hours."""

    day = serializers.DateField()
    officers = serializers.IntegerField()
    hours = serializers.FloatField()
    incident = serializers.CharField(max_length=24, required=False, allow_blank=True, default="")
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=400, required=False, allow_blank=True, default="")


class OperationLeadInSerializer(serializers.Serializer):
    """Link a lead the officer can see, by its reference, once per operation."""

    lead = serializers.CharField(max_length=24, help_text="The lead's reference, XS….")
    day = serializers.DateField(
        required=False,
        help_text="The day it was taken up, in the operation's period; default today "
        "(the operation's last day once it is over).",
    )
    note = serializers.CharField(max_length=400, required=False, allow_blank=True, default="")


class DispatchImportSerializer(serializers.Serializer):
    """A 110 export upload (multipart): the source by name (its saved mapping is used for
    what is not given), the mapping as JSON text, the file."""

    source = serializers.CharField(
        max_length=80, help_text="The 110 source's name; a new name saves a new source."
    )
    column_map = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text='JSON: field → the export\'s column header, e.g. {"call_number": "接警单编号", '
        '"received_at": "报警时间", "latitude": "纬度", "longitude": "经度", "category": '
        '"警情类别"}. Fields: call_number, received_at, latitude, longitude (required), '
        "category, address, summary, outcome. Default: the source's saved mapping.",
    )
    kind_map = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text='JSON: the export\'s category → incident kind, e.g. {"盗窃案": "theft"}. '
        "Default: the source's saved table.",
    )
    coordinate_system = serializers.ChoiceField(
        choices=CoordinateSystem.choices,
        required=False,
        help_text="wgs84, gcj02 or bd09; GCJ-02 and BD-09 are converted to WGS-84. "
        "Default: the source's saved setting (wgs84 for a new source).",
    )
    file = serializers.FileField(help_text="The export: .csv (UTF-8 or GB18030) or .xlsx.")

    @staticmethod
    def _json_object(value: str, what: str) -> dict:
        try:
            parsed = json.loads(value)
        except ValueError:
            raise serializers.ValidationError(f"{what} is not valid JSON") from None
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
        ):
            raise serializers.ValidationError(f"{what} must be a JSON object of strings")
        return {k.strip(): v.strip() for k, v in parsed.items() if k.strip() and v.strip()}

    def validate_column_map(self, value: str) -> dict | None:
        if not value.strip():
            return None
        mapping = self._json_object(value, "column_map")
        unknown = sorted(set(mapping) - {key for key, _label, _req in DISPATCH_FIELDS})
        if unknown:
            raise serializers.ValidationError(f"unknown fields: {', '.join(unknown)}")
        return mapping

    def validate_kind_map(self, value: str) -> dict | None:
        if not value.strip():
            return None
        mapping = self._json_object(value, "kind_map")
        bad = sorted(v for v in mapping.values() if v not in IncidentKind.values)
        if bad:
            raise serializers.ValidationError(f"unknown incident kinds: {', '.join(bad)}")
        return mapping


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Spreadsheet row (the header is row 1).")
    column = serializers.CharField()
    reason = serializers.CharField()


class DispatchResultSerializer(serializers.Serializer):
    source = serializers.CharField()
    coordinate_system = serializers.CharField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text="Call numbers already imported: skipped.")
    errors = RowErrorSerializer(many=True)
