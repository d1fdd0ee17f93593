"""Guard tours (巡更), 护学岗 gate posts and police grid patrols (网格化巡逻).

RULES.md §1 (key areas patrolled ≥5 times a day), §3 (护学岗 at every gate in every
arrival and dismissal peak, the 4×100% 设置率) and §4 (a checkpoint not reached in its
window raises an alarm, GB 50348).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campus_safety.devices.models import Device, KeyArea
from campus_safety.orgs.coordinates import latitude_field, longitude_field
from campus_safety.orgs.models import Organisation, School
from campus_safety.scoping import EVERYONE_SIGNED_IN, ScopedQuerySet, ScopePaths
from campus_safety.workforce.models import Guard

SCHOOL_SCOPE = ScopePaths.through("school")


class PersonType(models.TextChoices):
    """Who may stand at a 护学岗 post (RULES.md §3)."""

    POLICE = "police", _("Police officer")
    TRAFFIC_POLICE = "traffic_police", _("Traffic police")
    AUXILIARY_POLICE = "auxiliary_police", _("Auxiliary police")
    GUARD = "guard", _("Guard")
    TEACHER = "teacher", _("Teacher")
    VOLUNTEER = "volunteer", _("Volunteer")


class Peak(models.TextChoices):
    ARRIVAL = "arrival", _("Arrival peak")
    DISMISSAL = "dismissal", _("Dismissal peak")


# --- calendar ---


class Term(models.Model):
    """学期 — the span a roster is generated for (city-wide)."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))

    objects = ScopedQuerySet.as_manager()
    scope_paths = EVERYONE_SIGNED_IN  # a directory: the same calendar for everyone

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="term_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """节假日 — a day without school (no posts, no school-day tour plans); a weekend day
    marked ``is_school_day`` is a make-up working day (调休)."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=64)
    is_school_day = models.BooleanField(_("make-up school day"), default=False)

    objects = ScopedQuerySet.as_manager()
    scope_paths = EVERYONE_SIGNED_IN

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SchoolTimetable(models.Model):
    """作息时间 — when classes start and end, from which the 护学岗 windows follow.
    A school without one uses the city defaults (settings.POST_*)."""

    school = models.OneToOneField(
        School, on_delete=models.CASCADE, related_name="timetable", verbose_name=_("school")
    )
    class_starts_at = models.TimeField(_("classes start"))
    dismissal_at = models.TimeField(_("dismissal"))
    arrival_lead_minutes = models.PositiveSmallIntegerField(
        _("on post before arrival (min)"), validators=[MaxValueValidator(120)]
    )
    arrival_tail_minutes = models.PositiveSmallIntegerField(
        _("on post after classes start (min)"), validators=[MaxValueValidator(120)]
    )
    dismissal_lead_minutes = models.PositiveSmallIntegerField(
        _("on post before dismissal (min)"), validators=[MaxValueValidator(120)]
    )
    dismissal_tail_minutes = models.PositiveSmallIntegerField(
        _("on post after dismissal (min)"), validators=[MaxValueValidator(120)]
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        verbose_name = _("school timetable")
        verbose_name_plural = _("school timetables")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dismissal_at__gt=models.F("class_starts_at")),
                name="timetable_dismissal_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school}: {self.class_starts_at:%H:%M}–{self.dismissal_at:%H:%M}"


# --- guard tour ---


