"""API representations of hazards, their timeline and photos, campaigns and checklists,
and the request bodies of the workflow steps."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from campus_safety.devices.models import KeyArea
from campus_safety.hazards.models import (
    Campaign,
    Checklist,
    ChecklistAnswer,
    Hazard,
    HazardEvent,
    HazardPhoto,
)
from campus_safety.workforce.serializers import SchoolBriefSerializer


class UserNameField(serializers.CharField):
    """A person on the timeline, by name (never their account details)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> str | None:
        return (value.display_name or value.get_username()) if value else None


class HazardSerializer(serializers.ModelSerializer):
    """A hazard as the list shows it."""

    school = SchoolBriefSerializer(read_only=True)
    district = serializers.CharField(source="school.region.name", read_only=True)
    responsible = serializers.CharField(source="responsible_label", read_only=True)
    is_overdue = serializers.SerializerMethodField()
    escalated_to_name = serializers.CharField(
        source="escalated_to.name", read_only=True, default=None
    )

    class Meta:
        model = Hazard
        fields = [
            "id", "reference", "kind", "school", "district", "title", "category", "severity",
            "key_area", "facility", "spot_kind", "location", "distance_m", "longitude",
            "latitude", "source", "verifier_side", "reported_at", "status",
            "responsible_kind", "responsible_organisation", "responsible_department",
            "responsible", "assigned_at", "deadline", "is_overdue", "started_at",
            "submitted_at", "verified_at", "closed_at", "return_count", "escalation_level",
            "escalated_to", "escalated_to_name",
        ]  # fmt: skip
        read_only_fields = fields

    def get_is_overdue(self, hazard: Hazard) -> bool:
        return hazard.is_overdue_at(self.context["now"])


class HazardEventSerializer(serializers.ModelSerializer):
    by = UserNameField()
    organisation_name = serializers.CharField(
        source="organisation.name", read_only=True, default=None
    )
    photos = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = HazardEvent
        fields = ["id", "at", "step", "by", "note", "organisation", "organisation_name", "photos"]
        read_only_fields = fields


class HazardPhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = HazardPhoto
        fields = [
            "id", "stage", "url", "content_type", "size", "width", "height",
            "location_stripped", "uploaded_at", "event",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, photo: HazardPhoto) -> str:
        return reverse("hazards:photo", args=[photo.pk])


class HazardDetailSerializer(HazardSerializer):
    """A hazard with its description, people, timeline, photos and the caller's steps."""

    reported_by = UserNameField()
    assigned_by = UserNameField()
    submitted_by = UserNameField()
    verified_by = UserNameField()
    closed_by = UserNameField()
    citizen_phone = serializers.CharField(source="citizen_phone_masked", read_only=True)
    events = HazardEventSerializer(many=True, read_only=True)
    photos = HazardPhotoSerializer(many=True, read_only=True)
    allowed_steps = serializers.SerializerMethodField()

    class Meta(HazardSerializer.Meta):
        fields = [
            *HazardSerializer.Meta.fields,
            "description", "citizen_name", "citizen_phone", "reported_by", "assigned_by",
            "submitted_by", "verified_by", "closed_by", "events", "photos", "allowed_steps",
        ]  # fmt: skip
        read_only_fields = fields

    def get_allowed_steps(self, hazard: Hazard) -> list[str]:
        from campus_safety.hazards.services import allowed_steps

        return sorted(allowed_steps(self.context["request"].user, hazard))


class HazardReportSerializer(serializers.Serializer):
    """报告隐患 (multipart, with ``photos`` files; or JSON without photos)."""

    kind = serializers.ChoiceField(choices=Hazard.Kind.choices)
    school = serializers.IntegerField(help_text="a school in your scope")
    title = serializers.CharField(max_length=120)
    category = serializers.ChoiceField(choices=Hazard.Category.choices)
    severity = serializers.ChoiceField(choices=Hazard.Severity.choices)
    source = serializers.ChoiceField(choices=Hazard.Source.choices)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    key_area = serializers.ChoiceField(choices=KeyArea.choices, required=False, allow_blank=True)
    facility = serializers.CharField(max_length=80, required=False, allow_blank=True)
    spot_kind = serializers.ChoiceField(
        choices=Hazard.SpotKind.choices, required=False, allow_blank=True
    )
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    distance_m = serializers.IntegerField(
        min_value=0, max_value=5000, required=False, allow_null=True
    )
    longitude = serializers.FloatField(
        min_value=-180, max_value=180, required=False, allow_null=True
    )
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    citizen_name = serializers.CharField(max_length=64, required=False, allow_blank=True)
    citizen_phone = serializers.RegexField(r"^[0-9+\- ]{5,20}$", required=False, allow_blank=True)
    photos = serializers.ListField(child=serializers.FileField(), required=False)
    strip_location = serializers.BooleanField(default=True)


class AssignSerializer(serializers.Serializer):
    responsible_kind = serializers.ChoiceField(choices=Hazard.Responsible.choices)
    organisation = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="police station (responsible_kind=police_station)",
    )
    department = serializers.CharField(max_length=120, required=False, allow_blank=True)
    deadline = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class StepSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class EvidenceSerializer(StepSerializer):
    photos = serializers.ListField(child=serializers.FileField(), required=False)
    strip_location = serializers.BooleanField(default=True)


class ReturnSerializer(StepSerializer):
    deadline = serializers.DateTimeField(required=False, allow_null=True)


class CampaignSerializer(serializers.ModelSerializer):
    schools = serializers.ListField(
        child=serializers.IntegerField(), write_only=True, help_text="schools in your scope"
    )
    checklists = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "template", "description", "source", "starts_on", "due_on",
            "created_at", "schools", "checklists",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "checklists"]

    def get_checklists(self, campaign: Campaign) -> list[int]:
        user = self.context["request"].user
        return list(
            Checklist.objects.visible_to(user)
            .filter(campaign=campaign)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


class ChecklistAnswerSerializer(serializers.ModelSerializer):
    hazard = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = ChecklistAnswer
        fields = ["item_code", "key_area", "facility", "answer", "note", "hazard"]
        read_only_fields = fields


class ChecklistItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    key_area = serializers.CharField()
    facility = serializers.CharField()
    question = serializers.CharField()
    requirement = serializers.CharField()


class ChecklistSerializer(serializers.ModelSerializer):
    school = SchoolBriefSerializer(read_only=True)
    answers = ChecklistAnswerSerializer(many=True, read_only=True)
    items = serializers.SerializerMethodField()

    class Meta:
        model = Checklist
        fields = ["id", "campaign", "school", "status", "submitted_at", "items", "answers"]
        read_only_fields = fields

    def get_items(self, checklist: Checklist) -> list[dict[str, str]]:
        from campus_safety.hazards.campaigns import checklist_items

        return [
            {
                "code": i.code,
                "key_area": str(i.key_area),
                "facility": str(i.facility),
                "question": str(i.question),
                "requirement": i.requirement,
            }
            for i in checklist_items(checklist)
        ]


class AnswerItemSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=16)
    answer = serializers.ChoiceField(choices=ChecklistAnswer.Answer.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class AnswerChecklistSerializer(serializers.Serializer):
    answers = AnswerItemSerializer(many=True)
