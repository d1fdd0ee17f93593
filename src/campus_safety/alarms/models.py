"""Alarm events as devices send them (报警事件): raw, deduplicated, never lost; the
cases they open (报警警情), the police units sent to them, escalations and drills.

Timers are database deadlines (``AlarmCase.next_escalation_at``,
``AlarmCase.arrival_deadline``), so open cases and their clocks survive any restart.
"""

from django.conf import settings
from django.db import models
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from campus_safety.devices.models import Device
from campus_safety.orgs.models import Organisation, School
from campus_safety.scoping import ScopedQuerySet, ScopePaths


class AlarmEvent(models.Model):
    """One alarm message from one device, stored once per (device, event_id)."""

    class Method(models.IntegerChoices):
        """GB/T 28181 AlarmMethod."""

        TELEPHONE = 1, _("Telephone")
        DEVICE = 2, _("Device")
        SMS = 3, _("SMS")
        GPS = 4, _("GPS")
        VIDEO = 5, _("Video analytics")
        DEVICE_FAULT = 6, _("Device fault")
        OTHER = 7, _("Other")

    device = models.ForeignKey(
        Device, verbose_name=_("device"), on_delete=models.PROTECT, related_name="alarm_events"
    )
    # Denormalised from the device at ingestion: scoping and fan-out need it at once.
    school = models.ForeignKey(
        School,
        verbose_name=_("school"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alarm_events",
    )
    event_id = models.CharField(_("event ID"), max_length=64)
    occurred_at = models.DateTimeField(_("occurred"))
    received_at = models.DateTimeField(_("received"), db_index=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=1)  # 1 highest … 4
    method = models.PositiveSmallIntegerField(
        _("method"), choices=Method.choices, default=Method.DEVICE
    )
    alarm_type = models.CharField(_("alarm type"), max_length=16, blank=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    protocol = models.CharField(_("protocol"), max_length=16, choices=Device.Protocol.choices)
    is_test = models.BooleanField(_("test alarm"), default=False)
    # Police eyes only (a watch-list hit at a gate, issue #17): no school role sees it.
    police_only = models.BooleanField(_("police only"), default=False)
    payload = models.JSONField(_("payload"), default=dict)
    # Set in the ingestion transaction: the case exists before the device is acknowledged.
    case = models.ForeignKey(
        "AlarmCase",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="school__region__code",
        school="school",
        police_station="school__police_station",
        police_only_flag="police_only",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("alarm event")
        verbose_name_plural = _("alarm events")
        constraints = [
            models.UniqueConstraint(fields=["device", "event_id"], name="alarm_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.event_id}"


class AlarmCase(models.Model):
    """报警警情 — one incident at a school, opened by the first alarm event and latched
    until a person closes it with a written disposition (GB 50394 5.2.3)."""

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        DISPATCHED = "dispatched", _("Dispatched")
        ON_SCENE = "on_scene", _("On scene")
        RESOLVED = "resolved", _("Resolved")
        FALSE_ALARM = "false_alarm", _("False alarm")
        TEST = "test", _("Test")

    class Priority(models.IntegerChoices):
        """GB/T 28181 AlarmPriority: 1 is the highest."""

        CRITICAL = 1, _("Critical")
        HIGH = 2, _("High")
        MEDIUM = 3, _("Medium")
        LOW = 4, _("Low")

    school = models.ForeignKey(
        School,
        verbose_name=_("school"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alarm_cases",
    )
    device = models.ForeignKey(
        Device, verbose_name=_("device"), on_delete=models.PROTECT, related_name="alarm_cases"
    )
    key_area = models.CharField(_("key area"), max_length=24, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.MEDIUM, db_index=True
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.RECEIVED, db_index=True
    )
    is_test = models.BooleanField(_("test alarm"), default=False, db_index=True)
    # Police eyes only (a watch-list hit at a gate, issue #17): the station and the
    # command centre see it, no school role does; it never merges with a school's case.
    police_only = models.BooleanField(_("police only"), default=False)
    alarm_type = models.CharField(_("alarm type"), max_length=16, blank=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    opened_at = models.DateTimeField(_("opened"), db_index=True)
    last_event_at = models.DateTimeField(_("last event"))
    event_count = models.PositiveIntegerField(_("events"), default=1)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("dispatched by"),
    )
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    arrived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("arrived by"),
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, db_index=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("closed by"),
    )
    disposition = models.TextField(_("disposition"), blank=True)
    # Timers: deadlines in the database, so a restart loses none of them.
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    next_escalation_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("next escalation at")
    )
    arrival_deadline = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("arrival deadline")
    )
    is_breach = models.BooleanField(_("response circle breached"), default=False)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="school__region__code",
        school="school",
        police_station="school__police_station",
        police_only_flag="police_only",
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("alarm case")
        verbose_name_plural = _("alarm cases")
        indexes = [
            models.Index(fields=["school", "closed_at", "last_event_at"]),
            models.Index(fields=["device", "closed_at"]),
        ]

    def __str__(self) -> str:
        # The device by its name and code (its database number means nothing to a reader).
        device = self.device
        return f"#{self.pk} {self.get_state_display()} {device.name} {device.device_id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class PoliceUnit(models.Model):
    """出警力量 — a patrol car, foot patrol or campus police room that can be sent."""

    class Kind(models.TextChoices):
        PATROL_CAR = "patrol_car", _("Patrol car")
        FOOT_PATROL = "foot_patrol", _("Foot patrol")
        POLICE_ROOM = "police_room", _("Campus police room")

    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("police station"),
        on_delete=models.PROTECT,
        related_name="police_units",
    )
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    is_available = models.BooleanField(_("available"), default=True, db_index=True)

    # Police eyes only: a station sees its own units, the command centre its region's.
    # Schools and bureaus see the units sent to their cases through the dispatches.
    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="organisation__region__code",
        school="organisation__schools",
        police_station="organisation",
        police_only=True,
    )

    class Meta:
        ordering = ["organisation_id", "name"]
        verbose_name = _("police unit")
        verbose_name_plural = _("police units")

    def __str__(self) -> str:
        return self.name


class Dispatch(models.Model):
    """派警 — one unit sent to one case, with its own en-route/arrived/cleared times."""

    case = models.ForeignKey(
        AlarmCase, on_delete=models.CASCADE, related_name="dispatches", verbose_name=_("case")
    )
    unit = models.ForeignKey(
        PoliceUnit,
        on_delete=models.PROTECT,
        related_name="dispatches",
        verbose_name=_("police unit"),
    )
    dispatched_at = models.DateTimeField(_("dispatched"))
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("dispatched by"),
    )
    en_route_at = models.DateTimeField(_("en route"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("case__school")

    class Meta:
        ordering = ["dispatched_at", "id"]
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")

    def __str__(self) -> str:
        return _("%(unit)s → case #%(case)s") % {"unit": self.unit.name, "case": self.case_id}


class AlarmEscalation(models.Model):
    """升级 — a case went up a level: unacknowledged too long, or no arrival in the circle."""

    class Reason(models.TextChoices):
        UNACKNOWLEDGED = "unacknowledged", _("Not acknowledged in time")
        ARRIVAL_BREACH = "arrival_breach", _("No arrival within the response circle")

    class Level(models.IntegerChoices):
        STATION = 0, _("Police station")
        SUB_BUREAU = 1, _("Police sub-bureau")
        COMMAND_CENTRE = 2, _("Command-centre supervisor")

    case = models.ForeignKey(
        AlarmCase, on_delete=models.CASCADE, related_name="escalations", verbose_name=_("case")
    )
    at = models.DateTimeField(_("time"), db_index=True)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("organisation"),
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("case__school")

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("alarm escalation")
        verbose_name_plural = _("alarm escalations")

    def __str__(self) -> str:
        return _("case #%(case)s: %(reason)s → %(level)s") % {
            "case": self.case_id,
            "reason": self.get_reason_display(),
            "level": self.get_level_display(),
        }


class TestWindow(models.Model):
    """报警测试 — a planned drill: alarms from the school (or one device) inside it are
    test cases, never escalated and left out of the real statistics."""

    __test__ = False  # not a pytest class, despite the name

    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        related_name="alarm_test_windows",
        verbose_name=_("school"),
    )
    device = models.ForeignKey(
        Device,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alarm_test_windows",
        help_text=_("empty: every alarm device of the school"),
        verbose_name=_("device"),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    reason = models.CharField(_("reason"), max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("alarm test window")
        verbose_name_plural = _("alarm test windows")
        indexes = [models.Index(fields=["school", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="alarm_test_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        starts, ends = localtime(self.starts_at), localtime(self.ends_at)
        return f"{self.reason} ({starts:%Y-%m-%d %H:%M}–{ends:%Y-%m-%d %H:%M})"