class Checkpoint(models.Model):
    """巡更点 — a place on a guard tour: a checkpoint device or a QR/NFC tag code."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="checkpoints"
    )
    name = models.CharField(_("name"), max_length=64)
    code = models.CharField(
        _("tag code"), max_length=64, help_text=_("printed in the QR code / written on the tag")
    )
    device = models.ForeignKey(
        Device,
        verbose_name=_("checkpoint device"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="checkpoints",
        limit_choices_to={"kind": Device.Kind.PATROL_CHECKPOINT},
    )
    key_area = models.CharField(_("key area"), max_length=24, choices=KeyArea.choices, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    is_active = models.BooleanField(pgettext_lazy("record", "active"), default=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["school", "code"]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        constraints = [
            models.UniqueConstraint(fields=["school", "code"], name="checkpoint_code_per_school")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if self.device_id and self.device.school_id != self.school_id:
            raise ValidationError({"device": _("The device belongs to another school.")})


class TourRoute(models.Model):
    """巡更路线 — checkpoints in the order a guard walks them."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="tour_routes"
    )
    name = models.CharField(_("name"), max_length=64)
    checkpoints = models.ManyToManyField(
        Checkpoint, through="RouteStop", related_name="routes", verbose_name=_("checkpoints")
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["school", "name"]
        verbose_name = _("tour route")
        verbose_name_plural = _("tour routes")

    def __str__(self) -> str:
        return self.name


class RouteStop(models.Model):
    """One checkpoint of a route: its place in the order and by when (minutes after the
    round starts) it must be reached; empty = by the end of the round."""

    route = models.ForeignKey(
        TourRoute, on_delete=models.CASCADE, related_name="stops", verbose_name=_("route")
    )
    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.CASCADE, related_name="stops", verbose_name=_("checkpoint")
    )
    position = models.PositiveSmallIntegerField(_("order"))
    due_minutes = models.PositiveSmallIntegerField(
        _("due after start (min)"), null=True, blank=True, validators=[MaxValueValidator(720)]
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("route__school")

    class Meta:
        ordering = ["route", "position"]
        verbose_name = _("route stop")
        verbose_name_plural = _("route stops")
        constraints = [
            models.UniqueConstraint(fields=["route", "position"], name="route_stop_position"),
            models.UniqueConstraint(fields=["route", "checkpoint"], name="route_stop_once"),
        ]

    def __str__(self) -> str:
        return f"{self.route_id}#{self.position}"


class TourPlan(models.Model):
    """巡更计划 — a route walked at set times (rounds) by named guards."""

    class Days(models.TextChoices):
        EVERY_DAY = "every_day", _("Every day")
        SCHOOL_DAYS = "school_days", _("School days")

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="tour_plans"
    )
    route = models.ForeignKey(
        TourRoute, verbose_name=_("route"), on_delete=models.PROTECT, related_name="plans"
    )
    name = models.CharField(_("name"), max_length=64)
    round_starts = models.JSONField(
        _("round start times"), default=list, help_text=_('local times, e.g. ["08:00", "22:30"]')
    )
    duration_minutes = models.PositiveSmallIntegerField(
        _("round length (min)"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(720)],
    )
    grace_minutes = models.PositiveSmallIntegerField(
        _("late tolerance (min)"), default=10, validators=[MaxValueValidator(120)]
    )
    days = models.CharField(_("days"), max_length=16, choices=Days.choices, default=Days.EVERY_DAY)
    guards = models.ManyToManyField(Guard, verbose_name=_("guards"), blank=True)
    is_active = models.BooleanField(pgettext_lazy("record", "active"), default=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["school", "name"]
        verbose_name = _("tour plan")
        verbose_name_plural = _("tour plans")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from campus_safety.patrols.rounds import parse_round_starts

        try:
            parse_round_starts(self.round_starts)
        except ValueError as exc:
            raise ValidationError({"round_starts": str(exc)}) from exc
        if self.route_id and self.route.school_id != self.school_id:
            raise ValidationError({"route": _("The route belongs to another school.")})


class TourScan(models.Model):
    """One checkpoint scan, from a device (via the ingestion service) or a guard's phone;
    stored once per (source, event_id) so a retried delivery counts once."""

    class Source(models.TextChoices):
        DEVICE = "device", _("Device")
        PHONE = "phone", _("Phone")

    school = models.ForeignKey(
        School, on_delete=models.CASCADE, related_name="tour_scans", verbose_name=_("school")
    )
    checkpoint = models.ForeignKey(
        Checkpoint,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scans",
        verbose_name=_("checkpoint"),
    )
    code = models.CharField(_("checkpoint code"), max_length=64)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    source_key = models.CharField(
        max_length=32, verbose_name=_("deduplication key")
    )  # "d<device pk>" or "u<user pk>"
    event_id = models.CharField(_("event ID"), max_length=64)
    device = models.ForeignKey(
        Device,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tour_scans",
        verbose_name=_("device"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("user"),
    )
    guard = models.ForeignKey(
        Guard,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tour_scans",
        verbose_name=_("guard"),
    )
    card_id = models.CharField(_("card"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("scanned at"))
    received_at = models.DateTimeField(_("received"))

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("tour scan")
        verbose_name_plural = _("tour scans")
        constraints = [
            models.UniqueConstraint(fields=["source_key", "event_id"], name="tour_scan_once")
        ]
        indexes = [models.Index(fields=["school", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.code} @ {localtime(self.occurred_at):%Y-%m-%d %H:%M}"


class TourRound(models.Model):
    """One round of a plan on one day and how it went (rounds.py evaluates it)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("In progress")
        COMPLETE = "complete", _("Complete")
        LATE = "late", _("Late")
        WRONG_ORDER = "wrong_order", _("Wrong order")
        MISSED = "missed", _("Missed checkpoint")

    plan = models.ForeignKey(
        TourPlan, on_delete=models.CASCADE, related_name="rounds", verbose_name=_("tour plan")
    )
    school = models.ForeignKey(
        School, on_delete=models.CASCADE, related_name="tour_rounds", verbose_name=_("school")
    )
    day = models.DateField(_("day"), db_index=True)
    starts_at = models.DateTimeField(_("starts"))
    due_at = models.DateTimeField(_("due"))
    closes_at = models.DateTimeField(_("closes"), db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    stops_total = models.PositiveSmallIntegerField(_("checkpoints"), default=0)
    stops_on_time = models.PositiveSmallIntegerField(_("on time"), default=0)
    stops_late = models.PositiveSmallIntegerField(_("late"), default=0)
    stops_missed = models.PositiveSmallIntegerField(_("missed"), default=0)
    duplicate_scans = models.PositiveSmallIntegerField(_("duplicate scans"), default=0)
    is_out_of_order = models.BooleanField(_("out of order"), default=False)
    # [{"checkpoint": pk, "due_at": iso, "scanned_at": iso|None, "state": "..."}]
    detail = models.JSONField(_("checkpoints"), default=list)
    evaluated_at = models.DateTimeField(_("evaluated"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["-starts_at", "school"]
        verbose_name = _("tour round")
        verbose_name_plural = _("tour rounds")
        constraints = [
            models.UniqueConstraint(fields=["plan", "starts_at"], name="tour_round_once")
        ]
        indexes = [models.Index(fields=["school", "day"])]

    def __str__(self) -> str:
        return f"{self.plan} {localtime(self.starts_at):%Y-%m-%d %H:%M}"


class PatrolAlarm(models.Model):
    """巡更报警 — a checkpoint not reached in its window (GB 50348). It goes to the
    school; unacknowledged after settings.PATROL_ALARM_ESCALATE_MINUTES it is escalated
    to the school's police station. Closed only by a person."""

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("patrol alarm state", "Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")

    school = models.ForeignKey(
        School, on_delete=models.CASCADE, related_name="patrol_alarms", verbose_name=_("school")
    )
    round = models.ForeignKey(
        TourRound, on_delete=models.CASCADE, related_name="alarms", verbose_name=_("tour round")
    )
    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.CASCADE, related_name="alarms", verbose_name=_("checkpoint")
    )
    raised_at = models.DateTimeField(_("raised"), db_index=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.OPEN, db_index=True
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    escalated_at = models.DateTimeField(_("escalated to police"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    note = models.CharField(_("note"), max_length=255, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("patrol alarm")
        verbose_name_plural = _("patrol alarms")
        constraints = [
            models.UniqueConstraint(fields=["round", "checkpoint"], name="patrol_alarm_once")
        ]

    def __str__(self) -> str:
        return f"{self.checkpoint} {localtime(self.raised_at):%Y-%m-%d %H:%M}"


# --- 护学岗 ---


def _today() -> dt.date:
    from campus_safety import clock

    return clock.now().astimezone(ZoneInfo(settings.TIME_ZONE)).date()


class PeakPost(models.Model):
    """护学岗 — a post at a school gate, staffed in the arrival and dismissal peaks."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="peak_posts"
    )
    name = models.CharField(_("name"), max_length=64, help_text=_("e.g. the gate's name"))
    longitude = longitude_field(optional=False)
    latitude = latitude_field(optional=False)
    radius_m = models.PositiveIntegerField(
        _("geofence radius (m)"),
        default=100,
        validators=[MinValueValidator(10), MaxValueValidator(2000)],
    )
    # {"police": 1, "guard": 2, "volunteer": 1}
    required = models.JSONField(_("required head-count by person type"), default=dict)
    in_service_since = models.DateField(
        _("in service since"),
        default=_today,
        help_text=_("windows before this day do not count towards the coverage rate"),
    )
    is_active = models.BooleanField(pgettext_lazy("record", "active"), default=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["school", "name"]
        verbose_name = _("gate post")
        verbose_name_plural = _("gate posts")

    def __str__(self) -> str:
        return f"{self.school} · {self.name}"

    @property
    def required_total(self) -> int:
        return sum(self.required.values())

    def clean(self) -> None:
        from campus_safety.patrols.post_rules import clean_required

        try:
            self.required = clean_required(self.required)
        except ValueError as exc:
            raise ValidationError({"required": str(exc)}) from exc


class PostMember(models.Model):
    """Someone who may be rostered at a post, as a person type (the roster's pool)."""

    post = models.ForeignKey(
        PeakPost, on_delete=models.CASCADE, related_name="members", verbose_name=_("peak post")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="post_memberships",
        verbose_name=_("user"),
    )
    person_type = models.CharField(_("person type"), max_length=24, choices=PersonType.choices)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("post__school")

    class Meta:
        ordering = ["post", "person_type", "user"]
        verbose_name = _("post member")
        verbose_name_plural = _("post members")
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="post_member_once")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.post_id}"


class PostAssignment(models.Model):
    """One person rostered at a post for one peak of one day (排班). Editable; a swap
    keeps who was rostered first."""

    post = models.ForeignKey(
        PeakPost, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("peak post")
    )
    school = models.ForeignKey(
        School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school")
    )
    day = models.DateField(_("day"))
    peak = models.CharField(_("peak"), max_length=16, choices=Peak.choices)
    starts_at = models.DateTimeField(_("window opens"))
    ends_at = models.DateTimeField(_("window closes"))
    person_type = models.CharField(_("person type"), max_length=24, choices=PersonType.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="post_assignments",
    )
    swapped_from = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("swapped from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=255, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["day", "starts_at", "post", "person_type"]
        verbose_name = _("roster entry")
        verbose_name_plural = _("roster entries")
        constraints = [
            models.UniqueConstraint(
                fields=["post", "day", "peak", "user"], name="post_assignment_once"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="post_assignment_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["day", "post"]), models.Index(fields=["user", "day"])]

    def __str__(self) -> str:
        return f"{self.post} {self.day} {self.peak} {self.user}"


class PostCheckIn(models.Model):
    """A person on post: checked in (and later out) from a phone inside the geofence
    and the window, or accepted as an exception with a note."""

    assignment = models.OneToOneField(
        PostAssignment,
        on_delete=models.CASCADE,
        related_name="check_in",
        verbose_name=_("post assignment"),
    )
    post = models.ForeignKey(
        PeakPost, on_delete=models.CASCADE, related_name="check_ins", verbose_name=_("peak post")
    )
    school = models.ForeignKey(
        School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    person_type = models.CharField(_("person type"), max_length=24, choices=PersonType.choices)
    checked_in_at = models.DateTimeField(_("checked in"))
    in_longitude = models.FloatField(verbose_name=_("check-in longitude"))
    in_latitude = models.FloatField(verbose_name=_("check-in latitude"))
    in_accuracy_m = models.FloatField(
        null=True, blank=True, verbose_name=_("check-in accuracy (m)")
    )
    in_distance_m = models.FloatField(_("distance at check-in (m)"))
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    out_longitude = models.FloatField(null=True, blank=True, verbose_name=_("check-out longitude"))
    out_latitude = models.FloatField(null=True, blank=True, verbose_name=_("check-out latitude"))
    out_distance_m = models.FloatField(
        null=True, blank=True, verbose_name=_("check-out distance (m)")
    )
    is_exception = models.BooleanField(_("exception"), default=False)
    note = models.CharField(_("note"), max_length=255, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["-checked_in_at"]
        verbose_name = _("post check-in")
        verbose_name_plural = _("post check-ins")

    def __str__(self) -> str:
        return f"{self.user} @ {self.post_id} {localtime(self.checked_in_at):%Y-%m-%d %H:%M}"


# --- police grid patrols ---

STATION_SCOPE = ScopePaths(
    region_code="organisation__region__code", school="schools", police_station="organisation"
)


class GridRoute(models.Model):
    """网格化巡逻路线 — a police patrol route that passes urban schools."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("police unit"),
        on_delete=models.PROTECT,
        related_name="grid_routes",
    )
    name = models.CharField(_("name"), max_length=64)
    schools = models.ManyToManyField(School, verbose_name=_("schools covered"), blank=True)
    path = models.JSONField(_("path"), default=list, help_text=_("[[longitude, latitude], …]"))

    objects = ScopedQuerySet.as_manager()
    scope_paths = STATION_SCOPE

    class Meta:
        ordering = ["organisation", "name"]
        verbose_name = _("grid patrol route")
        verbose_name_plural = _("grid patrol routes")

    def __str__(self) -> str:
        return self.name


class PatrolLog(models.Model):
    """巡逻记录 — one patrol along a route, with its GPS track."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("police unit"), on_delete=models.PROTECT, related_name="+"
    )
    route = models.ForeignKey(
        GridRoute,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="logs",
        verbose_name=_("route"),
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="patrol_logs",
        verbose_name=_("police officer"),
    )
    started_at = models.DateTimeField(_("started"), db_index=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # [[longitude, latitude, "iso time"], …]
    track = models.JSONField(_("GPS track"), default=list)
    distance_m = models.FloatField(_("distance (m)"), default=0)
    # The phone page's one-off id: a resent or double-tapped patrol is stored once.
    event_id = models.CharField(_("event ID"), max_length=64, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="organisation__region__code",
        school="route__schools",
        police_station="organisation",
        police_only=True,
    )

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("patrol log")
        verbose_name_plural = _("patrol logs")
        constraints = [
            models.UniqueConstraint(
                fields=["officer", "event_id"],
                condition=~models.Q(event_id=""),
                name="patrol_log_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.officer} {localtime(self.started_at):%Y-%m-%d %H:%M}"


class FieldStop(models.Model):
    """盘查 — a stop of a suspicious person near a school. Police eyes only."""

    class Outcome(models.TextChoices):
        RELEASED = "released", _("Released after checks")
        WARNED = "warned", _("Warned and moved on")
        TAKEN_IN = "taken_in", _("Taken to the station")
        HANDED_OVER = "handed_over", _("Handed over to another unit")

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("police unit"), on_delete=models.PROTECT, related_name="+"
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="field_stops",
        verbose_name=_("police officer"),
    )
    at = models.DateTimeField(_("time"), db_index=True)
    place = models.CharField(_("place"), max_length=255)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    nearest_school = models.ForeignKey(
        School,
        verbose_name=_("nearest school"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    distance_m = models.FloatField(_("distance to school (m)"), null=True, blank=True)
    subject = models.CharField(_("person stopped"), max_length=255)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    note = models.TextField(_("note"), blank=True)
    # The phone page's one-off id: a resent or double-tapped stop is stored once.
    event_id = models.CharField(_("event ID"), max_length=64, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="organisation__region__code",
        school="nearest_school",
        police_station="organisation",
        police_only=True,
    )

    class Meta:
        ordering = ["-at"]
        verbose_name = _("field stop")
        verbose_name_plural = _("field stops")
        constraints = [
            models.UniqueConstraint(
                fields=["officer", "event_id"],
                condition=~models.Q(event_id=""),
                name="field_stop_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.place} {localtime(self.at):%Y-%m-%d %H:%M}"
