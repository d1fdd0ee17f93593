"""Serializers of the linkage API: they validate and shape; services write."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campus_safety.linkage import notices
from campus_safety.linkage.discipline import mask_name
from campus_safety.linkage.models import (
    DisciplineRecord,
    Drill,
    DutyLog,
    EmergencyPlan,
    Lecture,
    Notice,
    NoticeReceipt,
    NoticeRelay,
    PoliceRoom,
)
from campus_safety.orgs.models import School


class LinkagePoliceRoomSerializer(serializers.ModelSerializer):
    school_name = serializers.CharField(source="school.name", read_only=True)
    officers = serializers.StringRelatedField(many=True, read_only=True)

    class Meta:
        model = PoliceRoom
        fields = [
            "id",
            "school",
            "school_name",
            "location",
            "officers",
            "auxiliary_officers",
            "counsellor_name",
            "hours",
            "opened_on",
        ]


class LinkageDutyLogSerializer(serializers.ModelSerializer):
    school = serializers.IntegerField(source="room.school_id", read_only=True)
    officer = serializers.StringRelatedField(read_only=True)
    problem_title = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=120
    )

    class Meta:
        model = DutyLog
        fields = [
            "id",
            "room",
            "school",
            "officer",
            "at",
            "kind",
            "notes",
            "hazard",
            "problem_title",
        ]
        read_only_fields = ["at", "hazard", "room"]


class LinkageDutyLogCreateSerializer(serializers.Serializer):
    school = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DutyLog.Kind.choices)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    problem_title = serializers.CharField(required=False, allow_blank=True, max_length=120)


class LinkageDisciplineListSerializer(serializers.ModelSerializer):
    """A row of the list: the name masked, no facts."""

    student = serializers.SerializerMethodField()
    school_name = serializers.CharField(source="school.name", read_only=True)

    class Meta:
        model = DisciplineRecord
        fields = [
            "id",
            "reference",
            "school",
            "school_name",
            "student",
            "class_name",
            "level",
            "behaviour",
            "created_at",
            "follow_up_until",
        ]

    def get_student(self, record: DisciplineRecord) -> str:
        return mask_name(record.student_name)


class LinkageFollowUpSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    due_on = serializers.DateField()
    done_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField()


class LinkageDisciplineDetailSerializer(LinkageDisciplineListSerializer):
    """The whole record, given only with a stated reason (audited)."""

    student_name = serializers.CharField()
    facts = serializers.CharField()
    follow_ups = LinkageFollowUpSerializer(many=True, read_only=True)

    class Meta(LinkageDisciplineListSerializer.Meta):
        fields = [
            *LinkageDisciplineListSerializer.Meta.fields,
            "student_name",
            "age",
            "facts",
            "occurred_on",
            "guardian",
            "measures",
            "designated_contact",
            "follow_ups",
        ]


class LinkageDisciplineCreateSerializer(serializers.Serializer):
    school = serializers.IntegerField()
    student_name = serializers.CharField(max_length=32)
    class_name = serializers.CharField(max_length=40)
    age = serializers.IntegerField(min_value=6, max_value=18)
    level = serializers.ChoiceField(choices=DisciplineRecord.Level.choices)
    behaviour = serializers.ChoiceField(choices=DisciplineRecord.Behaviour.choices)
    facts = serializers.CharField(max_length=2000)
    occurred_on = serializers.DateField()
    guardian = serializers.ChoiceField(choices=DisciplineRecord.Guardian.choices)
    measures = serializers.ListField(
        child=serializers.ChoiceField(choices=DisciplineRecord.Measure.choices),
        min_length=1,
        max_length=7,
    )
    designated_contact = serializers.IntegerField()
    follow_up_dates = serializers.ListField(
        child=serializers.DateField(), required=False, max_length=12
    )


class LinkagePlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmergencyPlan
        fields = [
            "id",
            "school",
            "kind",
            "version",
            "summary",
            "status",
            "submitted_at",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = ["version", "status", "submitted_at", "decided_at", "decision_note"]


class LinkageDrillSerializer(serializers.ModelSerializer):
    class Meta:
        model = Drill
        fields = [
            "id",
            "school",
            "kind",
            "is_evacuation",
            "is_joint",
            "held_at",
            "evacuation_seconds",
            "participants",
            "problems",
            "hazard",
            "test_window",
        ]
        read_only_fields = ["is_joint", "hazard", "test_window"]


class LinkageComplianceSerializer(serializers.Serializer):
    school = serializers.IntegerField(source="school.pk")
    school_name = serializers.CharField(source="school.name")
    period = serializers.CharField()
    status = serializers.CharField()
    drills = serializers.IntegerField()


class LinkageNoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notice
        fields = [
            "id",
            "kind",
            "title",
            "body",
            "target",
            "created_at",
            "confirm_by",
            "banner_until",
            "parent",
        ]
        read_only_fields = ["created_at", "banner_until", "parent"]


class LinkageChainSerializer(serializers.Serializer):
    """One level of a notice's forwarding chain (``notices.chain``), totals rolled up."""

    unit = serializers.IntegerField(allow_null=True)
    unit_name = serializers.CharField(allow_blank=True)
    read_at = serializers.DateTimeField(allow_null=True)
    forwarded_at = serializers.DateTimeField(allow_null=True)
    forwarded_notice = serializers.IntegerField(allow_null=True)
    schools = serializers.IntegerField()
    read = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    units = serializers.IntegerField()
    units_unread = serializers.IntegerField()
    units_not_forwarded = serializers.IntegerField()
    children = serializers.ListField(child=serializers.DictField())


