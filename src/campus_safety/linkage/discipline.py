"""训诫教育 records: recording, reading with a reason, follow-ups, sealing and the
two-person unseal.

Minors' records (《预防未成年人犯罪法》, PIPL Art. 28/31): purpose-bound, every read
audited with the reader's stated reason, sealed once the follow-up period is over
(``LINKAGE_DISCIPLINE_SEAL_DAYS``, default 365). A sealed record is out of every list;
a police user may search the sealed records of their own station with a reason, and
open one only after a second police user of the same station approved the request
(``LINKAGE_UNSEAL_HOURS`` of access, default 24).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.accounts.models import User
from campus_safety.accounts.roles import READ, WRITE, can
from campus_safety.audit import services as audit
from campus_safety.linkage.models import DisciplineRecord, FollowUp, PoliceRoom, UnsealRequest
from campus_safety.linkage.services import NotAllowed
from campus_safety.orgs.models import Organisation, School
from campus_safety.personal_data import keyed_hash
from campus_safety.scoping import is_police

MIN_REASON = 4


def seal_days() -> int:
    return int(getattr(settings, "LINKAGE_DISCIPLINE_SEAL_DAYS", 365))


def unseal_hours() -> float:
    return float(getattr(settings, "LINKAGE_UNSEAL_HOURS", 24))


def mask_name(name: str) -> str:
    """张小明 → 张**: enough for the people the record is for to tell rows apart."""
    name = name or ""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def _station_of(user: Any) -> Organisation | None:
    org = getattr(user, "organisation", None)
    if org is not None and org.kind == Organisation.Kind.POLICE_STATION:
        return org
    return None


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError(
            {"reason": _("State the purpose of this read (at least 4 characters).")}
        )
    return reason[:300]


def designated_contacts(school: School) -> QuerySet:
    """Who at the school may be named the record's contact: its administrators."""
    return User.objects.filter(school=school, role="school_admin", is_active=True)


def record_discipline(
    by: Any,
    *,
    school: School,
    student_name: str,
    class_name: str,
    age: int,
    level: str,
    behaviour: str,
    facts: str,
    occurred_on: dt.date,
    guardian: str,
    measures: Sequence[str],
    designated_contact: Any,
    follow_up_dates: Sequence[dt.date] = (),
    officers: Sequence[Any] = (),
) -> DisciplineRecord:
    """A police officer of the school's station (or its police room) records an
    intervention; the record belongs to that station."""
    if not can(by, WRITE, "discipline") or not is_police(by) or by.is_superuser:
        raise NotAllowed(_("Only police officers record discipline education."))
    station = _station_of(by)
    if station is None or school.police_station_id != station.pk:
        # An officer of the school's police room records for the school's station.
        in_room = PoliceRoom.objects.filter(school=school, officers=by).exists()
        if not in_room or school.police_station_id is None:
            raise NotAllowed(_("The school is not in your police station's area."))
        station = school.police_station
    errors: dict[str, str] = {}
    if not student_name.strip():
        errors["student_name"] = _("Give the student's name.")
    if level not in DisciplineRecord.Level.values:
        errors["level"] = _("Choose the level of behaviour.")
    if behaviour not in DisciplineRecord.Behaviour.values:
        errors["behaviour"] = _("Choose the behaviour.")
    if guardian not in DisciplineRecord.Guardian.values:
        errors["guardian"] = _("Say whether the guardian was present or informed.")
    measures = [m for m in measures if m]
    if not measures or any(m not in DisciplineRecord.Measure.values for m in measures):
        errors["measures"] = _("Choose at least one measure.")
    if not facts.strip():
        errors["facts"] = _("Describe the facts.")
    if designated_contact is None or designated_contact.school_id != school.pk:
        errors["designated_contact"] = _("Choose the school's designated contact.")
    today = timezone.localdate(clock.now())
    if occurred_on > today:
        errors["occurred_on"] = _("The date cannot be in the future.")
    if any(d < today for d in follow_up_dates):
        errors["follow_up_dates"] = _("A follow-up date cannot be in the past.")
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    with transaction.atomic():
        record = DisciplineRecord(
            reference=f"tmp-{secrets.token_hex(6)}",
            school=school,
            station=station,
            student_name=student_name.strip()[:32],
            class_name=class_name.strip()[:40],
            age=age,
            level=level,
            behaviour=behaviour,
            facts=facts.strip()[:2000],
            occurred_on=occurred_on,
            guardian=guardian,
            measures=sorted(set(measures)),
            designated_contact=designated_contact,
            created_by=by,
            created_at=now,
            follow_up_until=today + dt.timedelta(days=seal_days()),
        )
        record.full_clean(
            exclude=["reference", "created_by", "designated_contact", "station", "school"]
        )
        record.save()
        record.reference = f"XJ{timezone.localdate(now):%Y}{record.pk:06d}"
        record.save(update_fields=["reference"])
        record.officers.set({by, *officers})
        FollowUp.objects.bulk_create(
            FollowUp(record=record, due_on=d) for d in sorted(set(follow_up_dates))
        )
        audit.record("discipline.create", record, user=by, object_repr=record.reference)
    return record


