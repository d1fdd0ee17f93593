"""The hazard workflow (隐患整改): report → assign → rectify → submit → verify (or return) →
close, each step timed, attributed, audited and written to the hazard's timeline.

Who may take a step is decided here, once, for the pages, the API and the commands:
the role table says what a role may do at all (``hazards`` to report and rectify,
``hazard_supervision`` to assign, verify, return, close and dismiss); the hazard says
who is responsible for the fix and which side found it — only the finding side
verifies, and a school never verifies its own fix. Scope (which hazards a user
reaches) is ``Hazard.objects.visible_to(user)`` before any of this is asked.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.accounts.roles import WRITE, can
from campus_safety.audit import services as audit
from campus_safety.devices.models import KeyArea
from campus_safety.hazards import uploads
from campus_safety.hazards.models import Hazard, HazardEvent, HazardPhoto
from campus_safety.orgs.models import Organisation, School

Status = Hazard.Status
Step = HazardEvent.Step
Side = Hazard.Side
Source = Hazard.Source
POLICE_ROLES = {"dispatcher", "police_officer"}
DEFAULT_DEADLINE_DAYS = {"low": 30, "medium": 15, "high": 7, "critical": 3}
# Who may record each way of finding a hazard.
SOURCES_BY_SIDE = {
    Side.SCHOOL: {Source.SELF_CHECK},
    Side.POLICE: {Source.POLICE_INSPECTION, Source.CITIZEN_REPORT},
    Side.EDUCATION: {
        Source.EDUCATION_INSPECTION,
        Source.ONLINE_INSPECTION,
        Source.CITIZEN_REPORT,
    },
}


class InvalidTransition(ValueError):
    """The hazard is not in a state that allows this step."""

    def __init__(self, status: str, step: str) -> None:
        super().__init__(
            _("A hazard that is %(status)s cannot be %(step)s.")
            % {"status": Status(status).label, "step": Step(step).label.lower()}
        )
        self.status, self.step = status, step


class NotAllowed(PermissionError):
    """The user may not take this step on this hazard (the reason is the message)."""


# --- who is who ---------------------------------------------------------------------------------


def user_side(user: Any) -> str | None:
    """The side of the platform a user works for: their school, the police or education."""
    if getattr(user, "school_id", None):
        return Side.SCHOOL
    role = getattr(user, "role", "")
    if role in POLICE_ROLES:
        return Side.POLICE
    if role == "education_staff":
        return Side.EDUCATION
    return None


def verifier_side_for(source: str, kind: str) -> str:
    """The finding side verifies the fix. A school never checks its own work: what it
    finds inside is verified by its supervisors (police or education), a trouble spot
    around it by the police; a citizen's report likewise."""
    if source == Source.POLICE_INSPECTION:
        return Side.POLICE
    if source in {Source.EDUCATION_INSPECTION, Source.ONLINE_INSPECTION}:
        return Side.EDUCATION
    return Side.POLICE if kind == Hazard.Kind.SURROUNDING else Side.SUPERVISORS


def deadline_days(severity: str) -> int:
    days = {**DEFAULT_DEADLINE_DAYS, **(getattr(settings, "HAZARD_DEADLINE_DAYS", {}) or {})}
    return int(days[severity])


def default_deadline(severity: str, start: dt.datetime) -> dt.datetime:
    """Deadline by severity (settings.HAZARD_DEADLINE_DAYS)."""
    return start + dt.timedelta(days=deadline_days(severity))


def _supervises(user: Any) -> bool:
    return can(user, WRITE, "hazard_supervision")


def may_rectify(user: Any, hazard: Hazard) -> bool:
    """The responsible party (or, for a department off the platform, the supervising
    side on its behalf) records progress and submits the fix."""
    if not can(user, WRITE, "hazards"):
        return False
    if getattr(user, "is_superuser", False):
        return True
    kind = hazard.responsible_kind
    if kind == Hazard.Responsible.SCHOOL:
        return getattr(user, "school_id", None) == hazard.school_id
    if kind == Hazard.Responsible.POLICE_STATION:
        if getattr(user, "organisation_id", None) == hazard.responsible_organisation_id:
            return True
        return user_side(user) == Side.POLICE and _supervises(user)
    if kind == Hazard.Responsible.DEPARTMENT:
        return _supervises(user)
    return False


def may_verify(user: Any, hazard: Hazard) -> bool:
    """Only the finding side verifies; never the school that did the work."""
    if not _supervises(user):
        return False
    if getattr(user, "is_superuser", False):
        return True
    side = user_side(user)
    if hazard.verifier_side == Side.SUPERVISORS:
        return side in {Side.POLICE, Side.EDUCATION}
    return side == hazard.verifier_side


