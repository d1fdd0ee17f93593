"""Police–school linkage (警校联动): campus police rooms and their duty logs, discipline
education (训诫教育), emergency plans and drills, notices with receipts, safety lectures.

Discipline records hold minors' data and are the strictest records on the platform:
their queryset does not follow the usual scope (a district, a station) but names the
few people the record is for — see ``DisciplineQuerySet.visible_to``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campus_safety.accounts.roles import READ, can
from campus_safety.orgs.models import Organisation, School
from campus_safety.personal_data import EncryptedCharField
from campus_safety.scoping import ScopedQuerySet, ScopePaths, is_police

# --- campus police rooms ---------------------------------------------------------------------


class PoliceRoom(models.Model):
    """校园警务室 — a school's police room: its officers, legal counsellor and hours."""

    school = models.OneToOneField(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="police_room"
    )
    location = models.CharField(_("room"), max_length=120, blank=True)
    officers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("officers"),
        blank=True,
        related_name="police_rooms",
    )
    auxiliary_officers = models.CharField(_("auxiliary officers"), max_length=200, blank=True)
    counsellor_name = models.CharField(
        _("legal counsellor / vice-principal for rule of law"), max_length=64, blank=True
    )
    phone = EncryptedCharField(_("phone"))
    hours = models.CharField(_("opening hours"), max_length=80, blank=True)
    opened_on = models.DateField(_("opened on"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["school__code"]
        verbose_name = _("campus police room")
        verbose_name_plural = _("campus police rooms")

    def __str__(self) -> str:
        return str(self.school)

    @property
    def has_counsellor(self) -> bool:
        return bool(self.counsellor_name)


class DutyLog(models.Model):
    """警务室工作日志 — one visit, talk, patrol or lecture; a problem becomes a hazard."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("Visit")
        PRINCIPAL_TALK = "principal_talk", _("Talk with the principal")
        CAMPUS_PATROL = "campus_patrol", _("Patrol of the campus")
        LECTURE = "lecture", _("Lecture given")
        PROBLEM = "problem", _("Problem found")

    room = models.ForeignKey(
        PoliceRoom, verbose_name=_("police room"), on_delete=models.CASCADE, related_name="logs"
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("officer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("time"), db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    # A problem found is filed as a hazard (hazards/), and may be turned into a lead
    # (intel/: a police tip to verify) — services.duty_problem_to_lead.
    hazard = models.ForeignKey(
        "hazards.Hazard",
        verbose_name=_("hazard"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lead = models.ForeignKey(
        "intel.Lead",
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("room__school")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("duty log entry")
        verbose_name_plural = _("duty log entries")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d}"


# --- discipline education --------------------------------------------------------------------


class DisciplineQuerySet(ScopedQuerySet):
    """训诫教育 records reach only the people they are for (issue #20 item 2): officers of
    the record's police station, the officers of the school's police room and the
    school's designated contact for the record. An education bureau, other teachers,
    other stations, the command centre and the platform's administrators see nothing.
    Sealed records are gone from here; ``unsealed_for`` opens one after a second person
    approved a stated reason."""

    def visible_to(self, user: Any) -> DisciplineQuerySet:
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if not can(user, READ, "discipline") or getattr(user, "role", "") == "system_admin":
            return self.none()
        return self.filter(sealed_at__isnull=True).filter(reader_q(user))

    def unsealed_for(self, user: Any, now: Any) -> DisciplineQuerySet:
        """Sealed records this police user may open now (an approved request of theirs)."""
        if not is_police(user) or getattr(user, "role", "") == "system_admin":
            return self.none()
        return self.filter(
            sealed_at__isnull=False,
            unseal_requests__requested_by=user,
            unseal_requests__approved_at__isnull=False,
            unseal_requests__expires_at__gt=now,
        ).distinct()


def reader_q(user: Any) -> Q:
    """Who a record is for, as a filter (the role check is the caller's)."""
    if getattr(user, "school_id", None):
        return Q(designated_contact=user)
    if is_police(user) and not user.is_superuser:
        q = Q(school__police_room__officers=user)
        org = getattr(user, "organisation", None)
        if org is not None and org.kind == Organisation.Kind.POLICE_STATION:
            q |= Q(station=org)
        return Q(pk__in=DisciplineRecord.objects.filter(q).values("pk"))
    return Q(pk__in=[])


class DisciplineRecord(models.Model):
    """训诫教育 — one intervention with a minor for bad or seriously bad behaviour
    (《预防未成年人犯罪法》 不良行为 / 严重不良行为), the measure taken and its follow-up."""

    class Level(models.TextChoices):
        BAD = "bad", _("Bad behaviour (不良行为)")
        SERIOUS = "serious", _("Seriously bad behaviour (严重不良行为)")

    class Behaviour(models.TextChoices):
        BULLYING = "bullying", _("Bullying")
        VIOLENCE = "violence", _("Fighting or violence")
        TRUANCY = "truancy", _("Truancy or staying out at night")
        WEAPON = "weapon", _("Carrying a controlled knife or weapon")
        EXTORTION = "extortion", _("Extortion or theft")
        GAMBLING = "gambling", _("Gambling, smoking or drinking")
        GANG = "gang", _("Gathering in gangs, provoking trouble")
        OTHER = "other", _("Other")

    class Guardian(models.TextChoices):
        PRESENT = "present", _("Guardian present")
        INFORMED = "informed", _("Guardian informed")
        NOT_REACHED = "not_reached", _("Guardian not reached yet")

    class Measure(models.TextChoices):
        REPRIMAND = "reprimand", _("Reprimand (训诫)")
        PLEDGE = "pledge", _("Written pledge of repentance (责令具结悔过)")
        APOLOGY = "apology", _("Apology (赔礼道歉)")
        COUNSELLING = "counselling", _("Psychological counselling (心理辅导)")
        COMPENSATION = "compensation", _("Compensation for loss")
        GUARDIAN_DUTY = "guardian_duty", _("Guardian told to discipline (责令严加管教)")
        OTHER = "other", _("Other")

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    station = models.ForeignKey(
        Organisation,
        verbose_name=_("police station"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The minor: name encrypted (PIPL Art. 28/51), no ID number kept (minimisation).
    student_name = EncryptedCharField(_("student"), hash_field="student_name_hash")
    student_name_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    class_name = models.CharField(_("class"), max_length=40)
    age = models.PositiveSmallIntegerField(_("age"), validators=[MaxValueValidator(18)])
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    behaviour = models.CharField(_("behaviour"), max_length=16, choices=Behaviour.choices)
    facts = EncryptedCharField(_("facts"), max_plain_length=2000)
    occurred_on = models.DateField(_("occurred on"))
    officers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("officers"), related_name="+"
    )
    guardian = models.CharField(_("guardian"), max_length=16, choices=Guardian.choices)
    measures = models.JSONField(pgettext_lazy("linkage", "measures"), default=list)
    designated_contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("school's designated contact"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), db_index=True)
    follow_up_until = models.DateField(_("follow-up until"), db_index=True)
    sealed_at = models.DateTimeField(_("sealed"), null=True, blank=True, db_index=True)

    objects = DisciplineQuerySet.as_manager()
    # For the S001 check and statistics without names; reads go through visible_to.
    scope_paths = ScopePaths(
        region_code="school__region__code",
        school="school",
        police_station="station",
        police_only=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("discipline education record")
        verbose_name_plural = _("discipline education records")

    def __str__(self) -> str:
        return self.reference

    @property
    def is_sealed(self) -> bool:
        return self.sealed_at is not None

    def measure_labels(self) -> list[str]:
        return [str(self.Measure(m).label) for m in self.measures if m in self.Measure.values]


class FollowUp(models.Model):
    """回访 — a planned visit after the measure, and what came of it."""

    record = models.ForeignKey(
        DisciplineRecord, on_delete=models.CASCADE, related_name="follow_ups"
    )
    due_on = models.DateField(_("due on"))
    done_at = models.DateTimeField(pgettext_lazy("linkage", "done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=500, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")

    def __str__(self) -> str:
        return f"{self.record} {self.due_on}"


class UnsealRequest(models.Model):
    """Opening a sealed record: a police user states why, a second person approves; the
    record then opens to the requester for a limited time."""

    record = models.ForeignKey(
        DisciplineRecord, on_delete=models.CASCADE, related_name="unseal_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300)
    requested_at = models.DateTimeField(_("requested"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    expires_at = models.DateTimeField(_("open until"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("unseal request")
        verbose_name_plural = _("unseal requests")

    def __str__(self) -> str:
        return f"{self.record} {self.requested_at:%Y-%m-%d}"


# --- emergency plans and drills --------------------------------------------------------------


class EmergencyKind(models.TextChoices):
    FIRE = "fire", _("Fire")
    EARTHQUAKE = "earthquake", _("Earthquake")
    INTRUSION = "intrusion", _("Intrusion or violent attack")
    CROWDING = "crowding", _("Crowding or stampede")
    FOOD_POISONING = "food_poisoning", _("Food poisoning")
    WEATHER = "weather", _("Extreme weather")
    PUBLIC_HEALTH = "public_health", _("Public-health emergency")


class EmergencyPlan(models.Model):
    """应急预案 — a school's plan for one kind of emergency, versioned, approved by the
    education bureau."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned for revision")

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EmergencyKind.choices)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    summary = models.TextField(pgettext_lazy("linkage", "summary"), max_length=4000, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.SUBMITTED
    )
    submitted_at = models.DateTimeField(_("submitted"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(_("note"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["school__code", "kind", "-version"]
        verbose_name = _("emergency plan")
        verbose_name_plural = _("emergency plans")
        constraints = [
            models.UniqueConstraint(
                fields=["school", "kind", "version"], name="linkage_plan_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class Drill(models.Model):
    """应急演练 — a drill held at a school; an evacuation drill counts for compliance
    (教基一厅〔2014〕2号, docs/linkage.md). A joint drill with the police has an alarm test
    window, so its alarms are test cases, never real ones."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("scenario"), max_length=20, choices=EmergencyKind.choices)
    is_evacuation = models.BooleanField(_("evacuation drill"), default=True)
    is_joint = models.BooleanField(_("joint drill with the police"), default=False)
    held_at = models.DateTimeField(_("held"), db_index=True)
    evacuation_seconds = models.PositiveIntegerField(
        _("time to evacuate (s)"), null=True, blank=True, validators=[MaxValueValidator(3600)]
    )
    participants = models.PositiveIntegerField(
        _("participants"), default=0, validators=[MaxValueValidator(20000)]
    )
    problems = models.TextField(_("problems found"), max_length=2000, blank=True)
    hazard = models.ForeignKey(
        "hazards.Hazard", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    test_window = models.ForeignKey(
        "alarms.TestWindow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    photo = models.FileField(_("photo"), upload_to="linkage/drills/", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["-held_at", "-id"]
        verbose_name = _("drill")
        verbose_name_plural = _("drills")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.held_at:%Y-%m-%d}"


# --- notices ---------------------------------------------------------------------------------


class NoticeQuerySet(ScopedQuerySet):
    """A notice is seen by its sender's unit and by everyone whose scope covers one of
    the schools it went to."""

    def visible_to(self, user: Any) -> NoticeQuerySet:
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        schools = School.objects.visible_to(user).values("pk")
        q = Q(pk__in=NoticeReceipt.objects.filter(school__in=schools).values("notice_id"))
        q |= Q(created_by=user)
        if user.organisation_id:
            q |= Q(sender_organisation_id=user.organisation_id)
            # passed to the user's unit to forward (the chain: bureau → district → schools)
            q |= Q(
                pk__in=NoticeRelay.objects.filter(organisation_id=user.organisation_id).values(
                    "notice_id"
                )
            )
        return self.filter(q)


class Notice(models.Model):
    """信息通报 — a notice from the police or the education bureau to a set of schools,
    with a deadline for confirming; a safety warning also shows on the schools' banner."""

    class Kind(models.TextChoices):
        NOTICE = "notice", pgettext_lazy("linkage", "Notice")
        WARNING = "warning", _("Safety warning")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.NOTICE)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), max_length=8000)
    attachment = models.FileField(_("attachment"), upload_to="linkage/notices/", blank=True)
    target = models.JSONField(_("target"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sender_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("sent"), db_index=True)
    confirm_by = models.DateTimeField(_("confirm by"), null=True, blank=True)
    # active_warnings() asks "banner_until > now" on every school page's banner request.
    banner_until = models.DateTimeField(
        _("on the banner until"), null=True, blank=True, db_index=True
    )
    # A unit's forwarded copy points at the notice it was passed (the chain's parent).
    parent = models.ForeignKey(
        "self",
        verbose_name=_("forwarded from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="forwards",
    )

    objects = NoticeQuerySet.as_manager()
    scope_paths = ScopePaths.through("receipts__school")  # visible_to above refines it

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = pgettext_lazy("linkage", "notice")
        verbose_name_plural = pgettext_lazy("linkage", "notices")

    def __str__(self) -> str:
        return self.title


class NoticeReceipt(models.Model):
    """One school's copy of a notice: read, confirmed, reminded."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="receipts")
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="+"
    )
    read_at = models.DateTimeField(pgettext_lazy("linkage", "read"), null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True, db_index=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reply = models.CharField(_("reply"), max_length=500, blank=True)
    reminders = models.PositiveSmallIntegerField(_("reminders"), default=0)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["school__code"]
        verbose_name = _("notice receipt")
        verbose_name_plural = _("notice receipts")
        constraints = [
            models.UniqueConstraint(fields=["notice", "school"], name="linkage_receipt_unique")
        ]

    def __str__(self) -> str:
        return f"{self.notice} → {self.school}"


class NoticeRelayQuerySet(ScopedQuerySet):
    """A school sees no relays (its copy is its receipt); the others by the unit's
    region or station, as usual."""

    def visible_to(self, user: Any) -> NoticeRelayQuerySet:
        if getattr(user, "school_id", None):
            return self.none()
        return super().visible_to(user)


class NoticeRelay(models.Model):
    """转发 — a notice passed to a unit (a district's education bureau, a police
    sub-bureau or station) to forward to its schools: when the unit read it, and the
    notice it forwarded (whose receipts roll up into the sender's view)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="relays")
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+"
    )
    read_at = models.DateTimeField(pgettext_lazy("linkage", "read"), null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    forwarded = models.ForeignKey(
        Notice,
        verbose_name=_("forwarded as"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    forwarded_at = models.DateTimeField(_("forwarded"), null=True, blank=True)
    forwarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A unit that has not forwarded is reminded with the schools (by hand, or by the
    # sweep before the deadline), as a school that has not confirmed.
    reminders = models.PositiveSmallIntegerField(_("reminders"), default=0)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)

    objects = NoticeRelayQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="organisation__region__code",
        school="notice__receipts__school",  # (never used: schools see none, above)
        police_station="organisation",
    )

    class Meta:
        ordering = ["organisation__region__code", "organisation__name"]
        verbose_name = _("notice relay")
        verbose_name_plural = _("notice relays")
        constraints = [
            models.UniqueConstraint(fields=["notice", "organisation"], name="linkage_relay_unique")
        ]

    def __str__(self) -> str:
        return f"{self.notice} → {self.organisation}"


# --- safety lectures -------------------------------------------------------------------------


class Lecture(models.Model):
    """法治/安全教育课 — a safety lecture by a police officer or legal counsellor."""

    class Topic(models.TextChoices):
        ANTI_BULLYING = "anti_bullying", _("Anti-bullying")
        ANTI_FRAUD = "anti_fraud", _("Anti-fraud")
        TRAFFIC = "traffic", _("Traffic safety")
        DROWNING = "drowning", _("Drowning prevention")
        RULE_OF_LAW = "rule_of_law", _("Rule of law")
        OTHER = "other", _("Other")

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="+"
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("officer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    lecturer = models.CharField(_("lecturer"), max_length=64)
    held_on = models.DateField(_("date"), db_index=True)
    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices)
    audience = models.PositiveIntegerField(_("audience"), validators=[MaxValueValidator(20000)])

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("safety lecture")
        verbose_name_plural = _("safety lectures")

    def __str__(self) -> str:
        return f"{self.get_topic_display()} {self.held_on}"
