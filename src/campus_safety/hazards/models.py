"""Hazards inside campuses (安全隐患) and public-order trouble spots around them (治安乱点),
their rectification workflow, photos and inspection campaigns (专项检查).

Every hazard belongs to one school: an internal hazard by key area and facility
(GB/T 29315-2022, RULES.md §1), a trouble spot by its location and distance to the
school gate. Deadlines and escalation times are database columns, so the overdue sweep
survives any restart; each step of the workflow leaves a ``HazardEvent`` row with its
time and person (the timeline).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campus_safety.devices.models import KeyArea
from campus_safety.orgs.coordinates import latitude_field, longitude_field
from campus_safety.orgs.models import Organisation, School
from campus_safety.personal_data import EncryptedCharField, mask_phone
from campus_safety.scoping import ScopedQuerySet, ScopePaths


class Hazard(models.Model):
    """安全隐患 / 治安乱点 — found, assigned, rectified, verified by the finding side, closed."""

    class Kind(models.TextChoices):
        INTERNAL = "internal", _("Inside the campus")
        SURROUNDING = "surrounding", _("Around the campus (trouble spot)")

    class SpotKind(models.TextChoices):
        """治安乱点 kinds around a school."""

        ILLEGAL_STALLS = "illegal_stalls", _("Illegal stalls")
        INTERNET_CAFE = "internet_cafe", _("Internet café or game hall")
        ENTERTAINMENT = "entertainment", _("Bar, KTV or other entertainment venue")
        TRAFFIC_CHAOS = "traffic_chaos", _("Traffic chaos")
        IDLE_YOUTHS = "idle_youths", _("Gathering of idle youths")
        BULLYING_SPOT = "bullying_spot", _("Bullying or extortion spot")
        CONSTRUCTION = "construction", _("Construction site or unsafe building")
        OTHER = "other", _("Other")

    class Category(models.TextChoices):
        PHYSICAL = "physical", _("Physical protection")
        ELECTRONIC = "electronic", _("Electronic protection")
        HUMAN = "human", _("Guards and duty")
        MANAGEMENT = "management", _("Management rules and records")
        FIRE = "fire", _("Fire safety")
        BUILDING = "building", _("Buildings and facilities")
        FOOD = "food", _("Food safety")
        TRAFFIC = "traffic", _("Traffic safety")
        PUBLIC_ORDER = "public_order", _("Public order")
        OTHER = "other", _("Other")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")
        CRITICAL = "critical", _("Critical")

    class Source(models.TextChoices):
        """How the hazard was found."""

        SELF_CHECK = "self_check", _("School self-check")
        POLICE_INSPECTION = "police_inspection", _("Police inspection")
        EDUCATION_INSPECTION = "education_inspection", _("Education inspection")
        ONLINE_INSPECTION = "online_inspection", _("Online inspection")
        CITIZEN_REPORT = "citizen_report", _("Citizen report")

    class Status(models.TextChoices):
        REPORTED = "reported", pgettext_lazy("hazard status", "Reported")
        ASSIGNED = "assigned", _("Assigned")
        RECTIFYING = "rectifying", _("Rectifying")
        SUBMITTED = "submitted", _("Submitted for verification")
        VERIFIED = "verified", _("Verified")
        CLOSED = "closed", _("Closed")
        DISMISSED = "dismissed", _("Dismissed")

    class Side(models.TextChoices):
        """Which side of the platform found it, and so verifies the fix."""

        SCHOOL = "school", _("School")
        POLICE = "police", _("Police")
        EDUCATION = "education", _("Education bureau")
        # A school's own finding is checked by those who supervise it, either side.
        SUPERVISORS = "supervisors", _("Police or education bureau")

    class Responsible(models.TextChoices):
        SCHOOL = "school", _("The school")
        POLICE_STATION = "police_station", _("A police station")
        DEPARTMENT = "department", _("Another department")

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, db_index=True)
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="hazards"
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), max_length=4000, blank=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    severity = models.CharField(
        _("severity"), max_length=12, choices=Severity.choices, default=Severity.MEDIUM
    )
    # Inside the campus: GB/T 29315-2022 key area and the facility concerned.
    key_area = models.CharField(_("key area"), max_length=24, choices=KeyArea.choices, blank=True)
    facility = models.CharField(_("facility"), max_length=80, blank=True)
    # Around the campus: where, how far from the gate, what kind of trouble.
    spot_kind = models.CharField(
        _("trouble-spot kind"), max_length=16, choices=SpotKind.choices, blank=True
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    distance_m = models.PositiveIntegerField(
        _("distance to the school gate (m)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(5000)],
    )
    longitude = longitude_field()
    latitude = latitude_field()
    # Who found it and how.
    source = models.CharField(_("found by"), max_length=24, choices=Source.choices)
    verifier_side = models.CharField(_("verified by"), max_length=12, choices=Side.choices)
    reported_at = models.DateTimeField(_("reported"), db_index=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    citizen_name = models.CharField(_("citizen's name"), max_length=64, blank=True)
    citizen_phone = EncryptedCharField(_("citizen's phone"))
    # Workflow.
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.REPORTED, db_index=True
    )
    responsible_kind = models.CharField(
        _("responsible party"), max_length=16, choices=Responsible.choices, blank=True
    )
    responsible_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("responsible police station"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hazards",
    )
    responsible_department = models.CharField(
        _("responsible department"), max_length=120, blank=True
    )
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("assigned by"),
    )
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True, db_index=True)
    started_at = models.DateTimeField(_("rectification started"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("verified by"),
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
    return_count = models.PositiveSmallIntegerField(_("times returned"), default=0)
    # Timers: a reminder before the deadline, then escalation levels after it.
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    next_escalation_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("next escalation at")
    )
    escalated_to = models.ForeignKey(
        Organisation,
        verbose_name=_("escalated to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    checklist_answer = models.OneToOneField(
        "ChecklistAnswer",
        verbose_name=_("checklist item"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hazard",
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("hazard")
        verbose_name_plural = _("hazards")
        indexes = [
            models.Index(fields=["school", "status"]),
            models.Index(fields=["kind", "status", "deadline"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="internal") | ~models.Q(key_area=""),
                name="hazard_internal_has_key_area",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="surrounding") | ~models.Q(spot_kind=""),
                name="hazard_surrounding_has_spot_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    OPEN_STATUSES = (
        Status.REPORTED,
        Status.ASSIGNED,
        Status.RECTIFYING,
        Status.SUBMITTED,
    )
    RECTIFIED_STATUSES = (Status.VERIFIED, Status.CLOSED)
    # Only the responsible party's own steps can be late; a submitted fix waits on the
    # verifier, not on them.
    RUNNING_STATUSES = (Status.ASSIGNED, Status.RECTIFYING)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue_at(self, now) -> bool:
        return (
            self.status in self.RUNNING_STATUSES
            and self.deadline is not None
            and self.deadline < now
        )

    @property
    def citizen_phone_masked(self) -> str:
        return mask_phone(self.citizen_phone) if self.citizen_phone else ""

    @property
    def place(self) -> str:
        """Key area and facility inside, or the trouble spot's location outside."""
        if self.kind == self.Kind.INTERNAL:
            area = self.get_key_area_display()
            return f"{area} — {self.facility}" if self.facility else str(area)
        return self.location

    @property
    def responsible_label(self) -> str:
        if self.responsible_kind == self.Responsible.SCHOOL:
            return self.school.name
        if self.responsible_kind == self.Responsible.POLICE_STATION:
            return str(self.responsible_organisation or "")
        return self.responsible_department


