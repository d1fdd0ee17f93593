"""Admin for the device registry. Credentials are write-only: the form never shows a
stored password or secret back, and a blank field keeps it. Live-state fields are
read-only (only the liveness service writes them), and so is approval: the action
approves through ``services.approve_device`` (school and type checked, channels admitted
with their NVR, audited as ``device.approve``, the gateways' directory refreshed)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campus_safety.devices import services
from campus_safety.devices.models import Device, DeviceEvent, MaintenanceWindow, StatusChange

LIVE_FIELDS = [
    "status",
    "status_since",
    "is_flapping",
    "last_seen_at",
    "registered_at",
    "register_expires_at",
    "remote_address",
    "created_at",
]
CREDENTIALS = ("password", "secret")
EDITABLE = [
    "device_id",
    "name",
    "kind",
    "protocol",
    "school",
    "key_area",
    "parent",
    "manufacturer",
    "model",
    "firmware",
    "address",
    "longitude",
    "latitude",
    "password",
    "secret",
    "keepalive_interval",
    "keepalive_count",
    "snapshot_url",
]


class DeviceForm(forms.ModelForm):
    password = forms.CharField(
        label=_("password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("GB/T 28181 digest password; blank keeps the stored one (or the default)."),
    )
    secret = forms.CharField(
        label=_("HTTP signing secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("HMAC-SHA256 secret for /api/v1/ingest; blank keeps the stored one."),
    )
    snapshot_url = forms.URLField(
        label=_("snapshot URL"), required=False, max_length=500, assume_scheme="https"
    )

    class Meta:
        model = Device
        fields = EDITABLE

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in CREDENTIALS:
            self.initial[name] = ""  # never send a stored credential to the browser

    def clean(self):
        data = super().clean()
        device_id, kind = data.get("device_id"), data.get("kind")
        if device_id and kind and (mismatch := services.type_mismatch(device_id, kind)):
            self.add_error("kind", mismatch)
        if self.instance.pk:
            for name in CREDENTIALS:
                if not data.get(name):
                    data[name] = getattr(self.instance, name)
        return data


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    form = DeviceForm
    list_display = [
        "device_id",
        "name",
        "kind",
        "protocol",
        "school",
        "status",
        "status_since",
        "is_flapping",
        "last_seen_at",
        "is_approved",
    ]
    list_filter = ["status", "is_approved", "is_flapping", "kind", "protocol", "key_area"]
    search_fields = ["device_id", "name", "school__name"]
    list_select_related = ["school"]
    raw_id_fields = ["school", "parent"]
    readonly_fields = [*LIVE_FIELDS, "is_approved"]
    actions = ["approve"]

    @admin.action(description=_("Approve the selected devices"))
    def approve(self, request, queryset) -> None:
        """Each device through the service, one by one: a refusal names its device and
        leaves the others approved."""
        approved = 0
        for device in queryset.filter(is_approved=False).select_related("school"):
            if device.school is None:
                self.message_user(
                    request,
                    _("%(device)s: place it at a school first.") % {"device": device.device_id},
                    messages.ERROR,
                )
                continue
            try:
                services.approve_device(device, by=request.user, school=device.school)
            except (ValidationError, services.NotPending) as exc:
                reason = "; ".join(getattr(exc, "messages", None) or [str(exc)])
                self.message_user(
                    request,
                    _("%(device)s: %(reason)s") % {"device": device.device_id, "reason": reason},
                    messages.ERROR,
                )
                continue
            approved += 1
        self.message_user(request, _("%d devices approved.") % approved, messages.SUCCESS)


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "device", "from_status", "to_status", "reason_shown"]
    list_filter = ["to_status"]
    search_fields = ["device__device_id", "device__name", "reason"]
    list_select_related = ["device"]
    date_hierarchy = "at"
    exclude = ["reason"]
    readonly_fields = ["reason_shown"]

    @admin.display(description=_("reason"), ordering="reason")
    def reason_shown(self, change: StatusChange) -> str:
        """The stored reason is English (the log's words); the admin shows it in words."""
        return change.reason_in_words()

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ["school", "device", "starts_at", "ends_at", "reason"]
    search_fields = ["school__name", "device__device_id", "reason"]
    raw_id_fields = ["school", "device"]
    list_select_related = ["school", "device"]


@admin.register(DeviceEvent)
class DeviceEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "device", "kind", "event_id", "occurred_at"]
    list_filter = ["kind"]
    search_fields = ["device__device_id", "event_id"]
    list_select_related = ["device"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