def chain_data(node: Any) -> dict[str, Any]:
    """A ``notices.ChainNode`` as plain data, its units below it."""
    relay = node.relay
    return {
        "unit": relay.organisation_id if relay else None,
        "unit_name": relay.organisation.name if relay else "",
        "read_at": relay.read_at if relay else None,
        "forwarded_at": relay.forwarded_at if relay else None,
        "forwarded_notice": relay.forwarded_id if relay else node.notice_id,
        "schools": node.total.get("total", 0),
        "read": node.total.get("read", 0),
        "confirmed": node.total.get("confirmed", 0),
        "units": node.total.get("units", 0),
        "units_unread": node.total.get("units_unread", 0),
        "units_not_forwarded": node.total.get("units_not_forwarded", 0),
        "children": [chain_data(child) for child in node.children],
    }


class LinkageRelaySerializer(serializers.ModelSerializer):
    """The notice as passed to the reader's unit: read, forwarded (as which notice),
    reminders."""

    class Meta:
        model = NoticeRelay
        fields = ["organisation", "read_at", "forwarded", "forwarded_at", "reminders"]


class LinkageNoticeDetailSerializer(LinkageNoticeSerializer):
    """A notice with its forwarding chain (for the police and the bureau, when it was
    passed to units): every level's receipts rolled up, units not read or forwarded;
    for a unit it was passed to, that unit's relay (``relay``: may it still forward?)."""

    chain = serializers.SerializerMethodField()
    relay = serializers.SerializerMethodField()

    class Meta(LinkageNoticeSerializer.Meta):
        fields = [*LinkageNoticeSerializer.Meta.fields, "chain", "relay"]

    @extend_schema_field(LinkageRelaySerializer(allow_null=True))
    def get_relay(self, notice: Notice) -> dict[str, Any] | None:
        request = self.context.get("request")
        relay = notices.own_relay(getattr(request, "user", None), notice)
        return LinkageRelaySerializer(relay).data if relay is not None else None

    @extend_schema_field(LinkageChainSerializer(allow_null=True))
    def get_chain(self, notice: Notice) -> dict[str, Any] | None:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or getattr(user, "school_id", None) or not notice.relays.exists():
            return None
        if notices.own_relay(user, notice) is not None:  # a unit sees its own level only
            return None
        return chain_data(notices.chain(notice))


class LinkageNoticeCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Notice.Kind.choices, default=Notice.Kind.NOTICE)
    title = serializers.CharField(max_length=120)
    body = serializers.CharField(max_length=8000)
    regions = serializers.ListField(
        child=serializers.CharField(max_length=6), required=False, max_length=50
    )
    stations = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=200
    )
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=School.Kind.choices), required=False, max_length=8
    )
    schools = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=5000
    )
    units = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=500)
    confirm_by = serializers.DateTimeField(required=False, allow_null=True)


class LinkageForwardSerializer(serializers.Serializer):
    """A unit forwards a notice passed to it: to its own schools, optionally to the
    units below it; a note on top; an earlier deadline, if it wants one."""

    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    units = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=500
    )
    confirm_by = serializers.DateTimeField(required=False, allow_null=True)


class LinkageRemindedSerializer(serializers.Serializer):
    reminded = serializers.IntegerField(help_text="schools and units reminded")
    schools = serializers.IntegerField()
    units = serializers.IntegerField()


class LinkageReceiptSerializer(serializers.ModelSerializer):
    school_name = serializers.CharField(source="school.name", read_only=True)

    class Meta:
        model = NoticeReceipt
        fields = ["school", "school_name", "read_at", "confirmed_at", "reminders", "reply"]


class LinkageConfirmSerializer(serializers.Serializer):
    reply = serializers.CharField(required=False, allow_blank=True, max_length=500)


class LinkageLectureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lecture
        fields = ["id", "school", "officer", "lecturer", "held_on", "topic", "audience"]
        read_only_fields = ["officer"]
