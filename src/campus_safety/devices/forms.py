"""Forms of the device pages: approving a pending device, planning a maintenance window."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from campus_safety.devices.models import Device, KeyArea
from campus_safety.orgs.models import School
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
