"""API representations of devices, their status history, online rates and the gateway.

Credentials (GB/T 28181 password, HTTP signing secret) are write-only: accepted on
create and update, never read back; a blank value on update keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campus_safety.devices import identifiers, services
from campus_safety.devices.models import Device, StatusChange
from campus_safety.orgs.models import School


class DeviceSchoolSerializer(serializers.ModelSerializer):
    class Meta:
        model = School
        fields = ["id", "code", "name"]


class DeviceBriefSerializer(serializers.ModelSerializer):
    """How other resources (and a device's channels) name a device."""

    class Meta:
        model = Device
        fields = ["id", "device_id", "name", "kind", "key_area", "status", "status_since"]


@extend_schema_field(OpenApiTypes.INT)
class VisibleSchoolField(serializers.PrimaryKeyRelatedField):
    """A school the writer can see; any other id reads as "does not exist" (no leak)."""

    def get_queryset(self):
        request = self.context.get("request")
        return School.objects.visible_to(getattr(request, "user", None))


class VisibleParentField(serializers.SlugRelatedField):
    """The parent NVR by its device ID, among the writer's devices."""

    def get_queryset(self):
        request = self.context.get("request")
        return Device.objects.visible_to(getattr(request, "user", None))


class CredentialField(serializers.CharField):
    """Write-only; blank or absent = keep the stored value (on update) or the default (on
    create); null = clear it (a device's own GB/T 28181 password back to the platform's)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("write_only", True)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("max_length", 128)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("style", {"input_type": "password"})
        super().__init__(**kwargs)


class DeviceSerializer(serializers.ModelSerializer):
    """A device with its live state. Write the school by id and the parent NVR by its
    device ID; both must be within the writer's scope."""

    school = DeviceSchoolSerializer(read_only=True)
    school_id = VisibleSchoolField(source="school", write_only=True)
    parent = DeviceBriefSerializer(read_only=True)
    parent_device_id = VisibleParentField(
        source="parent",
        slug_field="device_id",
        write_only=True,
        required=False,
        allow_null=True,
    )
    type_code = serializers.CharField(read_only=True)
    type_name = serializers.SerializerMethodField()
    channel_count = serializers.IntegerField(read_only=True, default=0)
    password = CredentialField(
        help_text="GB/T 28181 digest password; blank keeps it, null resets it to the "
        "platform default."
    )
    secret = CredentialField(
        help_text="HMAC-SHA256 secret for /api/v1/ingest (HTTP devices); blank keeps it."
    )

    class Meta:
        model = Device
        fields = [
            "id",
            "device_id",
            "name",
            "kind",
            "type_code",
            "type_name",
            "protocol",
            "school",
            "school_id",
            "key_area",
            "parent",
            "parent_device_id",
            "channel_count",
            "manufacturer",
            "model",
            "firmware",
            "address",
            "longitude",
            "latitude",
            "keepalive_interval",
            "keepalive_count",
            "snapshot_url",
            "is_approved",
            "status",
            "status_since",
            "is_flapping",
            "picture_faults",
            "picture_fault_since",
            "last_seen_at",
            "registered_at",
            "register_expires_at",
            "password",
            "secret",
        ]
        read_only_fields = [
            "is_approved",
            "status",
            "status_since",
            "is_flapping",
            "picture_faults",
            "picture_fault_since",
            "last_seen_at",
            "registered_at",
            "register_expires_at",
        ]
        extra_kwargs = {
            "keepalive_interval": {"min_value": 5, "max_value": 3600},
            "keepalive_count": {"min_value": 1, "max_value": 20},
        }

    def get_type_name(self, device: Device) -> str:
        return identifiers.type_name(device.device_id)

    def validate_device_id(self, value: str) -> str:
        if self.instance is not None and value != self.instance.device_id:
            raise serializers.ValidationError(_("A device ID cannot change; add a new device."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(field: str) -> Any:
            if field in attrs:
                return attrs[field]
            return getattr(self.instance, field, None) if self.instance else None

        device_id, kind = current("device_id"), current("kind")
        if device_id and kind and (mismatch := services.type_mismatch(device_id, kind)):
            raise serializers.ValidationError({"kind": mismatch})
        parent, school = current("parent"), current("school")
        if parent is not None:
            if parent.kind not in services.PARENT_KINDS:
                raise serializers.ValidationError(
                    {"parent_device_id": _("A parent device must be an NVR.")}
                )
            if school is None or parent.school_id != school.pk:
                raise serializers.ValidationError(
                    {"parent_device_id": _("The parent NVR belongs to another school.")}
                )
            if self.instance is not None and parent.pk == self.instance.pk:
                raise serializers.ValidationError(
                    {"parent_device_id": _("A device cannot be its own parent.")}
                )
        moved = self.instance is not None and "school" in attrs
        if moved and self.instance.channels.exclude(school=attrs["school"]).exists():
            raise serializers.ValidationError(
                {"school_id": _("Move the NVR's channels with it: they are at another school.")}
            )
        for name in ("password", "secret"):
            if name in attrs and attrs[name] is None:
                attrs[name] = ""  # null clears: the password falls back to the platform's
            elif self.instance is not None and not attrs.get(name):
                attrs.pop(name, None)  # blank keeps the stored credential
        secret = attrs["secret"] if "secret" in attrs else getattr(self.instance, "secret", "")
        if current("protocol") == Device.Protocol.HTTP and not secret:
            raise serializers.ValidationError(
                {"secret": _("An HTTP device needs its signing secret.")}
            )
        return attrs

    def create(self, data: dict[str, Any]) -> Device:
        return services.create_device(data)

    def update(self, device: Device, data: dict[str, Any]) -> Device:
        return services.update_device(device, data)


class StatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatusChange
        fields = ["at", "from_status", "to_status", "reason"]


class OnlineRateSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    total = serializers.IntegerField()
    online = serializers.IntegerField()
    rate = serializers.FloatField()


class OnlineRateReportSerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=["district", "school", "key_area", "kind", "city"])
    overall = OnlineRateSerializer()
    rows = OnlineRateSerializer(many=True)


class GatewayStatusSerializer(serializers.Serializer):
    running = serializers.BooleanField()
    gb28181 = serializers.DictField(child=serializers.IntegerField(), required=False)
    mqtt = serializers.DictField(required=False)


class ApproveSerializer(serializers.Serializer):
    """What an approver says about a pending device."""

    school_id = VisibleSchoolField(source="school")
    kind = serializers.ChoiceField(choices=Device.Kind.choices, required=False)
    key_area = serializers.CharField(required=False, allow_blank=True, max_length=24)
    name = serializers.CharField(required=False, allow_blank=True, max_length=128)
