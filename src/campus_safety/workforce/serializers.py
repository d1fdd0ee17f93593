"""API representations of schools (with their staffing), guards and equipment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueTogetherValidator

from campus_safety.orgs.api import RegionBriefSerializer
from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.personal_data import mask_id_number, mask_phone
from campus_safety.scoping import covers_region
from campus_safety.spreadsheets import CellError
from campus_safety.workforce.imports import parse_id_number
from campus_safety.workforce.models import Equipment, Guard
from campus_safety.workforce.staffing import RULES, StaffingRule, get_rule


class StaffingRuleQuery(serializers.Serializer):
    """The optional ``?rule=`` of every endpoint that computes staffing figures."""

    rule = serializers.ChoiceField(
        choices=sorted(RULES),
        required=False,
        help_text="Staffing rule (RULES.md §1–2); default: the configured STAFFING_RULE.",
    )

    @classmethod
    def rule_from(cls, query_params: Any) -> StaffingRule:
        """The rule a request asks for; an unknown name is a 400 naming the choices."""
        key = query_params.get("rule", "").strip()
        query = cls(data={"rule": key} if key else {})
        query.is_valid(raise_exception=True)
        return get_rule(query.validated_data.get("rule"))


class PersonalDataField(serializers.CharField):
    """Written in full, always read back masked (PIPL): unmasking is a separate, audited
    act (personal_data.py), not something a list response does in passing."""

    def __init__(self, mask: Callable[[str], str], **kwargs: Any) -> None:
        self.mask = mask
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> str:
        return self.mask(value or "")


class OrganisationBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name"]


class SchoolBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = School
        fields = ["id", "code", "name"]


class GuardCountsSerializer(serializers.Serializer):
    """Guards at a school by kind; ``counted`` = the kinds the staffing rule counts."""

    professional = serializers.IntegerField(source="guards_professional", read_only=True)
    full_time = serializers.IntegerField(source="guards_full_time", read_only=True)
    part_time = serializers.IntegerField(source="guards_part_time", read_only=True)
    counted = serializers.IntegerField(source="guards_counted", read_only=True)


class SchoolSerializer(serializers.ModelSerializer):
    """A school with its guard staffing under the chosen rule.

    Related records are written by key (``region_code``, ``police_station_id``) and
    read back nested, so a list needs no second request to name them. Phone numbers
    are read back masked.
    """

    region = RegionBriefSerializer(read_only=True)
    region_code = serializers.SlugRelatedField(
        source="region",
        slug_field="code",
        write_only=True,
        queryset=Region.objects.filter(level=Region.Level.COUNTY),
        error_messages={"does_not_exist": _("No county-level division has code {value}.")},
    )
    police_station = OrganisationBriefSerializer(read_only=True)
    police_station_id = serializers.PrimaryKeyRelatedField(
        source="police_station",
        write_only=True,
        required=False,
        allow_null=True,
        queryset=Organisation.objects.filter(kind=Organisation.Kind.POLICE_STATION),
    )
    principal_phone = PersonalDataField(mask_phone)
    security_director_phone = PersonalDataField(mask_phone)
    police_room_phone = PersonalDataField(mask_phone)
    # The guard counts, required_guards and guard_gap come from annotate_staffing.
    guards = GuardCountsSerializer(source="*", read_only=True)
    required_guards = serializers.IntegerField(read_only=True)
    guard_gap = serializers.IntegerField(read_only=True)

    class Meta:
        model = School
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "is_boarding",
            "students",
            "boarders",
            "staff",
            "address",
            "longitude",
            "latitude",
            "region",
            "region_code",
            "police_station",
            "police_station_id",
            "principal_name",
            "principal_phone",
            "security_director_name",
            "security_director_phone",
            "has_police_room",
            "police_room_officer",
            "police_room_phone",
            "legal_vice_principal",
            "guards",
            "required_guards",
            "guard_gap",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(field: str) -> Any:
            if field in attrs:
                return attrs[field]
            return getattr(self.instance, field) if self.instance else 0

        if current("boarders") > current("students"):
            raise serializers.ValidationError(
                {"boarders": _("Boarders cannot outnumber the school's students.")}
            )
        region = attrs.get("region")
        moved = region is not None and (self.instance is None or region != self.instance.region)
        if moved and not covers_region(self.context["request"].user, region):
            # Only a region-wide scope places or moves schools, so a write can never
            # put a school where its writer cannot see it.
            raise serializers.ValidationError(
                {
                    "region_code": _("Division %(code)s is outside your scope.")
                    % {"code": region.code}
                }
            )
        return attrs


class StaffingBasisSerializer(serializers.Serializer):
    rule = serializers.CharField()
    label = serializers.CharField()
    basis = serializers.ChoiceField(choices=["day_students", "staff_and_students"])
    basis_value = serializers.IntegerField()


class SchoolDetailSerializer(SchoolSerializer):
    """Adds the equipment held and what the staffing requirement was computed from."""

    equipment = serializers.SerializerMethodField()
    staffing = serializers.SerializerMethodField()

    class Meta(SchoolSerializer.Meta):
        fields = [*SchoolSerializer.Meta.fields, "equipment", "staffing"]

    def get_equipment(self, school: School) -> dict[str, int]:
        return {item.kind: item.quantity for item in school.equipment.all()}

    @extend_schema_field(StaffingBasisSerializer)
    def get_staffing(self, school: School) -> dict[str, Any]:
        rule = self.context.get("rule") or get_rule()
        return {
            "rule": rule.key,
            "label": str(rule.label),
            "basis": rule.basis,
            "basis_value": school.basis,
        }


class VisibleSchoolField(serializers.PrimaryKeyRelatedField):
    """A school id the writer can see; any other id reads as "does not exist" (no leak)."""

    def get_queryset(self):
        request = self.context.get("request")
        return School.objects.visible_to(getattr(request, "user", None))


class GuardSerializer(serializers.ModelSerializer):
    school = SchoolBriefSerializer(read_only=True)
    school_id = VisibleSchoolField(source="school", write_only=True)
    company = OrganisationBriefSerializer(read_only=True)
    company_id = serializers.PrimaryKeyRelatedField(
        source="company",
        write_only=True,
        required=False,
        allow_null=True,
        queryset=Organisation.objects.filter(kind=Organisation.Kind.SECURITY_COMPANY),
    )
    phone = PersonalDataField(mask_phone)
    id_number = PersonalDataField(mask_id_number, max_length=18)
    is_certified = serializers.BooleanField(read_only=True)

    class Meta:
        model = Guard
        fields = [
            "id",
            "name",
            "kind",
            "school",
            "school_id",
            "company",
            "company_id",
            "certificate_number",
            "is_certified",
            "phone",
            "id_number",
            "hired_on",
        ]

    def validate_id_number(self, value: str) -> str:
        if not value:
            return value
        try:
            return parse_id_number(value)  # GB 11643 format and checksum
        except CellError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        company = attrs.get("company", getattr(self.instance, "company", None))
        if kind == Guard.Kind.PROFESSIONAL and company is None:
            # 公治〔2015〕168号: a professional guard is employed by a security company.
            raise serializers.ValidationError(
                {"company_id": _("A professional guard needs their security company.")}
            )
        return attrs


class EquipmentSerializer(serializers.ModelSerializer):
    school = SchoolBriefSerializer(read_only=True)
    school_id = VisibleSchoolField(source="school", write_only=True)

    class Meta:
        model = Equipment
        fields = ["id", "school", "school_id", "kind", "quantity"]
        validators = [
            UniqueTogetherValidator(
                queryset=Equipment.objects.all(),
                fields=["school_id", "kind"],
                message=_("The school already has a row for this kind; change its quantity."),
            )
        ]
