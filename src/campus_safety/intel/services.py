"""The intel app's writers: incidents and their persons, leads and their steps, alerts'
steps, operations. Each owns its transaction, audits, and publishes after commit."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campus_safety import bus, clock
from campus_safety.accounts.roles import READ, REVEAL, can
from campus_safety.audit import services as audit
from campus_safety.intel.geo import SchoolPoints
from campus_safety.intel.models import (
    Alert,
    Incident,
    IncidentKind,
    Lead,
    LeadEvent,
    Operation,
    OperationEntry,
    Person,
)
from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.personal_data import keyed_hash, normalise
from campus_safety.scoping import covers_region, is_police


def link_radius_km() -> float:
    return float(getattr(settings, "INTEL_LINK_RADIUS_KM", 1.0))


def _reference(prefix: str, when: dt.datetime) -> str:
    return f"{prefix}{when:%Y%m%d}-{secrets.token_hex(3).upper()}"


def person_key(name: str, id_number: str, phone: str) -> str:
    """The same person across incidents: their ID number, else name and phone."""
    if normalise(id_number):
        return keyed_hash("id:" + id_number)
    if normalise(name) and normalise(phone):
        return keyed_hash(f"np:{name}|{phone}")
    return ""


def check_place(user: Any, latitude: float, longitude: float, points: SchoolPoints) -> None:
    """Refuse a place outside the user's area: an incident is filed under the school
    nearest to it, and an officer files only under the schools they cover (else the
    record would vanish from their own lists into another station's)."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValidationError({"latitude": _("Coordinates out of range.")})
    if not is_police(user):
        raise ValidationError(_("Only the police record incidents."))
    _inside, nearest = points.near(latitude, longitude, link_radius_km())
    if nearest is None or not School.objects.visible_to(user).filter(pk=nearest).exists():
        raise ValidationError({"latitude": _("This place is outside your area.")})


def record_incident(
    *,
    kind: str,
    occurred_at: dt.datetime,
    latitude: float,
    longitude: float,
    source: str,
    address: str = "",
    summary: str = "",
    source_ref: str = "",
    persons: Iterable[dict[str, Any]] = (),
    user: Any = None,
    points: SchoolPoints | None = None,
    audit_it: bool = True,
    alarm_case: Any = None,
    police_only: bool = False,
    outcome: str = "",
) -> Incident:
    """Store one incident linked to the schools within the link radius, with its persons."""
    if kind not in IncidentKind.values:
        raise ValidationError({"kind": _("Unknown incident kind.")})
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValidationError({"latitude": _("Coordinates out of range.")})
    points = points or SchoolPoints.load()
    inside, nearest = points.near(latitude, longitude, link_radius_km())
    with transaction.atomic():
        incident = Incident(
            reference=_reference("SJ", occurred_at),
            kind=kind,
            occurred_at=occurred_at,
            latitude=latitude,
            longitude=longitude,
            address=address[:200],
            summary=summary[:4000],
            source=source,
            source_ref=source_ref[:64],
            alarm_case=alarm_case,
            police_only=police_only,
            outcome=outcome[:400],
            created_at=clock.now(),
            created_by=user if getattr(user, "is_authenticated", False) else None,
            **points.placing(inside[0] if inside else nearest),
        )
        incident.save()
        if inside:
            incident.schools.set(inside)
        for person in persons:
            add_person(incident, **person)
        if audit_it:
            audit.record("intel.incident.create", incident, user=user)
    return incident


EDITABLE_FIELDS = ("kind", "status", "outcome", "latitude", "longitude", "address", "summary")


def update_incident(incident: Incident, *, user: Any, **values: Any) -> list[str]:
    """Edit an incident's kind, status, outcome, place, address or summary (police, in
    scope). A moved place is checked like a new one (near a school the officer covers)
    and re-links the schools nearby; the audit entry names the changed fields with their
    old and new values (never persons' data). Returns the changed fields."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown field: %(f)s") % {"f": ", ".join(sorted(unknown))})
    if "kind" in values and values["kind"] not in IncidentKind.values:
        raise ValidationError({"kind": _("Unknown incident kind.")})
    if "status" in values and values["status"] not in Incident.Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        changed = {
            k: (getattr(incident, k), v) for k, v in values.items() if getattr(incident, k) != v
        }
        if not changed:
            return []
        moved = "latitude" in changed or "longitude" in changed
        for key, (_old, new) in changed.items():
            setattr(incident, key, new)
        if moved:
            points = SchoolPoints.load()
            check_place(user, incident.latitude, incident.longitude, points)
            inside, nearest = points.near(incident.latitude, incident.longitude, link_radius_km())
            for key, value in points.placing(inside[0] if inside else nearest).items():
                setattr(incident, key, value)
        incident.full_clean(exclude=["reference", "created_by", "alarm_case", "schools"])
        incident.save()
        if moved:
            incident.schools.set(inside)
        audit.record(
            "intel.incident.update",
            incident,
            user=user,
            detail={k: {"from": str(a)[:200], "to": str(b)[:200]} for k, (a, b) in changed.items()},
        )
    return sorted(changed)


def add_person(
    incident: Incident,
    *,
    role: str,
    name: str = "",
    id_number: str = "",
    phone: str = "",
    is_minor: bool = False,
) -> Person:
    if role not in Person.Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    return Person.objects.create(
        incident=incident,
        role=role,
        name=name[:64],
        id_number=id_number[:32],
        phone=phone[:32],
        is_minor=is_minor,
        person_key=person_key(name, id_number, phone),
    )


# --- Leads -------------------------------------------------------------------------

LEAD_FLOW = {
    "triage": ((Lead.Status.NEW,), Lead.Status.TRIAGED),
    "verify": ((Lead.Status.TRIAGED,), Lead.Status.VERIFYING),
    "convert": ((Lead.Status.TRIAGED, Lead.Status.VERIFYING), Lead.Status.CONVERTED),
    "merge": ((Lead.Status.NEW, Lead.Status.TRIAGED, Lead.Status.VERIFYING), Lead.Status.MERGED),
    "dismiss": (
        (Lead.Status.NEW, Lead.Status.TRIAGED, Lead.Status.VERIFYING),
        Lead.Status.DISMISSED,
    ),
}


def submit_lead(
    *,
    source: str,
    summary: str,
    kind: str = IncidentKind.OTHER,
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    photo: Any = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    user: Any = None,
    received_at: dt.datetime | None = None,
) -> Lead:
    """A tip arrives (from the citizen form, a school, a guard or police)."""
    if not summary.strip():
        raise ValidationError({"summary": _("Say what happened.")})
    now = received_at or clock.now()
    placing = {"school_id": None, "region_id": None, "police_station_id": None}
    if latitude is not None and longitude is not None:
        points = SchoolPoints.load()
        _inside, nearest = points.near(latitude, longitude, link_radius_km())
        placing = points.placing(nearest)
    elif getattr(user, "school_id", None):
        school = user.school
        placing = {
            "school_id": school.pk,
            "region_id": school.region_id,
            "police_station_id": school.police_station_id,
        }
    with transaction.atomic():
        lead = Lead(
            reference=_reference("XS", now),
            source=source,
            kind=kind if kind in IncidentKind.values else IncidentKind.OTHER,
            summary=summary.strip()[:2000],
            address=address[:200],
            latitude=latitude,
            longitude=longitude,
            reporter_name=reporter_name[:64],
            reporter_phone=reporter_phone[:32],
            received_at=now,
            reported_by=user if getattr(user, "is_authenticated", False) else None,
            **placing,
        )
        if photo is not None:
            lead.photo = photo
        lead.save()
        LeadEvent.objects.create(lead=lead, at=now, step=Lead.Status.NEW, by=lead.reported_by)
        audit.record("intel.lead.submit", lead, user=user)
    return lead


def advance_lead(
    lead: Lead,
    action: str,
    *,
    user: Any,
    note: str = "",
    priority: str | None = None,
    incident: Incident | None = None,
) -> Lead:
    """One step of the lead workflow; a wrong step for the lead's state is refused."""
    if action not in LEAD_FLOW:
        raise ValidationError(_("Unknown step."))
    allowed, target = LEAD_FLOW[action]
    if action == "dismiss" and not note.strip():
        raise ValidationError({"note": _("A dismissal needs a reason.")})
    if action == "merge" and incident is None:
        raise ValidationError({"incident": _("Choose the incident to merge into.")})
    now = clock.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status not in allowed:
            raise ValidationError(_("This step is not possible in the lead's current state."))
        lead.status = target
        if action == "triage":
            lead.triaged_at = now
            if priority in Lead.Priority.values:
                lead.priority = priority
        elif action == "verify":
            lead.verified_at = now
        else:
            lead.resolved_at = now
        if action == "dismiss":
            lead.dismissed_reason = note.strip()[:400]
        if action == "convert":
            if lead.latitude is None or lead.longitude is None:
                raise ValidationError(_("The lead needs a location to become an incident."))
            incident = record_incident(
                kind=lead.kind,
                occurred_at=lead.received_at,
                latitude=lead.latitude,
                longitude=lead.longitude,
                address=lead.address,
                summary=lead.summary,
                source=Incident.Source.MANUAL,
                user=user,
            )
        if incident is not None:
            lead.incident = incident
        lead.save()
        LeadEvent.objects.create(lead=lead, at=now, step=target, by=user, note=note[:400])
        audit.record(f"intel.lead.{action}", lead, user=user)
    return lead


# --- Alerts ------------------------------------------------------------------------

ALERT_FLOW = {
    "acknowledge": ((Alert.Status.OPEN,), Alert.Status.ACKNOWLEDGED),
    "assess": ((Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED), Alert.Status.ASSESSED),
    "close": (Alert.OPEN_STATUSES, Alert.Status.CLOSED),
}


def advance_alert(alert: Alert, action: str, *, user: Any, note: str = "") -> Alert:
    if action not in ALERT_FLOW:
        raise ValidationError(_("Unknown step."))
    allowed, target = ALERT_FLOW[action]
    if action == "assess" and not note.strip():
        raise ValidationError({"assessment": _("Write the assessment.")})
    now = clock.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status not in allowed:
            raise ValidationError(_("This step is not possible in the alert's current state."))
        alert.status = target
        if action == "acknowledge":
            alert.acknowledged_at, alert.acknowledged_by = now, user
        elif action == "assess":
            alert.assessed_at, alert.assessed_by = now, user
            alert.assessment = note.strip()[:2000]
            if alert.acknowledged_at is None:
                alert.acknowledged_at, alert.acknowledged_by = now, user
        else:
            alert.closed_at, alert.closed_by = now, user
        alert.save()
        audit.record(f"intel.alert.{action}", alert, user=user)
        bus.publish_on_commit(
            "intel.alert_updated",
            alert_id=alert.pk,
            school_id=alert.school_id,
            status=alert.status,
        )
    return alert


# --- Operations --------------------------------------------------------------------


MAX_POLYGON_POINTS = 200


def clean_polygon(polygon: Any) -> list[list[float]]:
    """A drawn area as ``[[lat, lon], …]``: 3 to 200 points in range, or nothing."""
    if not polygon:
        return []
    if not isinstance(polygon, list) or not 3 <= len(polygon) <= MAX_POLYGON_POINTS:
        raise ValidationError(
            {"polygon": _("A drawn area needs 3 to %(n)s points.") % {"n": MAX_POLYGON_POINTS}}
        )
    points = []
    for point in polygon:
        try:
            lat, lon = (float(v) for v in point)
        except (TypeError, ValueError):
            raise ValidationError({"polygon": _("Each point is [latitude, longitude].")}) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValidationError({"polygon": _("Coordinates out of range.")})
        points.append([lat, lon])
    return points


def _check_operation_area(
    user: Any, school_ids: list[int], region_ids: list[int], polygon: list, unit_ids: list[int]
) -> None:
    """An operation covers only what its author covers: schools in scope, districts the
    author's scope spans, a drawn area whose nearest school is in scope; units exist."""
    if school_ids:
        visible = set(
            School.objects.visible_to(user).filter(pk__in=school_ids).values_list("pk", flat=True)
        )
        if visible != set(school_ids):
            raise ValidationError({"schools": _("Some of these schools are outside your area.")})
    if region_ids:
        regions = list(Region.objects.filter(pk__in=region_ids))
        if len(regions) != len(set(region_ids)) or not all(covers_region(user, r) for r in regions):
            raise ValidationError({"regions": _("Some of these districts are outside your area.")})
    if polygon:
        lat = sum(p[0] for p in polygon) / len(polygon)
        lon = sum(p[1] for p in polygon) / len(polygon)
        _inside, nearest = SchoolPoints.load().near(lat, lon, link_radius_km())
        if nearest is None or not School.objects.visible_to(user).filter(pk=nearest).exists():
            raise ValidationError({"polygon": _("The drawn area is outside your area.")})
    if unit_ids and Organisation.objects.filter(pk__in=unit_ids).count() != len(set(unit_ids)):
        raise ValidationError({"units": _("Unknown unit.")})


def create_operation(
    *,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    user: Any,
    school_ids: Iterable[int] = (),
    region_ids: Iterable[int] = (),
    polygon: list | None = None,
    target_kinds: Iterable[str] = (),
    unit_ids: Iterable[int] = (),
    alert: Alert | None = None,
    notes: str = "",
) -> Operation:
    """A special operation over an area (schools, districts or a drawn polygon), within
    the author's scope."""
    if not name.strip():
        raise ValidationError({"name": _("Name the operation.")})
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The end is before the start.")})
    if (ends_on - starts_on).days > 366 * 2:
        raise ValidationError({"ends_on": _("An operation lasts at most two years.")})
    school_ids, region_ids = list(dict.fromkeys(school_ids)), list(dict.fromkeys(region_ids))
    unit_ids = list(dict.fromkeys(unit_ids))
    polygon = clean_polygon(polygon)
    if not (school_ids or region_ids or polygon):
        raise ValidationError(_("Give the area: schools, districts or a drawn polygon."))
    bad_kinds = [k for k in target_kinds if k not in IncidentKind.values]
    if bad_kinds:
        raise ValidationError({"target_kinds": _("Unknown incident kind.")})
    kinds = list(dict.fromkeys(target_kinds))
    _check_operation_area(user, school_ids, region_ids, polygon, unit_ids)
    placing = {"school_id": None, "region_id": None, "police_station_id": None}
    if alert is not None:
        placing = {
            "school_id": alert.school_id,
            "region_id": alert.region_id,
            "police_station_id": alert.police_station_id,
        }
    elif school_ids:
        placing = SchoolPoints.load().placing(school_ids[0])
    elif region_ids:
        placing["region_id"] = region_ids[0]
    elif polygon:
        points = SchoolPoints.load()
        lat = sum(p[0] for p in polygon) / len(polygon)
        lon = sum(p[1] for p in polygon) / len(polygon)
        placing = points.placing(points.near(lat, lon, link_radius_km())[1])
    with transaction.atomic():
        operation = Operation.objects.create(
            name=name.strip()[:120],
            starts_on=starts_on,
            ends_on=ends_on,
            polygon=polygon,
            target_kinds=kinds,
            alert=alert,
            notes=notes[:4000],
            created_at=clock.now(),
            created_by=user if getattr(user, "is_authenticated", False) else None,
            **placing,
        )
        operation.schools.set(school_ids)
        operation.regions.set(region_ids)
        operation.units.set(unit_ids)
        audit.record("intel.operation.create", operation, user=user)
    return operation


MAX_ARRESTS_PER_ENTRY = 500
MAX_PATROL_OFFICERS = 1000


def add_operation_entry(
    operation: Operation,
    *,
    user: Any,
    kind: str,
    day: dt.date,
    lead_reference: str = "",
    incident_reference: str = "",
    persons: int = 0,
    hours: float = 0.0,
    place: str = "",
    note: str = "",
) -> OperationEntry:
    """Record what an operation did (police with ``operations`` write, the operation in
    their scope — the caller has checked): a lead taken up (by its reference, a lead the
    officer can see, once per operation), arrests (1–500 persons, optionally the incident
    by reference) or a patrol (officers and hours). The day lies in the operation's period
    and not in the future. Audited ``intel.operation.entry``."""
    if not is_police(user):
        raise PermissionDenied
    if kind not in OperationEntry.Kind.values:
        raise ValidationError({"kind": _("Unknown record type.")})
    today = timezone.localtime(clock.now()).date()
    if not operation.starts_on <= day <= operation.ends_on:
        raise ValidationError({"day": _("The date is outside the operation's period.")})
    if day > today:
        raise ValidationError({"day": _("The date is in the future.")})
    lead = incident = None
    if kind == OperationEntry.Kind.LEAD:
        lead = Lead.objects.visible_to(user).filter(reference=lead_reference.strip()).first()
        if lead is None:
            raise ValidationError({"lead": _("No lead with this reference in your area.")})
        if operation.entries.filter(lead=lead).exists():
            raise ValidationError({"lead": _("This lead is already linked to the operation.")})
        persons, hours = 0, 0.0
    elif kind == OperationEntry.Kind.ARREST:
        if not 1 <= persons <= MAX_ARRESTS_PER_ENTRY:
            raise ValidationError(
                {"persons": _("Arrests: 1 to %(n)s persons.") % {"n": MAX_ARRESTS_PER_ENTRY}}
            )
        hours = 0.0
    else:
        if not 1 <= persons <= MAX_PATROL_OFFICERS:
            raise ValidationError(
                {"persons": _("A patrol has 1 to %(n)s officers.") % {"n": MAX_PATROL_OFFICERS}}
            )
        if not 0 < hours <= 24:
            raise ValidationError({"hours": _("A patrol lasts more than 0 and up to 24 hours.")})
    if incident_reference.strip() and kind != OperationEntry.Kind.LEAD:
        incident = (
            Incident.objects.visible_to(user).filter(reference=incident_reference.strip()).first()
        )
        if incident is None:
            raise ValidationError({"incident": _("No incident with this reference in your area.")})
    with transaction.atomic():
        entry = OperationEntry.objects.create(
            operation=operation,
            kind=kind,
            day=day,
            lead=lead,
            incident=incident,
            persons=persons,
            hours=round(float(hours), 2),
            place=place.strip()[:200],
            note=note.strip()[:400],
            created_at=clock.now(),
            created_by=user,
        )
        audit.record(
            "intel.operation.entry",
            operation,
            user=user,
            detail={
                "kind": kind,
                "day": day.isoformat(),
                "lead": lead.reference if lead else "",
                "incident": incident.reference if incident else "",
                "persons": persons,
                "hours": entry.hours,
            },
        )
    return entry


def unlink_operation_lead(entry: OperationEntry, *, user: Any) -> None:
    """Take a lead off an operation (linked by mistake, or to another operation's work):
    police with ``operations`` write, the entry in their scope — the caller has checked.
    The lead itself is untouched and is offered again on the page. Audited
    ``intel.operation.unlink`` with the lead's reference."""
    if not is_police(user):
        raise PermissionDenied
    if entry.kind != OperationEntry.Kind.LEAD:
        raise ValidationError({"lead": _("This record is not a linked lead.")})
    with transaction.atomic():
        # lock the row alone: PostgreSQL refuses FOR UPDATE across the nullable lead join
        entry = OperationEntry.objects.select_for_update().get(pk=entry.pk)
        audit.record(
            "intel.operation.unlink",
            entry.operation,
            user=user,
            detail={
                "kind": entry.kind,
                "day": entry.day.isoformat(),
                "lead": entry.lead.reference if entry.lead else "",
            },
        )
        entry.delete()


def suggested_leads(operation: Operation, user: Any, today: dt.date, limit: int = 20) -> list:
    """Leads the officer can see, received in the operation's period so far, placed in
    its area (near its schools, inside its polygon or districts) and not linked yet: the
    page offers each with one click."""
    from campus_safety.intel.effect import in_area

    start = timezone.make_aware(dt.datetime.combine(operation.starts_on, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(min(operation.ends_on, today), dt.time.max))
    leads = list(
        Lead.objects.visible_to(user)
        .filter(received_at__range=(start, end))
        .exclude(status=Lead.Status.DISMISSED)
        .exclude(operation_entries__operation=operation)
        .order_by("-received_at")[:500]
    )
    if not leads:
        return []
    region_ids = set(operation.regions.values_list("pk", flat=True))
    school_ids = set(operation.schools.values_list("pk", flat=True))
    placed = [x for x in leads if x.latitude is not None and x.longitude is not None]
    hits = set()
    if placed:
        inside = in_area(operation, [x.latitude for x in placed], [x.longitude for x in placed])
        hits = {x.pk for x, hit in zip(placed, inside, strict=True) if hit}
    chosen = [
        x for x in leads if x.pk in hits or x.region_id in region_ids or x.school_id in school_ids
    ]
    return chosen[:limit]


def operation_totals(operation: Operation) -> dict[str, float]:
    """Leads taken up, persons arrested, patrols, officer-hours on patrol."""
    totals = {"leads": 0, "arrests": 0, "patrols": 0, "officer_hours": 0.0}
    for kind, persons, hours in operation.entries.values_list("kind", "persons", "hours"):
        if kind == OperationEntry.Kind.LEAD:
            totals["leads"] += 1
        elif kind == OperationEntry.Kind.ARREST:
            totals["arrests"] += persons
        else:
            totals["patrols"] += 1
            totals["officer_hours"] += persons * hours
    totals["officer_hours"] = round(totals["officer_hours"], 1)
    return totals


def operation_from_alert(alert: Alert, *, user: Any, days: int = 30) -> Operation:
    """Start a special operation on an alert's schools, for ``days`` from today."""
    today = clock.now().date()
    # the alert's schools the officer covers (a circle may reach into another station's)
    visible = School.objects.visible_to(user)
    schools = list(alert.schools.filter(pk__in=visible).values_list("pk", flat=True))
    if not schools and alert.school_id and visible.filter(pk=alert.school_id).exists():
        schools = [alert.school_id]
    units = [alert.police_station_id] if alert.police_station_id else []
    return create_operation(
        name=_("Special operation: %(reference)s") % {"reference": alert.reference},
        starts_on=today,
        ends_on=today + dt.timedelta(days=days),
        user=user,
        school_ids=schools,
        target_kinds=[alert.kind] if alert.kind else [],
        unit_ids=units,
        alert=alert,
    )


# --- Persons: audited reveal -------------------------------------------------------

REVEAL_REASON_MIN, REVEAL_REASON_MAX = 4, 300


def reveal_persons(user: Any, persons: Iterable[Person], reason: str) -> list[dict[str, Any]]:
    """A masked person's full name, ID number and phone, for a police role with reveal
    rights and a stated reason; each person's reveal is one audit entry (with the
    reason), a refusal too. The caller has already scoped ``persons`` to the user."""
    persons = list(persons)
    reason = (reason or "").strip()
    if not (can(user, READ, "incidents") and can(user, REVEAL, "personal_data")):
        for person in persons:
            audit.record(
                "intel.person.reveal",
                person,
                user=user,
                outcome="denied",
                detail={"reason": reason[:REVEAL_REASON_MAX]},
            )
        raise PermissionDenied
    if not REVEAL_REASON_MIN <= len(reason) <= REVEAL_REASON_MAX:
        raise ValidationError(
            {
                "reason": _("State the purpose of this read in %(a)s to %(b)s characters.")
                % {"a": REVEAL_REASON_MIN, "b": REVEAL_REASON_MAX}
            }
        )
    shown = []
    for person in persons:
        audit.record(
            "intel.person.reveal",
            person,
            user=user,
            detail={
                "reason": reason,
                "incident": person.incident.reference,
                "fields": ["name", "id_number", "phone"],
            },
        )
        shown.append(
            {
                "id": person.pk,
                "role": person.role,
                "name": person.name,
                "id_number": person.id_number,
                "phone": person.phone,
                "is_minor": person.is_minor,
            }
        )
    return shown
