"""Forms of the device pages: adding or changing one device, approving a pending device,
planning a maintenance window."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from campus_safety.devices.models import Device, KeyArea
from campus_safety.devices.serializers import DeviceSerializer
from campus_safety.orgs.models import School
from campus_safety.web.serializer_forms import SerializerForm
from campus_safety.web.widgets import DateTimeInput, SchoolPicker


class SchoolChoiceField(forms.ModelChoiceField):
    widget = SchoolPicker

    def label_from_instance(self, obj: School) -> str:
        return f"{obj.name} ({obj.code})"


class ApproveForm(forms.Form):
    """Where a pending device belongs, and what it is."""

    school = SchoolChoiceField(label=_("School"), queryset=School.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=Device.Kind.choices)
    key_area = forms.ChoiceField(
        label=_("Key area"), choices=[("", "—"), *KeyArea.choices], required=False
    )
    name = forms.CharField(label=_("Name"), max_length=128, required=False)

    def __init__(self, *args: Any, schools: QuerySet[School], device: Device, **kwargs) -> None:
        kwargs.setdefault("prefix", f"d{device.pk}")
        kwargs.setdefault("initial", {"kind": device.kind, "key_area": device.key_area})
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools


class MaintenanceForm(forms.Form):
    """A planned outage: a whole school, or one of its devices."""

    school = SchoolChoiceField(label=_("School"), queryset=School.objects.none())
    device_id = forms.CharField(
        label=_("Device ID"),
        max_length=20,
        required=False,
        help_text=_("Empty: every device of the school."),
    )
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DateTimeInput)
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DateTimeInput)
    reason = forms.CharField(label=_("Reason"), max_length=255)

    def __init__(self, *args: Any, schools: QuerySet[School], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        school, device_id = data.get("school"), (data.get("device_id") or "").strip()
        data["device"] = None
        if school is not None and device_id:
            device = Device.objects.filter(device_id=device_id, school=school).first()
            if device is None:
                self.add_error("device_id", _("No device with this ID at the school."))
            data["device"] = device
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The window must end after it starts."))
        return data


DEVICE_FIELDS = (
    "name", "kind", "protocol", "key_area", "manufacturer", "model", "firmware", "address",
    "longitude", "latitude", "keepalive_interval", "keepalive_count", "snapshot_url",
)  # fmt: skip


def _credential(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=128,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class DeviceForm(SerializerForm):
    """One device, as the API takes it (DeviceSerializer's rules: the GB/T 28181 ID and
    its type code, the parent NVR at the same school, credentials write-only — blank
    keeps the stored one)."""

    serializer_class = DeviceSerializer
    field_names = {"school_id": "school"}

    device_id = forms.CharField(
        label=_("Device ID"), max_length=20, help_text=_("GB/T 28181: 20 digits.")
    )
    school = SchoolChoiceField(label=_("School"), queryset=School.objects.none())
    parent_device_id = forms.CharField(
        label=_("Parent NVR"),
        max_length=20,
        required=False,
        help_text=_("For a channel of an NVR: the NVR's device ID. Empty: a device on its own."),
    )
    password = _credential(
        _("Password"), _("GB/T 28181 digest password; leave empty to keep the stored one.")
    )
    reset_password = forms.BooleanField(
        label=_("Use the platform's default password"), required=False
    )
    secret = _credential(
        _("HTTP signing secret"),
        _("HMAC-SHA256 secret for HTTP devices; leave empty to keep the stored one."),
    )

    def __init__(self, *args: Any, schools: QuerySet[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in DEVICE_FIELDS:
            extra = {"assume_scheme": "http"} if name == "snapshot_url" else {}  # cameras' own
            self.fields[name] = Device._meta.get_field(name).formfield(**extra)
        order = ["device_id", "name", "kind", "protocol", "school", "key_area", "parent_device_id"]
        self.order_fields([*order, *DEVICE_FIELDS, "password", "reset_password", "secret"])
        self.fields["key_area"].required = False
        self.fields["school"].queryset = schools
        device = self.instance
        if device is None:
            del self.fields["reset_password"]
            return
        self.fields["device_id"].disabled = True  # an ID never changes: add a new device
        self.initial = {
            **{name: getattr(device, name) for name in DEVICE_FIELDS},
            "device_id": device.device_id,
            "school": device.school_id,
            "parent_device_id": device.parent.device_id if device.parent_id else "",
            **self.initial,
        }

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        school = cleaned.get("school")
        data = {name: cleaned.get(name) for name in DEVICE_FIELDS}
        data["key_area"] = data["key_area"] or ""
        data["snapshot_url"] = data["snapshot_url"] or ""
        data.update(
            device_id=cleaned["device_id"],
            school_id=school.pk if school is not None else None,
            parent_device_id=cleaned.get("parent_device_id") or None,
            password=None if cleaned.get("reset_password") else cleaned.get("password", ""),
            secret=cleaned.get("secret", ""),
        )
        return data
