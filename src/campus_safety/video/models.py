"""The video app's records: which cameras show an alarm point (per school).

Streams themselves are not rows: a live stream is process state (video/streams.py) and
every view's start and stop is an audit entry."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from campus_safety.devices.models import Device
from campus_safety.orgs.models import School
from campus_safety.scoping import ScopedQuerySet, ScopePaths


class CameraLink(models.Model):
    """报警点位联动摄像机 — a camera the alarm case page of ``alarm_device`` opens live.
    Set per school; without links the nearest cameras of the same school are used."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="camera_links"
    )
    alarm_device = models.ForeignKey(
        Device,
        verbose_name=_("alarm point"),
        on_delete=models.CASCADE,
        related_name="linked_cameras",
    )
    camera = models.ForeignKey(
        Device, verbose_name=_("camera"), on_delete=models.CASCADE, related_name="alarm_points"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["alarm_device", "position", "pk"]
        verbose_name = _("camera link")
        verbose_name_plural = _("camera links")
        constraints = [
            models.UniqueConstraint(fields=["alarm_device", "camera"], name="camera_link_once")
        ]

    def __str__(self) -> str:
        return f"{self.alarm_device} → {self.camera}"


class CameraPreset(models.Model):
    """预置位名称 — a camera's preset (the number the device stores the position under)
    with the name people know it by ("校门全景"). The position itself lives in the
    camera; the platform keeps the list and the names, per channel."""

    school = models.ForeignKey(
        School,
        verbose_name=_("school"),
        on_delete=models.CASCADE,
        related_name="camera_presets",
        null=True,
        blank=True,
    )
    camera = models.ForeignKey(
        Device, verbose_name=_("camera"), on_delete=models.CASCADE, related_name="presets"
    )
    number = models.PositiveSmallIntegerField(_("preset number"))
    name = models.CharField(_("name"), max_length=40)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["camera", "number"]
        verbose_name = _("camera preset")
        verbose_name_plural = _("camera presets")
        constraints = [
            models.UniqueConstraint(fields=["camera", "number"], name="camera_preset_once"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=255), name="camera_preset_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.camera} #{self.number} {self.name}"