def allowed_steps(user: Any, hazard: Hazard) -> set[str]:
    """The steps this user may take on this hazard now (buttons on the hazard page)."""
    steps: set[str] = set()
    status = hazard.status
    if status == Status.REPORTED and _supervises(user):
        steps |= {Step.ASSIGNED, Step.DISMISSED}
    if status in {Status.ASSIGNED, Status.RECTIFYING} and _supervises(user):
        steps.add(Step.REASSIGNED)
    if status == Status.ASSIGNED and _supervises(user):
        steps.add(Step.DISMISSED)
    if status in {Status.ASSIGNED, Status.RECTIFYING} and may_rectify(user, hazard):
        steps |= {Step.PROGRESS, Step.SUBMITTED}
        if status == Status.ASSIGNED:
            steps.add(Step.STARTED)
    if status == Status.SUBMITTED and may_verify(user, hazard):
        steps |= {Step.VERIFIED, Step.RETURNED}
    if status == Status.VERIFIED and may_verify(user, hazard):
        steps.add(Step.CLOSED)
    return steps


def _require(user: Any, hazard: Hazard, step: str) -> None:
    if step in allowed_steps(user, hazard):
        return
    expected = {
        Step.ASSIGNED: {Status.REPORTED},
        Step.REASSIGNED: {Status.ASSIGNED, Status.RECTIFYING},
        Step.DISMISSED: {Status.REPORTED, Status.ASSIGNED},
        Step.STARTED: {Status.ASSIGNED},
        Step.PROGRESS: {Status.ASSIGNED, Status.RECTIFYING},
        Step.SUBMITTED: {Status.ASSIGNED, Status.RECTIFYING},
        Step.VERIFIED: {Status.SUBMITTED},
        Step.RETURNED: {Status.SUBMITTED},
        Step.CLOSED: {Status.VERIFIED},
    }[step]
    if hazard.status not in expected:
        raise InvalidTransition(hazard.status, step)
    if step in {Step.VERIFIED, Step.RETURNED, Step.CLOSED}:
        raise NotAllowed(
            _("Only the side that found the hazard (%(side)s) may verify, return or close it.")
            % {"side": Side(hazard.verifier_side).label}
        )
    if step in {Step.STARTED, Step.PROGRESS, Step.SUBMITTED}:
        raise NotAllowed(_("Only the party responsible for the fix may do this."))
    raise NotAllowed(_("Your role does not allow this step."))


def _event(
    hazard: Hazard,
    step: str,
    by: Any,
    note: str = "",
    at: dt.datetime | None = None,
    organisation: Organisation | None = None,
) -> HazardEvent:
    return HazardEvent.objects.create(
        hazard=hazard,
        at=at or clock.now(),
        step=step,
        by=by if getattr(by, "is_authenticated", False) else None,
        note=note.strip(),
        organisation=organisation,
    )


