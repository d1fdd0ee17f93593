"""The inspections app's records: daily results per school, camera picture quality,
video patrols with their findings, and rectification notices (whose workflow is the
hazard workflow: a notice owns one hazard of source "online inspection")."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from campus_safety.devices.models import Device
from campus_safety.hazards.models import Hazard
from campus_safety.orgs.models import Organisation, School
from campus_safety.scoping import ScopedQuerySet, ScopePaths

SCHOOL_SCOPE = ScopePaths.through("school")


class InspectionRun(models.Model):
    """One run of the automatic daily inspection (for the whole city, one day)."""

    day = models.DateField(_("day"), db_index=True)
    ruleset = models.CharField(_("rule set"), max_length=16)
    started_at = models.DateTimeField(_("started"))
    seconds = models.FloatField(_("seconds"), default=0)
    schools = models.PositiveIntegerField(_("schools inspected"), default=0)

    class Meta:
        ordering = ["-day", "-started_at"]
        verbose_name = _("inspection run")
        verbose_name_plural = _("inspection runs")

    def __str__(self) -> str:
        return f"{self.day} ({self.ruleset})"


class DailyResult(models.Model):
    """每日网上巡查结果 — one school's scored checklist for one day."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"), db_index=True)
    ruleset = models.CharField(_("rule set"), max_length=16)
    score = models.FloatField(_("score"))
    district_rank = models.PositiveIntegerField(_("rank in district"), default=0)
    city_rank = models.PositiveIntegerField(_("rank in city"), default=0)
    # {item code: {"ok": bool, "lost": points, "value": figure, "detail": words}}
    items = models.JSONField(_("items"), default=dict)
    failed = models.PositiveSmallIntegerField(_("items failed"), default=0)
    notice = models.ForeignKey(
        "Notice",
        verbose_name=_("notice"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["-day", "district_rank"]
        verbose_name = _("daily inspection result")
        verbose_name_plural = _("daily inspection results")
        constraints = [
            models.UniqueConstraint(fields=["school", "day"], name="inspection_result_once")
        ]
        indexes = [models.Index(fields=["day", "score"])]

    def __str__(self) -> str:
        return f"{self.school} {self.day}: {self.score:.0f}"


def quality_picture_path(instance: QualityCheck, filename: str) -> str:
    return f"inspections/vqd/{instance.device_id}/{filename}"


class CameraQuality(models.Model):
    """A camera's picture-quality state: its reference (known good) and last signature,
    its current faults and since when."""

    device = models.OneToOneField(
        Device, verbose_name=_("camera"), on_delete=models.CASCADE, related_name="quality"
    )
    school = models.ForeignKey(
        School,
        verbose_name=_("school"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    reference = models.TextField(_("reference signature"), blank=True)
    reference_at = models.DateTimeField(_("reference taken"), null=True, blank=True)
    last = models.TextField(_("last signature"), blank=True)
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True, db_index=True)
    faults = models.JSONField(_("faults"), default=list)
    faulty_since = models.DateTimeField(_("faulty since"), null=True, blank=True)
    last_check = models.ForeignKey(
        "QualityCheck",
        verbose_name=_("last check"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        verbose_name = _("camera picture quality")
        verbose_name_plural = _("camera picture quality")

    def __str__(self) -> str:
        return str(self.device)


class QualityCheck(models.Model):
    """视频质量诊断 — one diagnosis of one snapshot; the picture is kept when faulty
    (evidence) and for the latest check of every camera."""

    device = models.ForeignKey(
        Device, verbose_name=_("camera"), on_delete=models.CASCADE, related_name="+"
    )
    school = models.ForeignKey(
        School,
        verbose_name=_("school"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    at = models.DateTimeField(_("checked"), db_index=True)
    faults = models.JSONField(_("faults"), default=list)
    measures = models.JSONField(_("measures"), default=dict)
    error = models.CharField(_("error"), max_length=255, blank=True)
    picture = models.ImageField(_("picture"), upload_to=quality_picture_path, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["-at"]
        verbose_name = _("quality check")
        verbose_name_plural = _("quality checks")
        indexes = [models.Index(fields=["device", "at"])]

    def __str__(self) -> str:
        return f"{self.device_id} {self.at:%Y-%m-%d %H:%M}"


class PatrolPlan(models.Model):
    """视频巡查计划 — which schools an inspector patrols by video, how often."""

    name = models.CharField(_("name"), max_length=80)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    schools = models.ManyToManyField(School, verbose_name=_("schools"), related_name="+")
    every_days = models.PositiveSmallIntegerField(_("every (days)"), default=7)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="organisation__region__code",
        school="schools",
        police_station="organisation",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("video patrol plan")
        verbose_name_plural = _("video patrol plans")

    def __str__(self) -> str:
        return self.name


class VideoPatrol(models.Model):
    """视频巡查 — one inspector's pass over a set of schools' cameras."""

    class Status(models.TextChoices):
        OPEN = "open", _("In progress")
        DONE = "done", _("Completed")

    plan = models.ForeignKey(
        PatrolPlan,
        verbose_name=_("plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patrols",
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    started_at = models.DateTimeField(_("started"), db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="organisation__region__code",
        school="stops__school",
        police_station="organisation",
    )

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("video patrol")
        verbose_name_plural = _("video patrols")

    def __str__(self) -> str:
        return f"{self.inspector} {self.started_at:%Y-%m-%d %H:%M}"


class PatrolStop(models.Model):
    """One school in a video patrol, in order; visited when its cameras were seen."""

    patrol = models.ForeignKey(
        VideoPatrol, verbose_name=_("patrol"), on_delete=models.CASCADE, related_name="stops"
    )
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveSmallIntegerField(_("order"))
    visited_at = models.DateTimeField(_("visited"), null=True, blank=True)
    cameras_seen = models.PositiveSmallIntegerField(_("cameras seen"), default=0)

    class Meta:
        ordering = ["patrol", "position"]
        verbose_name = _("patrol stop")
        verbose_name_plural = _("patrol stops")
        constraints = [
            models.UniqueConstraint(fields=["patrol", "school"], name="patrol_stop_once")
        ]

    def __str__(self) -> str:
        return f"{self.patrol_id}#{self.position} {self.school_id}"


def finding_snapshot_path(instance: Finding, filename: str) -> str:
    return f"inspections/findings/{instance.school_id}/{filename}"


class Finding(models.Model):
    """巡查发现 — what an inspector saw on a school's camera, with the snapshot."""

    class Kind(models.TextChoices):
        NO_GUARD = "no_guard", _("No guard at the gate")
        GATE_OPEN = "gate_open", _("Gate open during class")
        CAMERA_BLOCKED = "camera_blocked", _("Camera blocked")
        CAMERA_FAULT = "camera_fault", _("Camera picture faulty")
        NO_EQUIPMENT = "no_equipment", _("Guard without protective equipment")
        CROWDING = "crowding", _("Crowding or disorder")
        OTHER = "other", _("Other")

    patrol = models.ForeignKey(
        VideoPatrol, verbose_name=_("patrol"), on_delete=models.CASCADE, related_name="findings"
    )
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    device = models.ForeignKey(
        Device,
        verbose_name=_("camera"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("finding"), max_length=16, choices=Kind.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    snapshot = models.ImageField(_("snapshot"), upload_to=finding_snapshot_path, blank=True)
    at = models.DateTimeField(_("found"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    notice = models.ForeignKey(
        "Notice",
        verbose_name=_("notice"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["-at"]
        verbose_name = _("patrol finding")
        verbose_name_plural = _("patrol findings")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.school_id}"


class Notice(models.Model):
    """整改通知 — a rectification notice to a school (or a police station for its posts):
    the items, the deadline and who answers. Its life (answer with evidence, accept or
    return, reminders and escalation when overdue) is its hazard's: one engine."""

    class Source(models.TextChoices):
        DAILY = "daily", _("Daily inspection")
        PATROL = "patrol", _("Video patrol")
        VQD = "vqd", _("Video quality diagnosis")

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    # [{"code": item or finding kind, "label": words, "detail": words}]
    items = models.JSONField(_("items"), default=list)
    hazard = models.OneToOneField(
        Hazard,
        verbose_name=_("hazard record"),
        on_delete=models.PROTECT,
        related_name="inspection_notice",
    )
    issued_at = models.DateTimeField(_("issued"), db_index=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("rectification notice")
        verbose_name_plural = _("rectification notices")

    def __str__(self) -> str:
        return self.reference
