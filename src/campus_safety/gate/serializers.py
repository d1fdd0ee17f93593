"""The gate API's shapes. Lists carry masked names and documents; inputs are validated
here and written by the services (which validate again: one set of rules)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from campus_safety.gate.models import (
    DocumentKind,
    Pickup,
    PickupPerson,
    Student,
    Vehicle,
    VehiclePassage,
    Visit,
    WatchlistEntry,
    WatchlistHit,
    mask_name,
)


class VisitSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="masked_name", read_only=True)
    document = serializers.CharField(source="masked_document", read_only=True)
    state = serializers.SerializerMethodField()

    class Meta:
        model = Visit
        fields = [
            "id",
            "school",
            "state",
            "document_kind",
            "document",
            "name",
            "company",
            "purpose",
            "host",
            "party_size",
            "expected_minutes",
            "vehicle_plate",
            "is_contractor",
            "checked_in_at",
            "due_at",
            "checked_out_at",
        ]

    def get_state(self, visit: Visit) -> str:
        return visit.state


class CheckInSerializer(serializers.Serializer):
    document_kind = serializers.ChoiceField(choices=DocumentKind.choices, default="id_card")
    document_number = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=64)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    company = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    purpose = serializers.CharField(max_length=200)
    host = serializers.CharField(max_length=64)
    party_size = serializers.IntegerField(min_value=1, max_value=50, default=1)
    expected_minutes = serializers.IntegerField(min_value=5, max_value=1440, default=60)
    vehicle_plate = serializers.CharField(
        max_length=12, required=False, allow_blank=True, default=""
    )
    is_contractor = serializers.BooleanField(default=False)
    photo = serializers.ImageField(required=False, allow_null=True, default=None)


class InvitedCheckInSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=64)
    document_number = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default=""
    )


class InvitationTokenSerializer(serializers.Serializer):
    """The one-time code, shown once (only its hash is stored)."""

    invitation = serializers.IntegerField()
    token = serializers.CharField()


class CheckInResultSerializer(serializers.Serializer):
    """What the gate is told: the neutral message on a hold, never why."""

    visit = serializers.IntegerField()
    state = serializers.CharField()
    message = serializers.CharField()


class InvitationSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    purpose = serializers.CharField(max_length=200)
    host = serializers.CharField(max_length=64)
    document_kind = serializers.ChoiceField(choices=DocumentKind.choices, default="id_card")
    document_number = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default=""
    )
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    company = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    party_size = serializers.IntegerField(min_value=1, max_value=50, default=1)
    expected_minutes = serializers.IntegerField(min_value=5, max_value=1440, default=60)
    vehicle_plate = serializers.CharField(
        max_length=12, required=False, allow_blank=True, default=""
    )
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["valid_until"] <= attrs["valid_from"]:
            raise serializers.ValidationError(_("The invitation must end after it starts."))
        return attrs


class VehicleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = ["id", "school", "plate", "kind", "owner", "driver", "is_active"]
        read_only_fields = ["id", "school", "is_active"]


class PassageSerializer(serializers.ModelSerializer):
    class Meta:
        model = VehiclePassage
        fields = ["id", "school", "plate", "direction", "at", "source", "vehicle", "visit"]
        read_only_fields = ["id", "school", "at", "source", "vehicle", "visit"]


class StudentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=64, write_only=True)
    masked_name = serializers.CharField(read_only=True)
    teacher_phone = serializers.CharField(
        max_length=20, write_only=True, required=False, allow_blank=True, default=""
    )

    class Meta:
        model = Student
        fields = [
            "id",
            "school",
            "student_number",
            "name",
            "masked_name",
            "class_name",
            "class_teacher",
            "teacher_phone",
            "is_active",
        ]
        read_only_fields = ["id", "school", "is_active"]
        validators: list = []  # (school, number) is the service's upsert key


class PickupPersonSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=64, write_only=True)
    masked_name = serializers.CharField(read_only=True)
    phone = serializers.CharField(max_length=20, write_only=True, required=False, default="")
    masked_phone = serializers.CharField(read_only=True)
    document_number = serializers.CharField(
        max_length=32, write_only=True, required=False, allow_blank=True, default=""
    )
    card_code = serializers.CharField(
        max_length=64, write_only=True, required=False, allow_blank=True, default=""
    )

    class Meta:
        model = PickupPerson
        fields = [
            "id",
            "student",
            "name",
            "masked_name",
            "relation",
            "phone",
            "masked_phone",
            "document_number",
            "card_code",
            "is_guardian",
            "is_approved",
            "is_active",
        ]
        read_only_fields = ["id", "is_guardian", "is_approved", "is_active"]


class PickupSerializer(serializers.ModelSerializer):
    person_name = serializers.SerializerMethodField()

    class Meta:
        model = Pickup
        fields = ["id", "school", "student", "person", "person_name", "outcome", "reason", "at"]

    def get_person_name(self, pickup: Pickup) -> str:
        return mask_name(pickup.person_name)


class ReleaseSerializer(serializers.Serializer):
    student = serializers.IntegerField(required=False, allow_null=True, default=None)
    code = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    person = serializers.IntegerField(required=False, allow_null=True, default=None)
    person_name = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    card_code = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    document_number = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default=""
    )


class ReleaseResultSerializer(serializers.Serializer):
    pickup = serializers.IntegerField()
    outcome = serializers.CharField()
    message = serializers.CharField()


class WatchlistEntrySerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=64, write_only=True)
    masked_name = serializers.CharField(read_only=True)
    document_number = serializers.CharField(
        max_length=32, write_only=True, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(max_length=500, write_only=True, required=False, default="")

    class Meta:
        model = WatchlistEntry
        fields = [
            "id",
            "station",
            "name",
            "masked_name",
            "birth_date",
            "document_kind",
            "document_number",
            "plate",
            "reason",
            "note",
            "valid_from",
            "valid_until",
            "ended_at",
        ]
        read_only_fields = ["id", "ended_at"]


class WatchlistHitSerializer(serializers.ModelSerializer):
    class Meta:
        model = WatchlistHit
        fields = ["id", "school", "entry", "strength", "source", "alarm_case_id", "at"]


class PickupCodeRequestSerializer(serializers.Serializer):
    person = serializers.IntegerField()
    day = serializers.DateField(required=False, allow_null=True, default=None)


class PickupCodeSerializer(serializers.Serializer):
    """The one-time code, answered once (only its keyed hash is stored)."""

    id = serializers.IntegerField()
    person = serializers.IntegerField()
    student = serializers.IntegerField()
    valid_on = serializers.DateField()
    code = serializers.CharField()


class GuardianLinkSerializer(serializers.Serializer):
    """The guardian's link, answered once."""

    id = serializers.IntegerField()
    person = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    url = serializers.CharField()
