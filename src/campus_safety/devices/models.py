"""Device registry (设备), live state and status history."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from campus_safety.devices import identifiers
from campus_safety.devices.status_reasons import in_words
from campus_safety.orgs.models import School
from campus_safety.personal_data import EncryptedCharField
from campus_safety.scoping import ScopedQuerySet, ScopePaths


def validate_device_id(value: str) -> None:
    try:
        identifiers.validate_device_id(value)
    except identifiers.InvalidDeviceId as exc:
        raise ValidationError(str(exc)) from exc


class KeyArea(models.TextChoices):
    """GB/T 29315-2022 key areas (重点部位和区域), RULES.md §1."""

    SURROUNDINGS = "surroundings", _("School surroundings")
    OUTSIDE_GATE = "outside_gate", _("Outside the main gate")
    PERIMETER = "perimeter", _("Perimeter")
    ENTRANCE = "entrance", _("Main entrance")
    GATE_ROOM = "gate_room", _("Gate room")
    OUTDOOR_CROWD = "outdoor_crowd", _("Sports ground and playground")
    TEACHING_AREA = "teaching_area", _("Teaching-area corridors and entrances")
    DORMITORY = "dormitory", _("Dormitories")
    KINDERGARTEN_ROOMS = "kindergarten_rooms", _("Kindergarten activity rooms and bedrooms")
    CANTEEN = "canteen", _("Canteen")
    HAZARDOUS_STORE = "hazardous_store", _("Hazardous-goods stores and laboratories")
    UTILITY_ROOMS = "utility_rooms", _("Utility rooms")
    FINANCE_ARCHIVES = "finance_archives", _("Finance and archives")
    CONTROL_ROOM = "control_room", _("Security control room")
    PARKING = "parking", _("Parking and school-bus area")
    OTHER = "other", _("Other")


class Device(models.Model):
    """设备 — a camera, NVR, alarm box or other device that talks to the platform."""

    class Kind(models.TextChoices):
        CAMERA = "camera", _("Camera")
        NVR = "nvr", _("NVR")
        ONE_KEY_ALARM = "one_key_alarm", _("One-key emergency alarm")
        INTRUSION_DETECTOR = "intrusion_detector", _("Intrusion detector")
        EMERGENCY_BUTTON = "emergency_button", _("Emergency button")
        PATROL_CHECKPOINT = "patrol_checkpoint", _("Guard-tour checkpoint")
        ACCESS_CONTROLLER = "access_controller", _("Access controller")
        ALARM_CONTROLLER = "alarm_controller", _("Alarm controller")

    class Protocol(models.TextChoices):
        GB28181 = "gb28181", "GB/T 28181"
        MQTT = "mqtt", "MQTT"
        HTTP = "http", "HTTP"

    class Status(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        ONLINE = "online", _("Online")
        OFFLINE = "offline", _("Offline")
        FAULT = "fault", _("Fault")

    device_id = models.CharField(
        _("device ID"), max_length=20, unique=True, validators=[validate_device_id]
    )
    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices, db_index=True)
    protocol = models.CharField(_("protocol"), max_length=16, choices=Protocol.choices)
    school = models.ForeignKey(
        School,
        verbose_name=_("school"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
    )
    key_area = models.CharField(
        _("key area"), max_length=24, choices=KeyArea.choices, blank=True, db_index=True
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent device"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="channels",
    )
    manufacturer = models.CharField(_("manufacturer"), max_length=64, blank=True)
    model = models.CharField(_("model"), max_length=64, blank=True)
    firmware = models.CharField(_("firmware"), max_length=64, blank=True)
    address = models.CharField(_("installation address"), max_length=255, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    # Credentials: encrypted (the platform needs the plain value for digest/HMAC) and
    # never shown back. Empty password = the platform-wide default (GB28181_PASSWORD).
    password = EncryptedCharField(_("password"), max_plain_length=128)
    secret = EncryptedCharField(_("HTTP signing secret"), max_plain_length=128)
    keepalive_interval = models.PositiveIntegerField(_("keepalive interval (s)"), default=60)
    keepalive_count = models.PositiveIntegerField(_("missed keepalives before offline"), default=3)
    snapshot_url = models.URLField(_("snapshot URL"), blank=True, max_length=500)
    is_approved = models.BooleanField(_("approved"), default=True, db_index=True)
    # Live state: transitions only (keepalives touch memory/Redis, see liveness.py).
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.UNKNOWN, db_index=True
    )
    status_since = models.DateTimeField(_("status since"), null=True, blank=True)
    is_flapping = models.BooleanField(_("flapping"), default=False)
    # Picture faults of a camera (video quality diagnosis, inspections/quality.py): a
    # flag beside the status, so a camera whose picture is covered stays "online" for
    # liveness and the online rate, yet shows and filters as faulty on the device pages.
    picture_faults = models.JSONField(_("picture faults"), default=list, blank=True)
    picture_fault_since = models.DateTimeField(
        _("picture faulty since"), null=True, blank=True, db_index=True
    )
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registered"), null=True, blank=True)
    register_expires_at = models.DateTimeField(_("registration expires"), null=True, blank=True)
    remote_address = models.CharField(_("remote address"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["device_id"]
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        indexes = [
            models.Index(fields=["school", "kind"]),
            models.Index(fields=["status", "status_since"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.device_id})"

    @property
    def type_code(self) -> str:
        return identifiers.type_code(self.device_id)

    @property
    def offline_after_seconds(self) -> int:
        """GB/T 28181: offline after interval × count without a keepalive."""
        return self.keepalive_interval * self.keepalive_count


class StatusChange(models.Model):
    """One state transition of a device (online ↔ offline, fault, flapping)."""

    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="history", verbose_name=_("device")
    )
    at = models.DateTimeField(_("time"), db_index=True)
    from_status = models.CharField(_("from"), max_length=16, choices=Device.Status.choices)
    to_status = models.CharField(_("to"), max_length=16, choices=Device.Status.choices)
    reason = models.CharField(_("reason"), max_length=128, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("device__school")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        indexes = [models.Index(fields=["device", "-at"])]

    def __str__(self) -> str:
        return _("%(device)s %(before)s→%(after)s at %(at)s") % {
            "device": self.device.name,
            "before": self.get_from_status_display(),
            "after": self.get_to_status_display(),
            "at": f"{localtime(self.at):%Y-%m-%d %H:%M:%S}",
        }

    def reason_in_words(self) -> str:
        """The stored (English) reason in the reader's language, for pages."""
        return in_words(self.reason)


class MaintenanceWindow(models.Model):
    """A planned outage: offline transitions inside it are recorded but not announced."""

    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
        verbose_name=_("school"),
    )
    device = models.ForeignKey(
        Device,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
        help_text=_("empty: every device of the school"),
        verbose_name=_("device"),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    reason = models.CharField(_("reason"), max_length=255)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="maintenance_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        starts, ends = localtime(self.starts_at), localtime(self.ends_at)
        return f"{self.reason} ({starts:%Y-%m-%d %H:%M}–{ends:%Y-%m-%d %H:%M})"


class DeviceEvent(models.Model):
    """A device message other than a keepalive or alarm (status report, patrol scan),
    stored once per (device, event_id) so a retried delivery is not counted twice."""

    class Kind(models.TextChoices):
        STATUS = "status", _("Status report")
        PATROL = "patrol", _("Patrol scan")

    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="events", verbose_name=_("device")
    )
    event_id = models.CharField(_("event ID"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("occurred"))
    received_at = models.DateTimeField(_("received"), db_index=True)
    payload = models.JSONField(_("payload"), default=dict)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("device__school")

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("device event")
        verbose_name_plural = _("device events")
        constraints = [
            models.UniqueConstraint(fields=["device", "event_id"], name="device_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.event_id}"
