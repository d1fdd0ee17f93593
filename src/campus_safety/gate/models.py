"""The gate's records: visits and invitations, vehicles and their passages, students
with their authorised pick-up persons and the release log, and the police watch-list.

Names, document numbers, phones and photos of visitors, students and pick-up persons
are encrypted at rest (personal_data.py); look-ups go through keyed hashes, so a repeat
visitor is recognised without the number ever being stored in clear. The watch-list
and its hits are police eyes only (``police_only``): no school role sees any of it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from campus_safety.orgs.models import Organisation, School
from campus_safety.personal_data import EncryptedCharField, mask
from campus_safety.scoping import ScopedQuerySet, ScopePaths


def mask_name(value: str) -> str:
    """张三丰 → 张**: a name in a list says whose it might be, not whose it is."""
    value = value or ""
    return value[:1] + "*" * (len(value) - 1) if value else ""


class DocumentKind(models.TextChoices):
    ID_CARD = "id_card", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAO = "hk_macao", _("Mainland travel permit for Hong Kong and Macao residents")
    TAIWAN = "taiwan", _("Mainland travel permit for Taiwan residents")
    OTHER = "other", _("Other document")


class VisitInvitation(models.Model):
    """A host's pre-registration: a one-time QR code valid in a window; the guard scans
    it and only confirms. Only the token's hash is stored."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="+"
    )
    host = models.CharField(_("host"), max_length=64)
    name = EncryptedCharField(_("visitor name"), max_plain_length=64)
    document_kind = models.CharField(
        _("document kind"), max_length=16, choices=DocumentKind.choices, default="id_card"
    )
    document_number = EncryptedCharField(
        _("document number"), hash_field="document_hash", max_plain_length=32
    )
    document_hash = models.CharField(max_length=64, blank=True, editable=False)
    phone = EncryptedCharField(_("phone"), max_plain_length=20)
    company = models.CharField(_("company"), max_length=128, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200)
    party_size = models.PositiveSmallIntegerField(_("party size"), default=1)
    expected_minutes = models.PositiveIntegerField(_("expected duration (minutes)"), default=60)
    vehicle_plate = models.CharField(_("vehicle plate"), max_length=12, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["-valid_from", "-id"]
        verbose_name = _("visit invitation")
        verbose_name_plural = _("visit invitations")

    def __str__(self) -> str:
        return f"{mask_name(self.name)} → {self.host}"


class Visit(models.Model):
    """外来人员登记 — one visitor (with a party) from check-in to check-out."""

    class State(models.TextChoices):
        HELD = "held", _("Waiting for verification")
        ON_CAMPUS = "on_campus", _("On campus")
        LEFT = "left", _("Left")
        TURNED_AWAY = "turned_away", _("Turned away")

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.ON_CAMPUS, db_index=True
    )
    document_kind = models.CharField(
        _("document kind"), max_length=16, choices=DocumentKind.choices, default="id_card"
    )
    document_number = EncryptedCharField(
        _("document number"), hash_field="document_hash", max_plain_length=32
    )
    document_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    name = EncryptedCharField(_("name"), hash_field="name_hash", max_plain_length=64)
    name_hash = models.CharField(max_length=64, blank=True, editable=False)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = EncryptedCharField(_("phone"), max_plain_length=20)
    company = models.CharField(_("company"), max_length=128, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200)
    host = models.CharField(_("host"), max_length=64)
    party_size = models.PositiveSmallIntegerField(_("party size"), default=1)
    expected_minutes = models.PositiveIntegerField(_("expected duration (minutes)"), default=60)
    vehicle_plate = models.CharField(_("vehicle plate"), max_length=12, blank=True)
    photo = models.TextField(_("photo"), blank=True, default="", editable=False)  # encrypted
    is_contractor = models.BooleanField(_("contractor"), default=False)
    invitation = models.OneToOneField(
        VisitInvitation,
        verbose_name=_("invitation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visit",
    )
    checked_in_at = models.DateTimeField(_("checked in"), db_index=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(_("due out"))
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    checked_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overstay_alerted_at = models.DateTimeField(_("overstay alerted"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["-checked_in_at", "-id"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [models.Index(fields=["school", "state", "checked_in_at"])]

    def __str__(self) -> str:
        return f"{mask_name(self.name)} ({self.checked_in_at:%Y-%m-%d %H:%M})"

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def masked_document(self) -> str:
        return mask(self.document_number, keep_start=4, keep_end=2)

    @property
    def masked_phone(self) -> str:
        return mask(self.phone, keep_start=3, keep_end=4)


class Vehicle(models.Model):
    """A vehicle on the school's own list (staff, suppliers, school buses)."""

    class Kind(models.TextChoices):
        STAFF = "staff", _("Staff car")
        SUPPLIER = "supplier", _("Supplier")
        SCHOOL_BUS = "school_bus", _("School bus")
        OTHER = "other", _("Other")

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="+"
    )
    plate = models.CharField(_("plate"), max_length=12)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.STAFF)
    owner = models.CharField(_("owner"), max_length=64, blank=True)
    driver = models.CharField(_("driver"), max_length=64, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["plate"]
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        constraints = [
            models.UniqueConstraint(fields=["school", "plate"], name="gate_vehicle_once")
        ]

    def __str__(self) -> str:
        return self.plate


class VehiclePassage(models.Model):
    """One vehicle through the gate, typed by the guard or read by an ANPR camera."""

    class Direction(models.TextChoices):
        IN = "in", _("Entry")
        OUT = "out", _("Exit")

    class Source(models.TextChoices):
        GUARD = "guard", _("Guard")
        CAMERA = "camera", _("ANPR camera")

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    plate = models.CharField(_("plate"), max_length=12, db_index=True)
    direction = models.CharField(_("direction"), max_length=4, choices=Direction.choices)
    at = models.DateTimeField(_("at"), db_index=True)
    source = models.CharField(
        _("source"), max_length=8, choices=Source.choices, default=Source.GUARD
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.SET_NULL
    )
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), null=True, blank=True, on_delete=models.SET_NULL
    )
    event_id = models.CharField(max_length=64, blank=True, editable=False)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("vehicle passage")
        verbose_name_plural = _("vehicle passages")

    def __str__(self) -> str:
        return f"{self.plate} {self.direction}"


class Student(models.Model):
    """A kindergarten or primary pupil whose release at the gate is checked (接送)."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="+"
    )
    student_number = models.CharField(_("student number"), max_length=32)
    name = EncryptedCharField(_("name"), max_plain_length=64)
    class_name = models.CharField(_("class"), max_length=32, db_index=True)
    class_teacher = models.CharField(_("class teacher"), max_length=64, blank=True)
    teacher_phone = EncryptedCharField(_("teacher's phone"), max_plain_length=20)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["class_name", "student_number"]
        verbose_name = _("student")
        verbose_name_plural = _("students")
        constraints = [
            models.UniqueConstraint(
                fields=["school", "student_number"], name="gate_student_number_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.class_name} {mask_name(self.name)}"

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


class PickupPerson(models.Model):
    """An authorised pick-up person: a guardian or a delegate, approved by the school."""

    class Relation(models.TextChoices):
        FATHER = "father", _("Father")
        MOTHER = "mother", _("Mother")
        GRANDPARENT = "grandparent", _("Grandparent")
        RELATIVE = "relative", _("Other relative")
        DELEGATE = "delegate", _("Delegate")

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="pickup_persons"
    )
    name = EncryptedCharField(_("name"), hash_field="name_hash", max_plain_length=64)
    name_hash = models.CharField(max_length=64, blank=True, editable=False)
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    phone = EncryptedCharField(_("phone"), max_plain_length=20)
    document_number = EncryptedCharField(
        _("document number"), hash_field="document_hash", max_plain_length=32
    )
    document_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    photo = models.TextField(_("photo"), blank=True, default="", editable=False)  # encrypted
    card_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    is_guardian = models.BooleanField(_("guardian"), default=True)
    is_approved = models.BooleanField(_("approved by the school"), default=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("student__school")

    class Meta:
        ordering = ["student", "-is_guardian", "id"]
        verbose_name = _("pick-up person")
        verbose_name_plural = _("pick-up persons")

    def __str__(self) -> str:
        return f"{mask_name(self.name)} ({self.get_relation_display()})"

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def masked_phone(self) -> str:
        return mask(self.phone, keep_start=3, keep_end=4)


class Pickup(models.Model):
    """One release at the gate: who took which child when, or why they were refused."""

    class Outcome(models.TextChoices):
        RELEASED = "released", _("Released")
        REFUSED = "refused", _("Refused")
        HELD = "held", _("Waiting for verification")

    class Reason(models.TextChoices):
        NONE = "", _("None")
        NOT_AUTHORISED = "not_authorised", _("Not an authorised pick-up person")
        NOT_APPROVED = "not_approved", _("Pick-up person not yet approved by the school")
        NEEDS_CHECK = "needs_check", _("Needs verification")

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="pickups"
    )
    person = models.ForeignKey(
        PickupPerson,
        verbose_name=_("pick-up person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pickups",
    )
    person_name = EncryptedCharField(_("person's name"), max_plain_length=64)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reason = models.CharField(
        _("reason"), max_length=16, choices=Reason.choices, blank=True, default=""
    )
    at = models.DateTimeField(_("at"), db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("pick-up")
        verbose_name_plural = _("pick-ups")
        indexes = [models.Index(fields=["school", "at"])]

    def __str__(self) -> str:
        return f"{self.student} {self.get_outcome_display()}"


class PickupCode(models.Model):
    """A one-time pick-up code (接送码) a guardian shows at the gate: valid for one
    release of one child on one day, at that child's school. Only its keyed hash is
    stored; the code is shown once to whoever issued it."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="+"
    )
    person = models.ForeignKey(
        PickupPerson,
        verbose_name=_("pick-up person"),
        on_delete=models.CASCADE,
        related_name="codes",
    )
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    valid_on = models.DateField(_("valid on"))
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    pickup = models.OneToOneField(
        "Pickup",
        verbose_name=_("pick-up"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="code",
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("student__school")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("pick-up code")
        verbose_name_plural = _("pick-up codes")

    def __str__(self) -> str:
        return f"{self.student} {self.valid_on}"


class GuardianLink(models.Model):
    """A signed, expiring link a guardian receives to confirm who may collect their
    child, and to ask for a delegate (who waits for the school's approval). The link
    carries this row's id and nonce, signed; a newer link for the same guardian
    replaces the older ones."""

    person = models.ForeignKey(
        PickupPerson,
        verbose_name=_("guardian"),
        on_delete=models.CASCADE,
        related_name="links",
    )
    nonce = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(_("expires"))
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("person__student__school")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("guardian link")
        verbose_name_plural = _("guardian links")

    def __str__(self) -> str:
        return f"{self.person} {self.created_at:%Y-%m-%d}"


class PickupNotification(models.Model):
    """A message the platform sends about a refused pick-up (class teacher, guardians):
    the record the school sees, with its SMS's state (已发送/待发送/发送失败)."""

    pickup = models.ForeignKey(
        Pickup, verbose_name=_("pick-up"), on_delete=models.CASCADE, related_name="notifications"
    )
    recipient = models.CharField(_("recipient"), max_length=64)
    phone = EncryptedCharField(_("phone"), max_plain_length=20)
    message = models.CharField(_("message"), max_length=255)
    at = models.DateTimeField(_("at"))
    # The SMS that carries it (messaging/); none when the recipient has no mobile number,
    # or once the message outlived its retention.
    sms = models.OneToOneField(
        "messaging.OutboundMessage",
        verbose_name=_("SMS"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pickup_notification",
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("pickup__school")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("pick-up notification")
        verbose_name_plural = _("pick-up notifications")

    def __str__(self) -> str:
        return f"{self.recipient}: {self.message}"


class WatchlistEntry(models.Model):
    """A person of concern the police put on the watch-list, for a period, under a
    station. Police eyes only; every read is audited."""

    class Reason(models.TextChoices):
        PROTECTION_ORDER = "protection_order", _("Court protection order")
        SCHOOL_OFFENCE = "school_offence", _("School-related offence")
        RISK = "risk", _("Risk of causing trouble (肇事肇祸)")
        OTHER = "other", _("Other police concern")

    station = models.ForeignKey(
        Organisation,
        verbose_name=_("responsible police station"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    name = EncryptedCharField(_("name"), hash_field="name_hash", max_plain_length=64)
    name_hash = models.CharField(max_length=64, blank=True, editable=False)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    document_kind = models.CharField(
        _("document kind"), max_length=16, choices=DocumentKind.choices, default="id_card"
    )
    document_number = EncryptedCharField(
        _("document number"), hash_field="document_hash", max_plain_length=32
    )
    document_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    plate = models.CharField(_("vehicle plate"), max_length=12, blank=True, db_index=True)
    reason = models.CharField(_("reason category"), max_length=20, choices=Reason.choices)
    note = EncryptedCharField(_("note"), max_plain_length=500)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"), db_index=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="station__region__code",
        school="station__schools",
        police_station="station",
        police_only=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("watch-list entry")
        verbose_name_plural = _("watch-list entries")
        indexes = [models.Index(fields=["name_hash", "birth_date"])]

    def __str__(self) -> str:
        return f"{mask_name(self.name)} ({self.get_reason_display()})"

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


class WatchlistHit(models.Model):
    """A watch-listed person (or plate) came to a school's gate. Police eyes only: the
    school's guard saw a neutral "please wait" and nothing more."""

    class Strength(models.TextChoices):
        EXACT = "exact", _("Document number")
        WEAK = "weak", _("Name and birth date")
        PLATE = "plate", _("Vehicle plate")

    class Source(models.TextChoices):
        VISIT = "visit", _("Visitor check-in")
        PICKUP = "pickup", _("Pick-up")
        VEHICLE = "vehicle", _("Vehicle")

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+"
    )
    entry = models.ForeignKey(
        WatchlistEntry, verbose_name=_("watch-list entry"), on_delete=models.CASCADE
    )
    strength = models.CharField(_("match"), max_length=8, choices=Strength.choices)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), null=True, blank=True, on_delete=models.SET_NULL
    )
    pickup = models.ForeignKey(
        Pickup, verbose_name=_("pick-up"), null=True, blank=True, on_delete=models.SET_NULL
    )
    alarm_case_id = models.BigIntegerField(_("alarm case"), null=True, blank=True)
    at = models.DateTimeField(_("at"), db_index=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="school__region__code",
        school="school",
        police_station="school__police_station",
        police_only=True,
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("watch-list hit")
        verbose_name_plural = _("watch-list hits")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_strength_display()}"