def readable_or_404(user: Any, pk: int) -> DisciplineRecord:
    """The record if ``user`` is one of its readers (or it is sealed and unsealed for
    them now); otherwise it does not exist. The one test every way in asks first."""
    from django.http import Http404

    record = (
        DisciplineRecord.objects.visible_to(user).filter(pk=pk).first()
        or DisciplineRecord.objects.unsealed_for(user, clock.now()).filter(pk=pk).first()
    )
    if record is None:
        raise Http404
    return record


def read_record(user: Any, pk: int, reason: str) -> DisciplineRecord:
    """The record for its reader, the read audited with the reason; a record outside
    the user's reach (or sealed and not unsealed for them) does not exist."""
    reason = _reason(reason)
    record = readable_or_404(user, pk)
    audit.record(
        "discipline.read",
        record,
        user=user,
        object_repr=record.reference,
        detail={"reason": reason, "sealed": record.is_sealed},
    )
    return record


def audit_list(user: Any, count: int, purpose: str = "list") -> None:
    """A list shows masked names only; it is still a read of minors' records."""
    audit.record("discipline.list", None, user=user, detail={"purpose": purpose, "rows": count})


def record_follow_up(by: Any, follow_up: FollowUp, outcome: str) -> FollowUp:
    """An officer of the record (station or room) notes a follow-up visit's outcome."""
    if not can(by, WRITE, "discipline") or not is_police(by):
        raise NotAllowed(_("Only police officers record follow-ups."))
    if not DisciplineRecord.objects.visible_to(by).filter(pk=follow_up.record_id).exists():
        raise NotAllowed(_("This record is not yours to follow up."))
    if not outcome.strip():
        raise ValidationError({"outcome": _("Say what came of the visit.")})
    with transaction.atomic():
        follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        follow_up.outcome, follow_up.done_at, follow_up.done_by = (
            outcome.strip()[:500],
            clock.now(),
            by,
        )
        follow_up.save(update_fields=["outcome", "done_at", "done_by"])
        audit.record(
            "discipline.follow_up",
            follow_up.record,
            user=by,
            object_repr=follow_up.record.reference,
        )
    return follow_up


def add_follow_up(by: Any, record: DisciplineRecord, due_on: dt.date) -> FollowUp:
    if not can(by, WRITE, "discipline") or not is_police(by):
        raise NotAllowed(_("Only police officers plan follow-ups."))
    if due_on < timezone.localdate(clock.now()):
        raise ValidationError({"due_on": _("A follow-up date cannot be in the past.")})
    follow_up = FollowUp.objects.create(record=record, due_on=due_on)
    audit.record("discipline.plan_follow_up", record, user=by, object_repr=record.reference)
    return follow_up


def seal_due(now: dt.datetime | None = None) -> int:
    """Seal every record whose follow-up period is over (the periodic task)."""
    now = now or clock.now()
    today = timezone.localdate(now)
    due = DisciplineRecord.objects.filter(sealed_at__isnull=True, follow_up_until__lt=today)
    pks = list(due.values_list("pk", flat=True))
    if pks:
        with transaction.atomic():
            DisciplineRecord.objects.filter(pk__in=pks).update(sealed_at=now)
            audit.record("discipline.seal", None, user=None, detail={"records": len(pks)})
    return len(pks)


def search_sealed(
    user: Any, *, student_name: str = "", reference: str = "", reason: str
) -> list[DisciplineRecord]:
    """Sealed records of the user's station matching a name (by keyed hash, exact) or a
    reference: police only, with a reason, audited; the answer names references only."""
    if not is_police(user) or not can(user, READ, "discipline") or user.is_superuser:
        raise NotAllowed(_("Only police search sealed records."))
    reason = _reason(reason)
    station = _station_of(user)
    if station is None:
        raise NotAllowed(_("Only officers of a police station search its sealed records."))
    if not student_name.strip() and not reference.strip():
        raise ValidationError({"student_name": _("Give a name or a reference.")})
    found = DisciplineRecord.objects.filter(sealed_at__isnull=False, station=station)
    if reference.strip():
        found = found.filter(reference=reference.strip().upper())
    if student_name.strip():
        found = found.filter(student_name_hash=keyed_hash(student_name.strip()))
    rows = list(found.order_by("-created_at")[:20])
    audit.record(
        "discipline.search_sealed",
        None,
        user=user,
        detail={"reason": reason, "found": [r.reference for r in rows]},
    )
    return rows


