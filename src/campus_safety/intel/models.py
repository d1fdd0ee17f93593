"""The intel app's records: school-related incidents with their persons, leads, the
early-warning alerts the space-time scan raises, groups of linked persons, special
operations.

Persons' data (names, ID numbers, phones) is encrypted (personal_data.py) and police
eyes only: incidents, persons, leads and groups declare ``police_only`` scope paths, so
schools and the education bureau never read them. Alerts carry no person: the education
bureau sees those of its schools."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campus_safety.alarms.models import AlarmCase
from campus_safety.orgs.coordinates import latitude_field, longitude_field
from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.personal_data import EncryptedCharField, mask_id_number, mask_phone
from campus_safety.scoping import ScopedQuerySet, ScopePaths

POLICE_ONLY = ScopePaths(
    region_code="region__code",
    school="school",
    police_station="police_station",
    police_only=True,
)


def _user_fk(verbose: str) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )


class Placed(models.Model):
    """Where a record sits for scoping: the nearest school, its region and station."""

    school = models.ForeignKey(
        School,
        verbose_name=_("nearest school"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    police_station = models.ForeignKey(
        Organisation,
        verbose_name=_("police station"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


class IncidentKind(models.TextChoices):
    INTRUSION = "intrusion", _("Intrusion into a campus")
    ASSAULT = "assault", _("Assault on students or staff")
    THEFT = "theft", _("Theft")
    ROBBERY = "robbery", _("Robbery or extortion of students")
    FRAUD = "fraud", _("Fraud targeting students")
    HARASSMENT = "harassment", _("Harassment")
    BULLYING = "bullying", _("Bullying involving outsiders")
    TRAFFIC = "traffic", _("Traffic danger at the gate")
    MENTAL = "mental", _("Disturbance by a person with mental illness")
    OTHER = "other", _("Other")


class Incident(Placed):
    """涉校警情/案件 — one school-related incident, linked to the schools near it."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("incident status", "Open")
        INVESTIGATING = "investigating", _("Under investigation")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", pgettext_lazy("incident status", "Closed")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual entry")
        DISPATCH = "dispatch", _("110 dispatch import")
        API = "api", _("REST API")
        ALARM = "alarm", _("Platform alarm")
        DEMO = "demo", _("Demo")

    reference = models.CharField(_("reference"), max_length=24, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=IncidentKind.choices, db_index=True)
    occurred_at = models.DateTimeField(_("occurred"), db_index=True)
    longitude = longitude_field(optional=False)
    latitude = latitude_field(optional=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    summary = models.TextField(_("summary"), max_length=4000, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    outcome = models.CharField(_("outcome"), max_length=400, blank=True)
    arrests = models.PositiveSmallIntegerField(_("arrests"), default=0)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    source_ref = models.CharField(_("source reference"), max_length=64, blank=True)
    schools = models.ManyToManyField(
        School, verbose_name=_("schools nearby"), related_name="intel_incidents", blank=True
    )
    # An alarm case closed as real (source "alarm"): the link back to it. A police-only
    # case (a watch-list hit) makes a police-only incident: left out of everything the
    # education bureau sees (alerts, the key-school list).
    alarm_case = models.OneToOneField(
        AlarmCase,
        verbose_name=_("alarm case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    police_only = models.BooleanField(_("police only"), default=False)
    created_at = models.DateTimeField(_("recorded"))
    created_by = _user_fk(_("recorded by"))

    objects = ScopedQuerySet.as_manager()
    scope_paths = POLICE_ONLY

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_ref"],
                condition=~models.Q(source_ref=""),
                name="intel_incident_source_ref_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.get_kind_display()}"


class CoordinateSystem(models.TextChoices):
    WGS84 = "wgs84", _("WGS-84 (GPS)")
    GCJ02 = "gcj02", _("GCJ-02 (AMap, Tencent)")
    BD09 = "bd09", _("BD-09 (Baidu)")


class DispatchSource(models.Model):
    """A 110 centre whose exports are imported: its column mapping and its categories'
    kinds, saved so the next export imports without mapping again."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    # {"call_number": "接警单编号", "received_at": "报警时间", …}: field → the export's header
    column_map = models.JSONField(_("column mapping"), default=dict)
    # {"盗窃案": "theft", …}: the export's category → incident kind (else by its words)
    kind_map = models.JSONField(_("category mapping"), default=dict, blank=True)
    # the datum of the export's coordinates: converted to WGS-84 on import (datums.py)
    coordinate_system = models.CharField(
        _("coordinate system"),
        max_length=8,
        choices=CoordinateSystem.choices,
        default=CoordinateSystem.WGS84,
    )
    updated_at = models.DateTimeField(_("updated"))
    updated_by = _user_fk(_("updated by"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("110 dispatch source")
        verbose_name_plural = _("110 dispatch sources")

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """Someone involved in an incident; ``person_key`` links the same person across
    incidents (keyed hash of the ID number, or of name and phone) without revealing them."""

    class Role(models.TextChoices):
        SUSPECT = "suspect", _("Suspect")
        VICTIM = "victim", _("Victim")
        WITNESS = "witness", _("Witness")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="persons", verbose_name=_("incident")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    name = EncryptedCharField(_("name"))
    id_number = EncryptedCharField(_("ID number"))
    phone = EncryptedCharField(_("phone"))
    is_minor = models.BooleanField(_("minor"), default=False)
    person_key = models.CharField(_("person key"), max_length=64, db_index=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="incident__region__code",
        school="incident__school",
        police_station="incident__police_station",
        police_only=True,
    )

    class Meta:
        ordering = ["incident", "id"]
        verbose_name = _("involved person")
        verbose_name_plural = _("involved persons")

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.name_masked}"

    @property
    def name_masked(self) -> str:
        return self.name[:1] + "*" * (len(self.name) - 1) if self.name else ""

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class Lead(Placed):
    """线索 — a tip: triaged, verified, then turned into an incident, merged into one,
    or dismissed with a reason; every step timed and attributed (``LeadEvent``)."""

    class Source(models.TextChoices):
        SCHOOL = "school", _("School")
        GUARD = "guard", _("Guard")
        CITIZEN = "citizen", _("Citizen")
        POLICE = "police", _("Police")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        TRIAGED = "triaged", _("Triaged")
        VERIFYING = "verifying", _("Being verified")
        CONVERTED = "converted", _("Turned into an incident")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Dismissed")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        URGENT = "urgent", _("Urgent")

    OPEN_STATUSES = (Status.NEW, Status.TRIAGED, Status.VERIFYING)

    reference = models.CharField(_("reference"), max_length=24, unique=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    kind = models.CharField(
        _("kind"), max_length=16, choices=IncidentKind.choices, default=IncidentKind.OTHER
    )
    summary = models.TextField(_("what happened"), max_length=2000)
    address = models.CharField(_("where"), max_length=200, blank=True)
    longitude = longitude_field()
    latitude = latitude_field()
    photo = models.ImageField(_("photo"), upload_to="intel/leads/%Y/%m/", blank=True)
    reporter_name = EncryptedCharField(_("reporter's name"))
    reporter_phone = EncryptedCharField(_("reporter's phone"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW, db_index=True
    )
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    received_at = models.DateTimeField(_("received"), db_index=True)
    reported_by = _user_fk(_("reported by"))
    triaged_at = models.DateTimeField(_("triaged"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verification started"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    dismissed_reason = models.CharField(_("reason for dismissal"), max_length=400, blank=True)
    incident = models.ForeignKey(
        Incident,
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = POLICE_ONLY

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class LeadEvent(models.Model):
    """One step on a lead: who, when, what."""

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="events", verbose_name=_("lead")
    )
    at = models.DateTimeField(_("time"))
    step = models.CharField(_("step"), max_length=10, choices=Lead.Status.choices)
    by = _user_fk(_("done by"))
    note = models.CharField(_("note"), max_length=400, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="lead__region__code",
        school="lead__school",
        police_station="lead__police_station",
        police_only=True,
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("lead step")
        verbose_name_plural = _("lead steps")

    def __str__(self) -> str:
        return f"{self.lead_id} {self.step}"


class Alert(Placed):
    """预警 — a space-time cluster whose recurrence interval passed the threshold, sent
    to the station and the education bureau covering its centre; acknowledged, assessed
    and closed. No persons' data."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("alert status", "Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ASSESSED = "assessed", _("Assessed")
        CLOSED = "closed", pgettext_lazy("alert status", "Closed")

    OPEN_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED, Status.ASSESSED)

    reference = models.CharField(_("reference"), max_length=24, unique=True)
    signature = models.CharField(max_length=80, unique=True, editable=False)
    kind = models.CharField(
        _("kind"),
        max_length=16,
        choices=IncidentKind.choices,
        blank=True,
        help_text=_("empty: all kinds together"),
    )
    scan_date = models.DateField(_("scan date"), db_index=True)
    raised_at = models.DateTimeField(_("raised"), db_index=True)
    longitude = longitude_field(optional=False)
    latitude = latitude_field(optional=False)
    radius_m = models.PositiveIntegerField(_("radius (m)"))
    window_start = models.DateField(_("from"))
    window_end = models.DateField(_("to"))
    observed = models.PositiveIntegerField(_("incidents"))
    expected = models.FloatField(_("expected"))
    statistic = models.FloatField(_("test statistic"))
    p_value = models.FloatField(_("p-value"))
    recurrence_days = models.FloatField(_("recurrence interval (days)"))
    schools = models.ManyToManyField(
        School, verbose_name=_("schools inside"), related_name="intel_alerts", blank=True
    )
    incidents = models.ManyToManyField(
        Incident, verbose_name=_("incidents"), related_name="alerts", blank=True
    )
    status = models.CharField(
        _("status"), max_length=14, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = _user_fk(_("acknowledged by"))
    assessment = models.TextField(_("assessment"), max_length=2000, blank=True)
    assessed_at = models.DateTimeField(_("assessed"), null=True, blank=True)
    assessed_by = _user_fk(_("assessed by"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = _user_fk(_("closed by"))

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="region__code", school="school", police_station="police_station"
    )

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("early-warning alert")
        verbose_name_plural = _("early-warning alerts")

    def __str__(self) -> str:
        return self.reference

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else 0.0

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Group(Placed):
    """团伙 — persons linked by being involved in the same incidents: a connected group
    of at least 3 persons over at least 2 incidents, drawn as a graph (masked labels)."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("group status", "Open")
        FOLLOWED = "followed", _("Being followed up")
        CLOSED = "closed", pgettext_lazy("group status", "Closed")

    signature = models.CharField(max_length=64, unique=True, editable=False)
    detected_at = models.DateTimeField(_("detected"), db_index=True)
    persons = models.PositiveIntegerField(_("persons"))
    incidents = models.ManyToManyField(
        Incident, verbose_name=_("incidents"), related_name="groups", blank=True
    )
    graph = models.JSONField(_("graph"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = POLICE_ONLY

    class Meta:
        ordering = ["-detected_at", "-id"]
        verbose_name = _("group")
        verbose_name_plural = _("groups")

    def __str__(self) -> str:
        return f"#{self.pk}"


class Operation(Placed):
    """专项打击整治 — a campaign over an area and a period against some kinds of incident."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        ACTIVE = "active", _("Active")
        FINISHED = "finished", _("Finished")

    name = models.CharField(_("name"), max_length=120)
    schools = models.ManyToManyField(
        School, verbose_name=_("schools"), related_name="intel_operations", blank=True
    )
    regions = models.ManyToManyField(
        Region, verbose_name=_("districts"), related_name="intel_operations", blank=True
    )
    polygon = models.JSONField(_("drawn area"), default=list, blank=True)
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"))
    target_kinds = models.JSONField(_("target kinds"), default=list, blank=True)
    units = models.ManyToManyField(
        Organisation,
        verbose_name=_("responsible units"),
        related_name="intel_operations",
        blank=True,
    )
    alert = models.ForeignKey(
        Alert,
        verbose_name=_("started from alert"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="operations",
    )
    notes = models.TextField(_("notes"), max_length=4000, blank=True)
    created_at = models.DateTimeField(_("created"))
    created_by = _user_fk(_("created by"))

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="region__code", school="school", police_station="police_station"
    )

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("special operation")
        verbose_name_plural = _("special operations")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/intel/operations/{self.pk}/"

    def status_on(self, day) -> str:
        if day < self.starts_on:
            return self.Status.PLANNED
        if day > self.ends_on:
            return self.Status.FINISHED
        return self.Status.ACTIVE


class OperationEntry(models.Model):
    """What a special operation did, entered on its page: a lead it took up (an existing
    lead, linked), arrests (how many persons, the incident if recorded) or a patrol
    (officers and hours). Counts only: no person's data."""

    class Kind(models.TextChoices):
        LEAD = "lead", _("Lead")
        ARREST = "arrest", _("Arrest")
        PATROL = "patrol", _("Patrol")

    operation = models.ForeignKey(
        Operation,
        on_delete=models.CASCADE,
        related_name="entries",
        verbose_name=_("special operation"),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, db_index=True)
    day = models.DateField(_("date"))
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="operation_entries",
    )
    incident = models.ForeignKey(
        Incident,
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="operation_entries",
    )
    persons = models.PositiveIntegerField(_("persons"), default=0)  # arrested / officers
    hours = models.FloatField(_("hours"), default=0)  # a patrol's duration
    place = models.CharField(_("place or route"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=400, blank=True)
    created_at = models.DateTimeField(_("recorded"))
    created_by = _user_fk(_("recorded by"))

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="operation__region__code",
        school="operation__school",
        police_station="operation__police_station",
    )

    class Meta:
        ordering = ["-day", "-id"]
        verbose_name = _("operation record")
        verbose_name_plural = _("operation records")
        constraints = [
            models.UniqueConstraint(
                fields=["operation", "lead"],
                condition=models.Q(lead__isnull=False),
                name="intel_operation_lead_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.operation_id} {self.kind} {self.day}"


class ScanRun(models.Model):
    """One day's early-warning scan has run (the daily job runs it once per day)."""

    day = models.DateField(_("day"), unique=True)
    finished_at = models.DateTimeField(_("finished"))
    summary = models.CharField(_("summary"), max_length=200, blank=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("scan run")
        verbose_name_plural = _("scan runs")

    def __str__(self) -> str:
        return str(self.day)
