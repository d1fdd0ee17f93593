"""Alarm events as devices send them (报警事件): raw, deduplicated, never lost.

Cases, dispatch and escalation build on these (see the alarm-handling issue).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from campus_safety.devices.models import Device
from campus_safety.orgs.models import School
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
    payload = models.JSONField(_("payload"), default=dict)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="school__region__code", school="school", police_station="school__police_station"
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
