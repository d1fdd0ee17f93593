"""Police rooms, duty logs, plans and drills, lectures: the only writers of these rows.

Each operation checks the role table (``accounts/roles.py``) and the user's scope,
owns its transaction, and audits. Discipline records live in ``discipline.py``,
notices in ``notices.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.accounts.roles import WRITE, can
from campus_safety.alarms import drills as alarm_drills
from campus_safety.audit import services as audit
from campus_safety.hazards import services as hazard_services
from campus_safety.intel import services as intel_services
from campus_safety.intel.models import IncidentKind, Lead
from campus_safety.linkage import drill_rules
from campus_safety.linkage.models import (
    Drill,
    DutyLog,
    EmergencyKind,
    EmergencyPlan,
    Lecture,
    PoliceRoom,
)
from campus_safety.orgs.models import School
from campus_safety.scoping import is_police

MAX_PHOTO_BYTES = 8 * 1024 * 1024
PHOTO_TYPES = {"image/jpeg", "image/png"}


class NotAllowed(PermissionError):
    """The user may not do this (the reason is the message)."""


def _require(user: Any, resource: str) -> None:
    if not can(user, WRITE, resource):
        raise NotAllowed(_("Your role does not allow this."))


def _require_school(user: Any, school: School) -> None:
    if not School.objects.visible_to(user).filter(pk=school.pk).exists():
        raise NotAllowed(_("This school is outside your scope."))


# --- police rooms and duty logs --------------------------------------------------------------


def save_police_room(
    by: Any, school: School, *, officers: Sequence[Any] = (), **fields: Any
) -> PoliceRoom:
    """Register or update a school's police room (police only) and keep the school's
    "has police room" flag and contact fields in step."""
    _require(by, "police_rooms")
    _require_school(by, school)
    with transaction.atomic():
        room, created = PoliceRoom.objects.select_for_update().get_or_create(
            school=school, defaults=fields
        )
        if not created:
            for name, value in fields.items():
                setattr(room, name, value)
        room.full_clean(exclude=["school"])
        room.save()
        if officers:
            room.officers.set(officers)
        first = room.officers.order_by("pk").first()
        School.objects.filter(pk=school.pk).update(
            has_police_room=True,
            legal_vice_principal=room.counsellor_name or school.legal_vice_principal,
            police_room_officer=str(first) if first else school.police_room_officer,
        )
        audit.record("police_room.create" if created else "police_room.update", room, user=by)
    return room


def record_duty(
    by: Any,
    room: PoliceRoom,
    *,
    kind: str,
    notes: str = "",
    at: dt.datetime | None = None,
    problem_title: str = "",
    as_lead: bool = False,
) -> DutyLog:
    """One entry of the room's duty log. A problem found becomes a hazard at once
    (police inspection: the police verify its fix), and with ``as_lead`` also an intel
    lead (``duty_problem_to_lead``)."""
    _require(by, "police_rooms")
    _require_school(by, room.school)
    if kind not in DutyLog.Kind.values:
        raise ValidationError({"kind": _("Choose what was done.")})
    if kind == DutyLog.Kind.PROBLEM and not problem_title.strip():
        raise ValidationError({"problem_title": _("Say what the problem is.")})
    with transaction.atomic():
        hazard = None
        if kind == DutyLog.Kind.PROBLEM:
            hazard = _file_hazard(by, room.school, problem_title, notes)
        log = DutyLog.objects.create(
            room=room,
            officer=by,
            at=at or clock.now(),
            kind=kind,
            notes=notes.strip()[:2000],
            hazard=hazard,
        )
        audit.record("duty_log.create", log, user=by)
        if as_lead and kind == DutyLog.Kind.PROBLEM:
            duty_problem_to_lead(by, log, title=problem_title)
    return log


def duty_problem_to_lead(
    by: Any, log: DutyLog, *, title: str = "", kind: str = IncidentKind.OTHER
) -> Lead:
    """A problem a police room found (strangers loitering at the gate, a shop selling
    knives to pupils …) becomes an intel lead for the police to verify: source police,
    placed at the room's school, the duty-log entry linked to it. Once per entry; police
    with leads write only; audited (``duty_log.lead``, and intel's own submit entry)."""
    if not can(by, WRITE, "leads") or not is_police(by):
        raise NotAllowed(_("Only police officers file leads."))
    school = log.room.school
    _require_school(by, school)
    if log.kind != DutyLog.Kind.PROBLEM:
        raise ValidationError(_("Only a problem found can become a lead."))
    with transaction.atomic():
        log = DutyLog.objects.select_for_update().get(pk=log.pk)
        if log.lead_id:
            raise ValidationError(_("This problem is a lead already."))
        headline = title.strip() or (log.hazard.title if log.hazard_id else "")
        summary = _("Police room at %(school)s, %(when)s: %(what)s") % {
            "school": school.name,
            "when": f"{timezone.localtime(log.at):%Y-%m-%d %H:%M}",
            "what": "；".join(part for part in (headline, log.notes.strip()) if part)
            or str(log.get_kind_display()),
        }
        lead = intel_services.submit_lead(
            source=Lead.Source.POLICE,
            summary=summary,
            kind=kind,
            address=school.address or school.name,
            latitude=school.latitude,
            longitude=school.longitude,
            user=by,
        )
        # intel places a tip at the school nearest its point; this one was found at a
        # known school, so it is placed there (the station and region that scope it).
        placing = {
            "school_id": school.pk,
            "region_id": school.region_id,
            "police_station_id": school.police_station_id,
        }
        if any(getattr(lead, k) != v for k, v in placing.items()):
            Lead.objects.filter(pk=lead.pk).update(**placing)
            for key, value in placing.items():
                setattr(lead, key, value)
        log.lead = lead
        log.save(update_fields=["lead"])
        audit.record("duty_log.lead", log, user=by, detail={"lead": lead.reference})
    return lead


def _file_hazard(by: Any, school: School, title: str, notes: str) -> Any:
    side = hazard_services.user_side(by)
    source = {
        "school": "self_check",
        "police": "police_inspection",
        "education": "education_inspection",
    }.get(side or "police", "police_inspection")
    return hazard_services.report_hazard(
        by,
        school=school,
        kind="internal",
        title=title.strip()[:120],
        description=notes,
        category="management",
        severity="medium",
        source=source,
        key_area="other",
    )


# --- plans and drills ------------------------------------------------------------------------


def submit_plan(by: Any, school: School, *, kind: str, summary: str) -> EmergencyPlan:
    """A new version of a school's plan, waiting for the education bureau's approval."""
    _require(by, "emergency_plans")
    _require_school(by, school)
    if kind not in EmergencyKind.values:
        raise ValidationError({"kind": _("Choose the kind of emergency.")})
    with transaction.atomic():
        last = (
            EmergencyPlan.objects.select_for_update()
            .filter(school=school, kind=kind)
            .order_by("-version")
            .first()
        )
        plan = EmergencyPlan.objects.create(
            school=school,
            kind=kind,
            version=(last.version + 1) if last else 1,
            summary=summary.strip()[:4000],
            submitted_at=clock.now(),
            submitted_by=by,
        )
        audit.record("emergency_plan.submit", plan, user=by)
    return plan


def decide_plan(by: Any, plan: EmergencyPlan, *, approve: bool, note: str = "") -> EmergencyPlan:
    """The education bureau approves (or returns) a plan; a school never approves its own."""
    _require(by, "emergency_plans")
    is_bureau = not getattr(by, "school_id", None) and getattr(by, "role", "") == "education_staff"
    if not is_bureau and not getattr(by, "is_superuser", False):
        raise NotAllowed(_("Only the education bureau approves plans."))
    _require_school(by, plan.school)
    if not approve and not note.strip():
        raise ValidationError({"note": _("Say why the plan goes back.")})
    with transaction.atomic():
        plan = EmergencyPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != EmergencyPlan.Status.SUBMITTED:
            raise ValidationError(_("This plan has been decided already."))
        plan.status = EmergencyPlan.Status.APPROVED if approve else EmergencyPlan.Status.RETURNED
        plan.decided_at, plan.decided_by, plan.decision_note = clock.now(), by, note.strip()[:300]
        plan.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        audit.record("emergency_plan." + ("approve" if approve else "return"), plan, user=by)
    return plan


def _check_photo(photo: Any) -> None:
    if photo is None:
        return
    if photo.size > MAX_PHOTO_BYTES:
        raise ValidationError({"photo": _("The photo is larger than 8 MB.")})
    head = photo.read(8)
    photo.seek(0)
    if not (head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG")):
        raise ValidationError({"photo": _("The photo must be a JPEG or PNG image.")})


def record_drill(
    by: Any,
    school: School,
    *,
    kind: str,
    held_at: dt.datetime,
    is_evacuation: bool = True,
    evacuation_seconds: int | None = None,
    participants: int = 0,
    problems: str = "",
    photo: Any = None,
    file_problems_as_hazard: bool = False,
) -> Drill:
    """A drill held; problems found may be filed as a hazard of the school."""
    _require(by, "emergency_plans")
    _require_school(by, school)
    if kind not in EmergencyKind.values:
        raise ValidationError({"kind": _("Choose the drill's scenario.")})
    if held_at > clock.now() + dt.timedelta(minutes=5):
        raise ValidationError({"held_at": _("A drill is recorded after it was held.")})
    _check_photo(photo)
    with transaction.atomic():
        hazard = None
        if file_problems_as_hazard and problems.strip():
            hazard = _file_hazard(
                by, school, _("Drill problem: %s") % problems.strip()[:100], problems
            )
        drill = Drill(
            school=school,
            kind=kind,
            is_evacuation=is_evacuation,
            held_at=held_at,
            evacuation_seconds=evacuation_seconds,
            participants=participants or 0,
            problems=problems.strip()[:2000],
            hazard=hazard,
            recorded_by=by,
        )
        if photo is not None:
            drill.photo = photo
        drill.full_clean(exclude=["hazard", "test_window", "recorded_by", "photo"])
        drill.save()
        audit.record("drill.record", drill, user=by)
    return drill


def schedule_joint_drill(
    by: Any, school: School, *, kind: str, starts_at: dt.datetime, minutes: int = 60
) -> Drill:
    """A joint drill with the police: an alarm test window first (every alarm of the
    school inside it is a test case, never a real one, never escalated), then the drill
    itself, recorded at its start; participants and timings are filled in afterwards."""
    _require(by, "alarm_drills")
    _require_school(by, school)
    if not 5 <= minutes <= 480:
        raise ValidationError({"minutes": _("A drill window lasts 5 to 480 minutes.")})
    with transaction.atomic():
        window = alarm_drills.schedule_test_window(
            by,
            school=school,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(minutes=minutes),
            reason=_("Joint drill with the police: %s") % EmergencyKind(kind).label,
        )
        drill = Drill.objects.create(
            school=school,
            kind=kind,
            is_evacuation=True,
            is_joint=True,
            held_at=starts_at,
            test_window=window,
            recorded_by=by,
        )
        audit.record("drill.schedule_joint", drill, user=by)
    return drill


def drill_period(school: School) -> str:
    periods = {
        **drill_rules.DEFAULT_PERIODS,
        **(getattr(settings, "LINKAGE_DRILL_PERIODS", {}) or {}),
    }
    return periods.get(school.kind, drill_rules.MONTH)


def current_term(day: dt.date) -> drill_rules.Term:
    """The calendar's term holding ``day`` (patrols' Term), else the default split."""
    from campus_safety.patrols.models import Term

    row = Term.objects.filter(starts_on__lte=day, ends_on__gte=day).order_by("-starts_on").first()
    if row is not None:
        return drill_rules.Term(row.name, row.starts_on, row.ends_on)
    return drill_rules.default_term(day)


def drill_compliance(schools, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Per school: its period rule, each period's status this term and the overall one
    (two queries: the schools and their evacuation drills in the term)."""
    today = today or timezone.localdate(clock.now())
    term = current_term(today)
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(term.starts_on, dt.time.min, zone)
    end = dt.datetime.combine(term.ends_on + dt.timedelta(days=1), dt.time.min, zone)
    school_list = list(schools.select_related("region").order_by("region__code", "code"))
    days: dict[int, list[dt.date]] = {}
    rows = Drill.objects.filter(
        school__in=[s.pk for s in school_list],
        is_evacuation=True,
        held_at__gte=start,
        held_at__lt=end,
    ).values_list("school_id", "held_at")
    for school_id, held_at in rows:
        days.setdefault(school_id, []).append(timezone.localdate(held_at))
    result = []
    for school in school_list:
        period = drill_period(school)
        periods = drill_rules.compliance(term, period, days.get(school.pk, []), today)
        result.append(
            {
                "school": school,
                "term": term,
                "period": period,
                "periods": periods,
                "status": drill_rules.overall(periods),
                "drills": len(days.get(school.pk, [])),
            }
        )
    return result


def compliance_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(
        (drill_rules.DONE, drill_rules.DUE, drill_rules.OVERDUE, drill_rules.UPCOMING), 0
    )
    for row in rows:
        counts[row["status"]] += 1
    return counts


# --- lectures --------------------------------------------------------------------------------


def record_lecture(
    by: Any, school: School, *, topic: str, held_on: dt.date, audience: int, lecturer: str = ""
) -> Lecture:
    """A safety lecture given by a police officer or legal counsellor."""
    _require(by, "safety_lectures")
    _require_school(by, school)
    if topic not in Lecture.Topic.values:
        raise ValidationError({"topic": _("Choose the topic.")})
    lecture = Lecture(
        school=school,
        officer=by if getattr(by, "role", "") in {"police_officer", "dispatcher"} else None,
        lecturer=(lecturer.strip() or str(by))[:64],
        held_on=held_on,
        topic=topic,
        audience=audience,
    )
    lecture.full_clean(exclude=["officer"])
    with transaction.atomic():
        lecture.save()
        audit.record("lecture.record", lecture, user=by)
    return lecture