class HazardEvent(models.Model):
    """One step on a hazard's timeline: who did what, when, with which note."""

    class Step(models.TextChoices):
        REPORTED = "reported", pgettext_lazy("hazard step", "Reported")
        ASSIGNED = "assigned", _("Assigned")
        REASSIGNED = "reassigned", _("Reassigned")
        STARTED = "started", _("Rectification started")
        PROGRESS = "progress", _("Progress noted")
        SUBMITTED = "submitted", _("Fix submitted")
        VERIFIED = "verified", _("Fix verified")
        RETURNED = "returned", _("Returned for more work")
        CLOSED = "closed", _("Closed")
        DISMISSED = "dismissed", _("Dismissed")
        REMINDED = "reminded", _("Deadline reminder")
        ESCALATED = "escalated", _("Escalated (overdue)")

    hazard = models.ForeignKey(
        Hazard, on_delete=models.CASCADE, related_name="events", verbose_name=_("hazard")
    )
    at = models.DateTimeField(_("time"), db_index=True)
    step = models.CharField(_("step"), max_length=12, choices=Step.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("done by"),
    )
    note = models.TextField(_("note"), max_length=2000, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("who was told: the supervisor on escalation"),
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("hazard__school")

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("hazard event")
        verbose_name_plural = _("hazard events")

    def __str__(self) -> str:
        return f"{self.hazard_id} {self.get_step_display()} {localtime(self.at):%Y-%m-%d %H:%M}"


def photo_path(instance: HazardPhoto, filename: str) -> str:
    """Random names under the hazard's folder: nothing from the uploader reaches the disk."""
    return f"hazards/{instance.hazard_id}/{instance.token}.{instance.extension}"


class HazardPhoto(models.Model):
    """A photo of the hazard as found, or evidence of the fix. Served only through the
    scoped ``hazards:photo`` view, never from a public media URL."""

    class Stage(models.TextChoices):
        FOUND = "found", _("As found")
        EVIDENCE = "evidence", _("Rectification evidence")

    hazard = models.ForeignKey(
        Hazard, on_delete=models.CASCADE, related_name="photos", verbose_name=_("hazard")
    )
    event = models.ForeignKey(
        HazardEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="photos",
        verbose_name=_("event"),
    )
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    token = models.CharField(
        max_length=32, unique=True, editable=False, verbose_name=_("file token")
    )
    extension = models.CharField(max_length=8, editable=False, verbose_name=_("file extension"))
    image = models.FileField(_("photo"), upload_to=photo_path, max_length=200)
    content_type = models.CharField(max_length=32, verbose_name=_("media type"))
    size = models.PositiveIntegerField(_("size (bytes)"))
    width = models.PositiveIntegerField(verbose_name=_("width (px)"))
    height = models.PositiveIntegerField(verbose_name=_("height (px)"))
    location_stripped = models.BooleanField(_("location metadata removed"), default=False)
    uploaded_at = models.DateTimeField(_("uploaded"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("hazard__school")

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("hazard photo")
        verbose_name_plural = _("hazard photos")

    def __str__(self) -> str:
        return f"{self.hazard_id}/{self.token}.{self.extension}"


class CampaignQuerySet(ScopedQuerySet):
    """A campaign spans many schools: visible when any of its checklists is."""

    def visible_to(self, user):  # type: ignore[override]
        checklists = Checklist.objects.visible_to(user).values("campaign_id")
        return self.filter(pk__in=checklists)


class Campaign(models.Model):
    """专项检查 — an inspection campaign (e.g. "spring term start check"): one checklist
    template sent to a set of schools, answered by a date."""

    name = models.CharField(_("name"), max_length=120)
    template = models.CharField(_("checklist template"), max_length=32)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    source = models.CharField(
        _("hazards found count as"),
        max_length=24,
        choices=Hazard.Source.choices,
        default=Hazard.Source.SELF_CHECK,
    )
    starts_on = models.DateField(_("starts"))
    due_on = models.DateField(_("answers due"))
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = CampaignQuerySet.as_manager()
    scope_paths = ScopePaths.through("checklists__school")

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("inspection campaign")
        verbose_name_plural = _("inspection campaigns")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due_on__gte=models.F("starts_on")),
                name="campaign_due_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Checklist(models.Model):
    """One school's checklist in a campaign."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To answer")
        SUBMITTED = "submitted", _("Answered")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="checklists", verbose_name=_("campaign")
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="checklists", verbose_name=_("school")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    submitted_at = models.DateTimeField(_("answered"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["campaign_id", "school__code", "id"]
        verbose_name = _("checklist")
        verbose_name_plural = _("checklists")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "school"], name="checklist_once_per_school")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.school_id}"


class ChecklistAnswer(models.Model):
    """One item of a checklist as answered; "no" opens a hazard linked here."""

    class Answer(models.TextChoices):
        YES = "yes", _("Yes")
        NO = "no", _("No")
        NOT_APPLICABLE = "na", _("Not applicable")

    checklist = models.ForeignKey(
        Checklist, on_delete=models.CASCADE, related_name="answers", verbose_name=_("checklist")
    )
    item_code = models.CharField(_("item"), max_length=16)
    key_area = models.CharField(_("key area"), max_length=24, choices=KeyArea.choices)
    facility = models.CharField(_("facility"), max_length=80)
    answer = models.CharField(_("answer"), max_length=4, choices=Answer.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("checklist__school")

    class Meta:
        ordering = ["checklist_id", "id"]
        verbose_name = _("checklist answer")
        verbose_name_plural = _("checklist answers")
        constraints = [
            models.UniqueConstraint(
                fields=["checklist", "item_code"], name="checklist_answer_once_per_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_code}: {self.answer}"