def request_unseal(user: Any, record: DisciplineRecord, reason: str) -> UnsealRequest:
    """Ask to open a sealed record of one's own station, saying why."""
    if not is_police(user) or user.is_superuser or _station_of(user) is None:
        raise NotAllowed(_("Only police officers ask to open a sealed record."))
    record = DisciplineRecord.objects.get(pk=record.pk)  # sealed by now? ask the database
    if record.station_id != _station_of(user).pk or not record.is_sealed:
        raise NotAllowed(_("This record is not a sealed record of your station."))
    request = UnsealRequest.objects.create(
        record=record, requested_by=user, reason=_reason(reason), requested_at=clock.now()
    )
    audit.record(
        "discipline.unseal_request",
        record,
        user=user,
        object_repr=record.reference,
        detail={"reason": request.reason},
    )
    return request


def approve_unseal(approver: Any, request: UnsealRequest) -> UnsealRequest:
    """The second person: another police officer of the same station."""
    station = _station_of(approver)
    if not is_police(approver) or approver.is_superuser or station is None:
        raise NotAllowed(_("Only a police officer of the station approves."))
    if not can(approver, WRITE, "discipline"):
        raise NotAllowed(_("Your role does not allow this."))
    with transaction.atomic():
        request = (
            UnsealRequest.objects.select_for_update().select_related("record").get(pk=request.pk)
        )
        if request.record.station_id != station.pk:
            raise NotAllowed(_("This record is not a sealed record of your station."))
        if request.requested_by_id == approver.pk:
            raise NotAllowed(_("A second person must approve; you asked for it."))
        if request.approved_at is not None:
            raise ValidationError(_("This request was approved already."))
        now = clock.now()
        request.approved_by, request.approved_at = approver, now
        request.expires_at = now + dt.timedelta(hours=unseal_hours())
        request.save(update_fields=["approved_by", "approved_at", "expires_at"])
        audit.record(
            "discipline.unseal_approve",
            request.record,
            user=approver,
            object_repr=request.record.reference,
        )
    return request


def pending_unseals(user: Any) -> QuerySet:
    """Requests another officer of the user's station waits for the user to approve."""
    station = _station_of(user)
    if station is None or not is_police(user):
        return UnsealRequest.objects.none()
    return (
        UnsealRequest.objects.filter(record__station=station, approved_at__isnull=True)
        .exclude(requested_by=user)
        .select_related("record", "requested_by")
    )


def statistics(records: QuerySet) -> dict[str, Any]:
    """Counts by behaviour, level, district and term: no names, sealed records included."""
    records = records.order_by()
    by_behaviour = {
        row["behaviour"]: row["n"] for row in records.values("behaviour").annotate(n=Count("pk"))
    }
    by_level = {row["level"]: row["n"] for row in records.values("level").annotate(n=Count("pk"))}
    by_district = {
        row["school__region__name"]: row["n"]
        for row in records.values("school__region__name").annotate(n=Count("pk"))
    }
    by_term: dict[str, int] = {}
    from campus_safety.linkage.drill_rules import default_term

    for occurred in records.values_list("occurred_on", flat=True):
        name = default_term(occurred).name
        by_term[name] = by_term.get(name, 0) + 1
    return {
        "total": sum(by_behaviour.values()),
        "by_behaviour": [
            (DisciplineRecord.Behaviour(k).label, v) for k, v in sorted(by_behaviour.items())
        ],
        "by_level": [(DisciplineRecord.Level(k).label, v) for k, v in sorted(by_level.items())],
        "by_district": sorted(by_district.items()),
        "by_term": sorted(by_term.items()),
    }


def statistics_scope(user: Any) -> QuerySet:
    """The records a statistics reader counts: the usual scope of a police user (the
    station, a region), names never shown; nobody else."""
    if not is_police(user) or not can(user, READ, "discipline"):
        return DisciplineRecord.objects.none()
    from campus_safety.scoping import scope_q

    q = scope_q(user, DisciplineRecord.scope_paths)
    return DisciplineRecord.objects.all() if q is None else DisciplineRecord.objects.filter(q)


def open_follow_ups(records: QuerySet) -> int:
    """Follow-ups not yet done of unsealed records (the summary's figure)."""
    return FollowUp.objects.filter(
        record__in=records.filter(sealed_at__isnull=True).values("pk"), done_at__isnull=True
    ).count()