def _note_required(note: str, what: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Write %(what)s.") % {"what": what}})
    return note


def _check_photos(files: Sequence[Any], strip_location: bool) -> list[uploads.CheckedPhoto]:
    """Every file is checked before anything is written: one bad file refuses the lot."""
    if len(files) > uploads.max_per_upload():
        raise ValidationError(
            {"photos": _("At most %(n)s photos at a time.") % {"n": uploads.max_per_upload()}}
        )
    checked, errors = [], []
    for upload in files:
        try:
            checked.append(uploads.check_photo(upload, strip_location=strip_location))
        except uploads.PhotoRejected as exc:
            errors.append(str(exc))
    if errors:
        raise ValidationError({"photos": errors})
    return checked


def _store_photos(
    hazard: Hazard,
    checked: Iterable[uploads.CheckedPhoto],
    stage: str,
    by: Any,
    event: HazardEvent | None,
) -> list[HazardPhoto]:
    rows = []
    for photo in checked:
        row = HazardPhoto(
            hazard=hazard,
            event=event,
            stage=stage,
            token=photo.token,
            extension=photo.extension,
            content_type=photo.content_type,
            size=photo.size,
            width=photo.width,
            height=photo.height,
            location_stripped=photo.location_stripped,
            uploaded_at=clock.now(),
            uploaded_by=by if getattr(by, "is_authenticated", False) else None,
        )
        row.image.save(photo.content.name, photo.content, save=False)
        row.save()
        rows.append(row)
    return rows


def reference_for(kind: str, pk: int) -> str:
    """YH (隐患) for inside, LD (乱点) for around the campus, then the number."""
    return f"{'YH' if kind == Hazard.Kind.INTERNAL else 'LD'}-{pk:06d}"


# --- reporting ----------------------------------------------------------------------------------

INTERNAL_FIELDS = ("key_area",)
SURROUNDING_FIELDS = ("spot_kind", "location")


def report_hazard(
    by: Any,
    *,
    school: School,
    kind: str,
    title: str,
    category: str,
    severity: str,
    source: str,
    description: str = "",
    key_area: str = "",
    facility: str = "",
    spot_kind: str = "",
    location: str = "",
    distance_m: int | None = None,
    longitude: float | None = None,
    latitude: float | None = None,
    citizen_name: str = "",
    citizen_phone: str = "",
    photos: Sequence[Any] = (),
    strip_location: bool = True,
    checklist_answer: Any = None,
) -> Hazard:
    """Record a hazard found by ``by``. A school's own internal hazard is assigned to the
    school at once (it is theirs to fix); anything else waits for a supervisor."""
    if not can(by, WRITE, "hazards"):
        raise NotAllowed(_("Your role does not allow reporting hazards."))
    side = user_side(by)
    errors: dict[str, str] = {}
    if kind not in Hazard.Kind.values:
        errors["kind"] = _("Choose inside or around the campus.")
    if kind == Hazard.Kind.INTERNAL:
        if key_area not in KeyArea.values:
            errors["key_area"] = _("Choose the key area (GB/T 29315-2022).")
        spot_kind, location, distance_m = "", location.strip(), None
    elif kind == Hazard.Kind.SURROUNDING:
        if spot_kind not in Hazard.SpotKind.values:
            errors["spot_kind"] = _("Choose what kind of trouble spot it is.")
        if not location.strip():
            errors["location"] = _("Say where the trouble spot is.")
        key_area = key_area or "surroundings"
    if not side and not getattr(by, "is_superuser", False):
        errors["source"] = _("Your account belongs to no school, police unit or bureau.")
    elif side and source not in SOURCES_BY_SIDE[side]:
        errors["source"] = _("Your side cannot record a hazard found this way.")
    if not title.strip():
        errors["title"] = _("Give the hazard a short title.")
    if (longitude is None) != (latitude is None):
        errors["longitude"] = _("Give both longitude and latitude, or neither.")
    if errors:
        raise ValidationError(errors)
    checked = _check_photos(photos, strip_location)
    now = clock.now()
    with transaction.atomic():
        hazard = Hazard(
            reference=f"tmp-{secrets.token_hex(6)}",
            kind=kind,
            school=school,
            title=title.strip()[:120],
            description=description.strip(),
            category=category,
            severity=severity,
            key_area=key_area,
            facility=facility.strip()[:80],
            spot_kind=spot_kind,
            location=location.strip()[:200],
            distance_m=distance_m,
            longitude=longitude,
            latitude=latitude,
            source=source,
            verifier_side=verifier_side_for(source, kind),
            reported_at=now,
            reported_by=by,
            citizen_name=citizen_name.strip()[:64] if source == Source.CITIZEN_REPORT else "",
            citizen_phone=citizen_phone.strip()[:32] if source == Source.CITIZEN_REPORT else "",
            checklist_answer=checklist_answer,
        )
        hazard.full_clean(exclude=["reference", "reported_by", "checklist_answer"])
        # Inserted without the model's audit signal, whose entry would name the
        # placeholder reference: "hazard.report" below is this write's audit entry.
        (hazard,) = Hazard.objects.bulk_create([hazard])
        hazard.reference = reference_for(kind, hazard.pk)
        Hazard.objects.filter(pk=hazard.pk).update(reference=hazard.reference)
        event = _event(hazard, Step.REPORTED, by, description, at=now)
        _store_photos(hazard, checked, HazardPhoto.Stage.FOUND, by, event)
        audit.record("hazard.report", hazard, user=by)
        if side == Side.SCHOOL and kind == Hazard.Kind.INTERNAL:
            _assign(hazard, by, Hazard.Responsible.SCHOOL, None, "", None, "", Step.ASSIGNED)
    return hazard


# --- assigning ----------------------------------------------------------------------------------


def _assign(
    hazard: Hazard,
    by: Any,
    responsible_kind: str,
    organisation: Organisation | None,
    department: str,
    deadline: dt.datetime | None,
    note: str,
    step: str,
) -> Hazard:
    now = clock.now()
    errors = {}
    if responsible_kind == Hazard.Responsible.POLICE_STATION:
        if organisation is None or organisation.kind != Organisation.Kind.POLICE_STATION:
            errors["organisation"] = _("Choose the police station responsible.")
        department = ""
    elif responsible_kind == Hazard.Responsible.DEPARTMENT:
        if not department.strip():
            errors["department"] = _("Name the department responsible.")
        organisation = None
    elif responsible_kind == Hazard.Responsible.SCHOOL:
        organisation, department = None, ""
    else:
        errors["responsible_kind"] = _("Choose who is responsible for the fix.")
    if deadline is not None and deadline <= now:
        errors["deadline"] = _("The deadline must be in the future.")
    if errors:
        raise ValidationError(errors)
    hazard.responsible_kind = responsible_kind
    hazard.responsible_organisation = organisation
    hazard.responsible_department = department.strip()[:120]
    hazard.deadline = deadline or default_deadline(hazard.severity, now)
    hazard.assigned_at, hazard.assigned_by = now, by
    if hazard.status == Status.REPORTED:
        hazard.status = Status.ASSIGNED
    # A new deadline starts the reminder and escalation clocks afresh.
    hazard.reminded_at, hazard.escalation_level, hazard.escalated_to = None, 0, None
    hazard.next_escalation_at = hazard.deadline
    hazard.save()
    label = hazard.responsible_label
    text = _("Responsible: %(who)s; deadline %(deadline)s.") % {
        "who": label,
        "deadline": timezone.localtime(hazard.deadline).strftime("%Y-%m-%d %H:%M"),
    }
    _event(hazard, step, by, f"{text}\n{note.strip()}".strip(), at=now, organisation=organisation)
    audit.record(f"hazard.{step}", hazard, user=by, detail={"responsible": responsible_kind})
    return hazard


def assign_hazard(
    hazard: Hazard,
    by: Any,
    *,
    responsible_kind: str,
    organisation: Organisation | None = None,
    department: str = "",
    deadline: dt.datetime | None = None,
    note: str = "",
) -> Hazard:
    """Name the responsible party and the deadline (by severity unless given). On an
    assigned hazard this is a reassignment, with a fresh deadline."""
    step = Step.ASSIGNED if hazard.status == Status.REPORTED else Step.REASSIGNED
    _require(by, hazard, step)
    with transaction.atomic():
        return _assign(hazard, by, responsible_kind, organisation, department, deadline, note, step)


# --- rectifying ---------------------------------------------------------------------------------


def start_rectification(hazard: Hazard, by: Any, note: str = "") -> Hazard:
    """The responsible party has begun the work."""
    _require(by, hazard, Step.STARTED)
    with transaction.atomic():
        hazard.status, hazard.started_at = Status.RECTIFYING, clock.now()
        hazard.save(update_fields=["status", "started_at"])
        _event(hazard, Step.STARTED, by, note)
        audit.record("hazard.start", hazard, user=by)
    return hazard


def record_progress(
    hazard: Hazard, by: Any, note: str, photos: Sequence[Any] = (), strip_location: bool = True
) -> HazardEvent:
    """A progress note, optionally with evidence photos; starts the work if not yet."""
    _require(by, hazard, Step.PROGRESS)
    note = _note_required(note, _("what was done"))
    checked = _check_photos(photos, strip_location)
    with transaction.atomic():
        if hazard.status == Status.ASSIGNED:
            hazard.status, hazard.started_at = Status.RECTIFYING, clock.now()
            hazard.save(update_fields=["status", "started_at"])
        event = _event(hazard, Step.PROGRESS, by, note)
        _store_photos(hazard, checked, HazardPhoto.Stage.EVIDENCE, by, event)
        audit.record("hazard.progress", hazard, user=by, detail={"photos": len(checked)})
    return event


def submit_fix(
    hazard: Hazard, by: Any, note: str, photos: Sequence[Any] = (), strip_location: bool = True
) -> Hazard:
    """Hand the fix to the finding side for verification; evidence is required (a photo
    now or with an earlier progress note)."""
    _require(by, hazard, Step.SUBMITTED)
    note = _note_required(note, _("how the hazard was fixed"))
    checked = _check_photos(photos, strip_location)
    if not checked and not hazard.photos.filter(stage=HazardPhoto.Stage.EVIDENCE).exists():
        raise ValidationError({"photos": _("Attach at least one photo of the fix.")})
    now = clock.now()
    with transaction.atomic():
        hazard.status, hazard.submitted_at, hazard.submitted_by = Status.SUBMITTED, now, by
        hazard.started_at = hazard.started_at or now
        hazard.save(update_fields=["status", "submitted_at", "submitted_by", "started_at"])
        event = _event(hazard, Step.SUBMITTED, by, note, at=now)
        _store_photos(hazard, checked, HazardPhoto.Stage.EVIDENCE, by, event)
        audit.record("hazard.submit", hazard, user=by)
    return hazard


# --- verifying ----------------------------------------------------------------------------------


def verify_fix(hazard: Hazard, by: Any, note: str = "") -> Hazard:
    """The finding side confirms the fix on the ground (or from the evidence)."""
    _require(by, hazard, Step.VERIFIED)
    now = clock.now()
    with transaction.atomic():
        hazard.status, hazard.verified_at, hazard.verified_by = Status.VERIFIED, now, by
        hazard.next_escalation_at = None
        hazard.save(update_fields=["status", "verified_at", "verified_by", "next_escalation_at"])
        _event(hazard, Step.VERIFIED, by, note, at=now)
        audit.record("hazard.verify", hazard, user=by)
    return hazard


def return_fix(hazard: Hazard, by: Any, note: str, deadline: dt.datetime | None = None) -> Hazard:
    """Not fixed: back to the responsible party with the reason; the deadline stands
    unless the verifier grants a new one."""
    _require(by, hazard, Step.RETURNED)
    note = _note_required(note, _("why the fix is not accepted"))
    now = clock.now()
    if deadline is not None and deadline <= now:
        raise ValidationError({"deadline": _("The deadline must be in the future.")})
    with transaction.atomic():
        hazard.status = Status.RECTIFYING
        hazard.return_count += 1
        hazard.submitted_at = hazard.submitted_by = None
        fields = ["status", "return_count", "submitted_at", "submitted_by"]
        if deadline is not None:
            hazard.deadline, hazard.next_escalation_at = deadline, deadline
            hazard.reminded_at, hazard.escalation_level = None, 0
            fields += ["deadline", "next_escalation_at", "reminded_at", "escalation_level"]
        hazard.save(update_fields=fields)
        _event(hazard, Step.RETURNED, by, note, at=now)
        audit.record("hazard.return", hazard, user=by)
    return hazard


def close_hazard(hazard: Hazard, by: Any, note: str = "") -> Hazard:
    """File a verified hazard away."""
    _require(by, hazard, Step.CLOSED)
    now = clock.now()
    with transaction.atomic():
        hazard.status, hazard.closed_at, hazard.closed_by = Status.CLOSED, now, by
        hazard.save(update_fields=["status", "closed_at", "closed_by"])
        _event(hazard, Step.CLOSED, by, note, at=now)
        audit.record("hazard.close", hazard, user=by)
    return hazard


def dismiss_hazard(hazard: Hazard, by: Any, note: str) -> Hazard:
    """Not a hazard (a duplicate, a mistaken report): closed with the reason, and left
    out of the found/rectified figures."""
    _require(by, hazard, Step.DISMISSED)
    note = _note_required(note, _("why this is not a hazard"))
    now = clock.now()
    with transaction.atomic():
        hazard.status, hazard.closed_at, hazard.closed_by = Status.DISMISSED, now, by
        hazard.next_escalation_at = None
        hazard.save(update_fields=["status", "closed_at", "closed_by", "next_escalation_at"])
        _event(hazard, Step.DISMISSED, by, note, at=now)
        audit.record("hazard.dismiss", hazard, user=by)
    return hazard


def add_photos(
    hazard: Hazard, by: Any, photos: Sequence[Any], strip_location: bool = True
) -> list[HazardPhoto]:
    """More photos of the hazard as found (the reporter, before it is assigned onwards),
    or evidence from the responsible party while the work goes on."""
    if hazard.status in {Status.ASSIGNED, Status.RECTIFYING} and may_rectify(by, hazard):
        stage = HazardPhoto.Stage.EVIDENCE
    elif hazard.is_open and getattr(by, "pk", None) == hazard.reported_by_id:
        stage = HazardPhoto.Stage.FOUND
    else:
        raise NotAllowed(_("You may not add photos to this hazard now."))
    if not photos:
        raise ValidationError({"photos": _("Choose at least one photo.")})
    checked = _check_photos(photos, strip_location)
    with transaction.atomic():
        rows = _store_photos(hazard, checked, stage, by, None)
        audit.record("hazard.photos", hazard, user=by, detail={"photos": len(rows)})
    return rows
