"""The gate's operations — the only writers of gate records. Each owns its transaction,
audits, and announces after commit.

A check-in or a pick-up by someone other than a guardian is matched against the police
watch-list inside the same transaction. A hit never tells the gate why: the guard's
answer is the neutral "please wait, needs verification", while a police-only alarm
case opens through the alarm path every device alarm takes (``ingest_alarms``), so the
station's and the command centre's consoles show it, latched and escalated.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.timezone import get_current_timezone, localtime
from django.utils.translation import gettext as _

from campus_safety import bus, clock, personal_data, raw_sql
from campus_safety.accounts.roles import WRITE, can
from campus_safety.alarms.services import AlarmInput, ingest_alarms
from campus_safety.audit.services import record
from campus_safety.devices.models import Device
from campus_safety.gate import validators
from campus_safety.gate.models import (
    DocumentKind,
    GuardianLink,
    Pickup,
    PickupCode,
    PickupNotification,
    PickupPerson,
    Student,
    Vehicle,
    VehiclePassage,
    Visit,
    VisitInvitation,
    WatchlistEntry,
    WatchlistHit,
    mask_name,
)
from campus_safety.messaging import services as messaging
from campus_safety.messaging.models import OutboundMessage
from campus_safety.orgs.models import Organisation, School

HOLD_MESSAGE = "请稍候，需核验"  # what the gate sees on a hit; never more


class GateError(ValueError):
    """Bad input or a step that is not possible; the message says why (a 4xx)."""


class NotAllowed(GateError):
    """The user's role may not take this step (403)."""


@dataclass(frozen=True)
class Match:
    entry: WatchlistEntry
    strength: str


def start_of_day(now: dt.datetime) -> dt.datetime:
    """Midnight of ``now``'s day in the platform's time zone (Asia/Shanghai)."""
    return localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


# --- watch-list matching -----------------------------------------------------------------


def active_entries(at: dt.datetime) -> Any:
    """Entries in force at ``at`` (started, not yet over, not ended by the police)."""
    return WatchlistEntry.objects.filter(
        ended_at__isnull=True, valid_from__lte=at, valid_until__gt=at
    )


def match_person(
    *,
    document_hash: str,
    name_hash: str,
    birth_date: dt.date | None,
    at: dt.datetime,
    plate: str = "",
) -> Match | None:
    """The watch-list entry this person (or their vehicle) matches: the same document
    number (exact) before the same name and birth date (weaker) before the plate.

    One statement through a cursor, not two or three ORM queries: this runs on every
    check-in, and each ORM query costs more Python than the database takes to answer
    it (raw_sql.py). Each branch of the OR has its own index (document hash; name hash
    with birth date; plate), so SQLite answers with a multi-index OR and PostgreSQL
    with a bitmap OR, whatever the size of the list. The entry itself is loaded only
    on a match."""
    terms: list[tuple[str, list[Any], str]] = []
    col = functools.partial(raw_sql.column, WatchlistEntry)
    if document_hash:
        terms.append((f"{col('document_hash')} = %s", [document_hash], "exact"))
    if name_hash and birth_date is not None:
        born = connection.ops.adapt_datefield_value(birth_date)
        terms.append(
            (f"({col('name_hash')} = %s AND {col('birth_date')} = %s)", [name_hash, born], "weak")
        )
    if plate:
        terms.append((f"{col('plate')} = %s", [plate], "plate"))
    if not terms:
        return None
    rank = " ".join(f"WHEN {sql} THEN {n}" for n, (sql, _p, _s) in enumerate(terms))
    moment = raw_sql.moment(at)
    found = raw_sql.rows(  # identifiers from the model, values as parameters
        f"SELECT {col('id')}, CASE {rank} END AS strength"  # noqa: S608
        f" FROM {raw_sql.table(WatchlistEntry)}"
        f" WHERE {col('ended_at')} IS NULL AND {col('valid_from')} <= %s"
        f" AND {col('valid_until')} > %s AND ({' OR '.join(sql for sql, _p, _s in terms)})"
        f" ORDER BY strength, {col('id')} LIMIT 1",
        [
            *(p for _sql, params, _s in terms for p in params),
            moment,
            moment,
            *(p for _sql, params, _s in terms for p in params),
        ],
    )
    if not found:
        return None
    pk, strength = found[0]
    return Match(WatchlistEntry.objects.get(pk=pk), terms[int(strength)][2])


def match_plate(plate: str, at: dt.datetime) -> Match | None:
    """The watch-list entry for this vehicle plate (ANPR and guard-typed passages)."""
    return match_person(document_hash="", name_hash="", birth_date=None, at=at, plate=plate)


def gate_device(school: School) -> Device:
    """The school's gate register as an alarm source (alarm cases name a device): an
    access-controller entry (GB/T 28181 type 139) made once per school."""
    centre = (school.region.code + "00000000")[:8] if school.region_id else "00000000"
    device_id = f"{centre}111397{900000 + school.pk % 100000:06d}"
    device, _created = Device.objects.get_or_create(
        device_id=device_id,
        defaults={
            "name": "门岗登记终端",
            "kind": Device.Kind.ACCESS_CONTROLLER,
            "protocol": Device.Protocol.HTTP,
            "school": school,
            "key_area": "gate_room",
        },
    )
    return device


def _raise_hit(
    school: School,
    match: Match,
    source: str,
    *,
    visit: Visit | None = None,
    pickup: Pickup | None = None,
    plate: str = "",
    by: Any = None,
) -> WatchlistHit:
    """Store the hit and open its police-only alarm case (inside the caller's
    transaction: both or neither)."""
    now = clock.now()
    hit = WatchlistHit(
        school=school,
        entry=match.entry,
        strength=match.strength,
        source=source,
        visit=visit,
        pickup=pickup,
        at=now,
    )
    hit._audit_named = True  # gate.watchlist_hit below, with the case it opened
    hit.save()
    device = gate_device(school)
    with translation.override(settings.LANGUAGE_CODE):
        reason = str(WatchlistEntry.Reason(match.entry.reason).label)
        strength = str(WatchlistHit.Strength(match.strength).label)
        description = _("Watch-list hit at the gate of %(school)s: %(reason)s (%(match)s)") % {
            "school": school.name,
            "reason": reason,
            "match": strength,
        }
    ((event_pk, _created),) = ingest_alarms(
        [
            AlarmInput(
                device_pk=device.pk,
                device_id=device.device_id,
                school_id=school.pk,
                event_id=f"watchlist-hit-{hit.pk}",
                occurred_at=now,
                received_at=now,
                protocol=Device.Protocol.HTTP,
                priority=1,
                method=7,  # GB/T 28181 AlarmMethod "other"
                alarm_type="watchlist",
                description=description[:255],
                police_only=True,
                device_kind=device.kind,
                key_area=device.key_area,
                payload={
                    "gate_hit_id": hit.pk,
                    "reason": match.entry.reason,
                    "match": match.strength,
                    "source": source,
                    "visit_id": visit.pk if visit else None,
                    "pickup_id": pickup.pk if pickup else None,
                    "plate": plate,
                    "has_photo": bool(visit and visit.photo),
                    "station_id": match.entry.station_id,
                },
            )
        ]
    )
    from campus_safety.alarms.models import AlarmEvent

    hit.alarm_case_id = AlarmEvent.objects.filter(pk=event_pk).values_list("case_id", flat=True)[0]
    WatchlistHit.objects.filter(pk=hit.pk).update(alarm_case_id=hit.alarm_case_id)
    record(
        "gate.watchlist_hit",
        hit,
        user=by,
        detail={
            "school_id": school.pk,
            "entry_id": match.entry.pk,
            "match": match.strength,
            "source": source,
            "visit_id": visit.pk if visit else None,
            "pickup_id": pickup.pk if pickup else None,
            "alarm_case_id": hit.alarm_case_id,
        },
    )
    bus.publish_on_commit(
        "gate.watchlist_hit",
        hit_id=hit.pk,
        school_id=school.pk,
        case_id=hit.alarm_case_id,
        police_only=True,
    )
    return hit


# --- visitors ----------------------------------------------------------------------------


def _photo_token(photo: Any) -> str:
    if photo is None:
        return ""
    from campus_safety.hazards.uploads import PhotoRejected, check_photo

    try:
        checked = check_photo(photo, strip_location=True)
    except PhotoRejected as exc:
        raise GateError(str(exc)) from None
    data = checked.content.read()
    if len(data) > photo_max_bytes():
        raise GateError(_("The photo is larger than the gate accepts."))
    return personal_data.encrypt(f"{checked.content_type};" + base64.b64encode(data).decode())


def photo_max_bytes() -> int:
    return int(getattr(settings, "GATE_PHOTO_MAX_BYTES", 3 * 1024 * 1024))


def photo_bytes(token: str) -> tuple[str, bytes] | None:
    """(content type, bytes) of a stored photo; None when there is none."""
    if not token:
        return None
    content_type, _sep, data = personal_data.decrypt(token).partition(";")
    return content_type, base64.b64decode(data)


def clean_document(kind: str, number: str) -> tuple[str, dt.date | None]:
    """The normalised number and, for a resident ID, the birth date it carries."""
    if kind not in DocumentKind.values:
        raise GateError(_("Unknown document kind."))
    number = personal_data.normalise(number)
    if not number:
        raise GateError(_("The document number is required."))
    if len(number) > 32:
        raise GateError(_("The document number is too long."))
    if kind == DocumentKind.ID_CARD:
        try:
            number = validators.validate_id_number(number)
        except ValidationError as exc:
            raise GateError(exc.messages[0]) from None
        return number, validators.birth_date_from_id(number)
    return number, None


def clean_plate(plate: str) -> str:
    if not plate:
        return ""
    try:
        return validators.validate_plate(plate)
    except ValidationError as exc:
        raise GateError(exc.messages[0]) from None


def _require(user: Any, resource: str) -> None:
    if user is not None and not can(user, WRITE, resource):
        raise NotAllowed(_("Your role does not allow this step."))


@dataclass(frozen=True)
class CheckIn:
    visit: Visit
    held: bool

    @property
    def message(self) -> str:
        return HOLD_MESSAGE if self.held else _("Checked in. Print the badge.")


def check_in(
    school: School,
    *,
    by: Any,
    document_kind: str,
    document_number: str,
    name: str,
    purpose: str,
    host: str,
    phone: str = "",
    company: str = "",
    party_size: int = 1,
    expected_minutes: int = 60,
    vehicle_plate: str = "",
    birth_date: dt.date | None = None,
    is_contractor: bool = False,
    photo: Any = None,
    invitation: VisitInvitation | None = None,
) -> CheckIn:
    """Register a visitor at the gate. Invalid input raises GateError before anything is
    stored; a watch-list match holds the visit (neutral message) and opens a police-only
    alarm case in the same transaction."""
    _require(by, "visitors")
    number, id_birth = clean_document(document_kind, document_number)
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise GateError(_("The visitor's name is required (at most 64 characters)."))
    if not (purpose or "").strip() or not (host or "").strip():
        raise GateError(_("Purpose and host are required."))
    if not 1 <= int(party_size) <= 50:
        raise GateError(_("Party size must be between 1 and 50."))
    if not 5 <= int(expected_minutes) <= 24 * 60:
        raise GateError(_("Expected duration must be between 5 minutes and a day."))
    plate = clean_plate(vehicle_plate)
    phone = personal_data.normalise(phone)
    if len(phone) > 20:
        raise GateError(_("The phone number is too long."))
    photo_token = _photo_token(photo)
    now = clock.now()
    born = id_birth or birth_date
    document_hash = personal_data.keyed_hash(number)
    with transaction.atomic():
        match = match_person(
            document_hash=document_hash,
            name_hash=personal_data.keyed_hash(name),
            birth_date=born,
            at=now,
            plate=plate,
        )
        visit = Visit(
            school=school,
            state=Visit.State.HELD if match is not None else Visit.State.ON_CAMPUS,
            document_kind=document_kind,
            document_number=number,
            name=name,
            birth_date=born,
            phone=phone,
            company=(company or "")[:128],
            purpose=purpose.strip()[:200],
            host=host.strip()[:64],
            party_size=int(party_size),
            expected_minutes=int(expected_minutes),
            vehicle_plate=plate,
            photo=photo_token,
            is_contractor=is_contractor,
            invitation=invitation,
            checked_in_at=now,
            checked_in_by=by if getattr(by, "pk", None) else None,
            due_at=now + dt.timedelta(minutes=int(expected_minutes)),
        )
        visit._audit_named = True  # gate.check_in below says it, with the guard
        visit.save()
        if match is not None:
            source = WatchlistHit.Source.VISIT
            _raise_hit(school, match, source, visit=visit, plate=plate, by=by)
        if plate:
            VehiclePassage.objects.create(
                school=school,
                plate=plate,
                direction=VehiclePassage.Direction.IN,
                at=now,
                visit=visit,
                vehicle=Vehicle.objects.filter(school=school, plate=plate).first(),
            )
        record(
            "gate.check_in",
            visit,
            user=by,
            detail={
                "school_id": school.pk,
                "invitation_id": invitation.pk if invitation else None,
                "party_size": visit.party_size,
                "contractor": is_contractor,
            },
        )
        bus.publish_on_commit(
            "gate.visit_checked_in", visit_id=visit.pk, school_id=school.pk, state=visit.state
        )
    return CheckIn(visit, match is not None)


def repeat_visits(visit: Visit) -> int:
    """Earlier visits to the same school with the same document (by its keyed hash)."""
    if not visit.document_hash:
        return 0
    return (
        Visit.objects.filter(school_id=visit.school_id, document_hash=visit.document_hash)
        .exclude(pk=visit.pk)
        .count()
    )


def check_out(visit: Visit, *, by: Any) -> Visit:
    _require(by, "visitors")
    with transaction.atomic():
        visit = Visit.objects.select_for_update().get(pk=visit.pk)
        if visit.state not in (Visit.State.ON_CAMPUS, Visit.State.HELD):
            raise GateError(_("This visitor has already left."))
        visit.state = Visit.State.LEFT
        visit.checked_out_at = clock.now()
        visit.checked_out_by = by if getattr(by, "pk", None) else None
        visit._audit_named = True  # gate.check_out below
        visit.save(update_fields=["state", "checked_out_at", "checked_out_by"])
        if visit.vehicle_plate:
            VehiclePassage.objects.create(
                school_id=visit.school_id,
                plate=visit.vehicle_plate,
                direction=VehiclePassage.Direction.OUT,
                at=visit.checked_out_at,
                visit=visit,
            )
        record("gate.check_out", visit, user=by, detail={"school_id": visit.school_id})
        bus.publish_on_commit(
            "gate.visit_checked_out", visit_id=visit.pk, school_id=visit.school_id
        )
    return visit


def closing_time() -> dt.time:
    hours, minutes = str(getattr(settings, "GATE_CLOSING_TIME", "18:00")).split(":")
    return dt.time(int(hours), int(minutes))


def overstays(visits: Any, now: dt.datetime | None = None) -> Any:
    """Visitors still inside past their expected duration or the school's closing time."""
    now = now or clock.now()
    at = closing_time()
    closing = localtime(now).replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    inside = visits.filter(state__in=[Visit.State.ON_CAMPUS, Visit.State.HELD])
    if now >= closing:
        return inside
    return inside.filter(due_at__lt=now)


def alert_overstays(now: dt.datetime | None = None) -> int:
    """Tell each gate once about each visitor who outstayed (periodic task)."""
    now = now or clock.now()
    due = list(
        overstays(Visit.objects.filter(overstay_alerted_at__isnull=True), now).values_list(
            "pk", "school_id"
        )
    )
    if not due:
        return 0
    with transaction.atomic():
        Visit.objects.filter(pk__in=[pk for pk, _s in due]).update(overstay_alerted_at=now)
        bus.publish_many_on_commit(
            [("gate.overstay", {"visit_id": pk, "school_id": school}) for pk, school in due]
        )
    return len(due)


# --- invitations -------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def create_invitation(
    school: School,
    *,
    by: Any,
    name: str,
    purpose: str,
    host: str,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    document_kind: str = DocumentKind.ID_CARD,
    document_number: str = "",
    phone: str = "",
    company: str = "",
    party_size: int = 1,
    expected_minutes: int = 60,
    vehicle_plate: str = "",
) -> tuple[VisitInvitation, str]:
    """Pre-register a visitor; returns the invitation and its one-time token (shown once
    as a QR code, stored only as a hash)."""
    _require(by, "visitors")
    number = ""
    if document_number:
        number, _born = clean_document(document_kind, document_number)
    if valid_until <= valid_from:
        raise GateError(_("The invitation must end after it starts."))
    if valid_until - valid_from > dt.timedelta(days=31):
        raise GateError(_("An invitation is valid for at most 31 days."))
    if not (name or "").strip() or not (purpose or "").strip() or not (host or "").strip():
        raise GateError(_("Name, purpose and host are required."))
    token = secrets.token_urlsafe(18)
    with transaction.atomic():
        invitation = VisitInvitation.objects.create(
            school=school,
            host=host.strip()[:64],
            name=name.strip()[:64],
            document_kind=document_kind,
            document_number=number,
            phone=personal_data.normalise(phone)[:20],
            company=(company or "")[:128],
            purpose=purpose.strip()[:200],
            party_size=party_size,
            expected_minutes=expected_minutes,
            vehicle_plate=clean_plate(vehicle_plate),
            valid_from=valid_from,
            valid_until=valid_until,
            token_hash=_token_hash(token),
            created_at=clock.now(),
            created_by=by if getattr(by, "pk", None) else None,
        )
    return invitation, token


def invitation_for(token: str, school: School) -> VisitInvitation:
    """The invitation a scanned code names at this school, or GateError saying why not."""
    if not token or len(token) > 64:
        raise GateError(_("This QR code is not an invitation of this school."))
    invitation = VisitInvitation.objects.filter(
        token_hash=_token_hash(token), school=school
    ).first()
    if invitation is None:
        raise GateError(_("This QR code is not an invitation of this school."))
    return invitation


def check_in_invited(
    token: str,
    school: School,
    *,
    by: Any,
    document_number: str = "",
    photo: Any = None,
) -> CheckIn:
    """The guard scanned an invitation: check it is valid now and unused, then check in
    with the host's data (the guard only confirms; an ID read at the gate may complete
    a number the host left out)."""
    invitation = invitation_for(token, school)
    now = clock.now()
    with transaction.atomic():
        invitation = VisitInvitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.used_at is not None:
            raise GateError(_("This invitation has already been used."))
        if now < invitation.valid_from:
            raise GateError(_("This invitation is not valid yet."))
        if now >= invitation.valid_until:
            raise GateError(_("This invitation has expired."))
        number = invitation.document_number or document_number
        result = check_in(
            school,
            by=by,
            document_kind=invitation.document_kind,
            document_number=number,
            name=invitation.name,
            purpose=invitation.purpose,
            host=invitation.host,
            phone=invitation.phone,
            company=invitation.company,
            party_size=invitation.party_size,
            expected_minutes=invitation.expected_minutes,
            vehicle_plate=invitation.vehicle_plate,
            photo=photo,
            invitation=invitation,
        )
        invitation.used_at = now
        invitation.save(update_fields=["used_at"])
    return result


# --- vehicles ----------------------------------------------------------------------------


def save_vehicle(
    school: School, *, by: Any, plate: str, kind: str, owner: str = "", driver: str = ""
) -> Vehicle:
    _require(by, "visitors")
    plate = clean_plate(plate)
    if not plate:
        raise GateError(_("The plate is required."))
    if kind not in Vehicle.Kind.values:
        raise GateError(_("Unknown vehicle kind."))
    with transaction.atomic():
        vehicle, _created = Vehicle.objects.update_or_create(
            school=school,
            plate=plate,
            defaults={"kind": kind, "owner": owner[:64], "driver": driver[:64], "is_active": True},
        )
    return vehicle


def record_passage(
    school: School,
    *,
    plate: str,
    direction: str,
    by: Any = None,
    source: str = VehiclePassage.Source.GUARD,
    at: dt.datetime | None = None,
    event_id: str = "",
) -> tuple[VehiclePassage, bool]:
    """A vehicle through the gate (a guard's entry or an ANPR read); returns the passage
    and whether it matched the watch-list (the gate is not told)."""
    if source == VehiclePassage.Source.GUARD:
        _require(by, "visitors")
    plate = clean_plate(plate)
    if not plate:
        raise GateError(_("The plate is required."))
    if direction not in VehiclePassage.Direction.values:
        raise GateError(_("Direction is entry or exit."))
    at = at or clock.now()
    with transaction.atomic():
        if event_id:
            stored = VehiclePassage.objects.filter(school=school, event_id=event_id).first()
            if stored is not None:
                return stored, False
        passage = VehiclePassage.objects.create(
            school=school,
            plate=plate,
            direction=direction,
            at=at,
            source=source,
            vehicle=Vehicle.objects.filter(school=school, plate=plate, is_active=True).first(),
            event_id=event_id[:64],
        )
        match = match_plate(plate, at) if direction == VehiclePassage.Direction.IN else None
        if match is not None:
            _raise_hit(school, match, WatchlistHit.Source.VEHICLE, plate=plate, by=by)
        elif (
            source == VehiclePassage.Source.CAMERA
            and direction == VehiclePassage.Direction.IN
            and passage.vehicle_id is None
        ):
            _check_loitering(school, plate, at)
        bus.publish_on_commit(
            "gate.vehicle_passed",
            passage_id=passage.pk,
            school_id=school.pk,
            direction=direction,
            known=passage.vehicle_id is not None,
        )
    return passage, match is not None


def loiter_rule() -> tuple[int, int]:
    """(reads, minutes): an unknown plate read this often within this many minutes,
    without an exit between, is loitering (``GATE_LOITER_READS``/``_MINUTES``)."""
    return (
        max(2, int(getattr(settings, "GATE_LOITER_READS", 3))),
        max(1, int(getattr(settings, "GATE_LOITER_MINUTES", 10))),
    )


def peak_windows(school: School, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The school's peak windows of ``day``, in order: its timetable's arrival and
    dismissal windows (the 护学岗 windows, patrols.post_rules.Timetable) and the gate's
    release windows, overlapping ones joined; none on a day without school."""
    from campus_safety.patrols.peak_posts import timetables
    from campus_safety.patrols.post_rules import Timetable, is_school_day
    from campus_safety.patrols.services import holiday_calendar

    if not is_school_day(day, holiday_calendar(day, day)):
        return []
    timetable = timetables([school.pk]).get(school.pk) or Timetable.default()
    spans = sorted(timetable.windows(day).values())
    zone = get_current_timezone()
    spans += [
        (dt.datetime.combine(day, start, zone), dt.datetime.combine(day, end, zone))
        for start, end in release_windows()
    ]
    joined: list[list[dt.datetime]] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end])
    return [(start, end) for start, end in joined]


def peak_window(school: School, at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The school's peak window ``at`` falls in (``peak_windows``), or None."""
    for start, end in peak_windows(school, localtime(at).date()):
        if start <= at < end:
            return start, end
    return None


def loiter_event_id(plate: str, window_start: dt.datetime) -> str:
    """The loitering alarm's event id: the plate and the window (one alarm per window)."""
    return f"loiter-{plate}-{localtime(window_start):%Y%m%d%H%M}"


def _known_plate(school: School, plate: str, at: dt.datetime) -> bool:
    """On the school's own list, or the vehicle of an open visit or of an invitation
    valid now (the visitor waits at the gate before the guard confirms)."""
    return (
        Vehicle.objects.filter(school=school, plate=plate, is_active=True).exists()
        or Visit.objects.filter(
            school=school,
            vehicle_plate=plate,
            state__in=[Visit.State.ON_CAMPUS, Visit.State.HELD],
        ).exists()
        or VisitInvitation.objects.filter(
            school=school,
            vehicle_plate=plate,
            used_at__isnull=True,
            valid_from__lte=at,
            valid_until__gte=at,
        ).exists()
    )


def _check_loitering(school: School, plate: str, at: dt.datetime) -> int | None:
    """An unknown vehicle read again and again at the gate in a peak window opens a
    normal (not police-only) alarm case of the school through the alarm path: the
    school and its police see it, latched and escalated. The event id names the plate
    and the window, so one plate raises one alarm per school per window. Runs in
    ``record_passage``'s transaction; returns the case id when it raised one."""
    window = peak_window(school, at)
    if window is None:
        return None
    reads, minutes = loiter_rule()
    since = at - dt.timedelta(minutes=minutes)
    last_exit = (
        VehiclePassage.objects.filter(
            school=school, plate=plate, direction=VehiclePassage.Direction.OUT, at__lte=at
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last_exit is not None and last_exit > since:
        since = last_exit
    count = VehiclePassage.objects.filter(
        school=school,
        plate=plate,
        direction=VehiclePassage.Direction.IN,
        at__gt=since,
        at__lte=at,
    ).count()
    if count < reads or _known_plate(school, plate, at):
        return None
    from campus_safety.alarms.models import AlarmEvent

    device = gate_device(school)
    event_id = loiter_event_id(plate, window[0])
    if AlarmEvent.objects.filter(device=device, event_id=event_id).exists():
        return None  # raised already in this window (open, or closed since)
    with translation.override(settings.LANGUAGE_CODE):
        description = _(
            "Unknown vehicle %(plate)s stays at the gate of %(school)s: "
            "read %(reads)d times in %(minutes)d minutes at peak time"
        ) % {"plate": plate, "school": school.name, "reads": count, "minutes": minutes}
    ((event_pk, created),) = ingest_alarms(
        [
            AlarmInput(
                device_pk=device.pk,
                device_id=device.device_id,
                school_id=school.pk,
                event_id=event_id,
                occurred_at=at,
                received_at=clock.now(),
                protocol=Device.Protocol.HTTP,
                priority=2,
                method=5,  # GB/T 28181 AlarmMethod "video" (the ANPR camera's reads)
                alarm_type="vehicle_loiter",
                description=description[:255],
                police_only=False,
                device_kind=device.kind,
                key_area=device.key_area,
                payload={
                    "plate": plate,
                    "reads": count,
                    "minutes": minutes,
                    "window": [window[0].isoformat(), window[1].isoformat()],
                },
            )
        ]
    )
    if not created:
        return None
    return AlarmEvent.objects.filter(pk=event_pk).values_list("case_id", flat=True)[0]


def vehicles_inside(school_id: int, since: dt.datetime) -> list[str]:
    """Plates whose last passage since ``since`` was an entry (roll call)."""
    last: dict[str, str] = {}
    for plate, direction in (
        VehiclePassage.objects.filter(school_id=school_id, at__gte=since)
        .order_by("at", "id")
        .values_list("plate", "direction")
    ):
        last[plate] = direction
    return sorted(p for p, d in last.items() if d == VehiclePassage.Direction.IN)


def on_campus(school: School, now: dt.datetime | None = None) -> dict[str, Any]:
    """Who is on campus now (visitors, contractors, vehicles) — the emergency roll call."""
    now = now or clock.now()
    start = start_of_day(now)
    visits = list(
        Visit.objects.filter(
            school=school, state__in=[Visit.State.ON_CAMPUS, Visit.State.HELD]
        ).order_by("checked_in_at")
    )
    return {
        "visitors": [v for v in visits if not v.is_contractor],
        "contractors": [v for v in visits if v.is_contractor],
        "people": sum(v.party_size for v in visits),
        "vehicles": vehicles_inside(school.pk, start),
    }


# --- students and pick-up ----------------------------------------------------------------


def save_student(
    school: School,
    *,
    by: Any,
    student_number: str,
    name: str,
    class_name: str,
    class_teacher: str = "",
    teacher_phone: str = "",
) -> Student:
    _require(by, "students")
    if not student_number.strip() or not name.strip() or not class_name.strip():
        raise GateError(_("Student number, name and class are required."))
    with transaction.atomic():
        student, _created = Student.objects.update_or_create(
            school=school,
            student_number=student_number.strip()[:32],
            defaults={
                "name": name.strip()[:64],
                "class_name": class_name.strip()[:32],
                "class_teacher": class_teacher.strip()[:64],
                "teacher_phone": personal_data.normalise(teacher_phone)[:20],
                "is_active": True,
            },
        )
    return student


def add_pickup_person(
    student: Student,
    *,
    by: Any,
    name: str,
    relation: str,
    phone: str = "",
    document_number: str = "",
    card_code: str = "",
    approved: bool = True,
    photo: Any = None,
) -> PickupPerson:
    """An authorised pick-up person; a guardian's own addition (through a link) waits
    for the school's approval (``approved=False``)."""
    if by is not None:
        _require(by, "students")
    if relation not in PickupPerson.Relation.values:
        raise GateError(_("Unknown relation."))
    if not name.strip():
        raise GateError(_("The name is required."))
    number, born = (
        clean_document(DocumentKind.ID_CARD, document_number) if document_number else ("", None)
    )
    photo_token = _photo_token(photo)
    with transaction.atomic():
        person = PickupPerson.objects.create(
            student=student,
            name=name.strip()[:64],
            relation=relation,
            phone=personal_data.normalise(phone)[:20],
            document_number=number,
            birth_date=born,
            photo=photo_token,
            card_hash=personal_data.keyed_hash(card_code) if card_code else "",
            is_guardian=relation != PickupPerson.Relation.DELEGATE,
            is_approved=approved,
        )
    return person


def approve_pickup_person(person: PickupPerson, *, by: Any) -> PickupPerson:
    _require(by, "students")
    with transaction.atomic():
        PickupPerson.objects.filter(pk=person.pk).update(is_approved=True)
        person.is_approved = True
    return person


@dataclass(frozen=True)
class Release:
    pickup: Pickup

    @property
    def released(self) -> bool:
        return self.pickup.outcome == Pickup.Outcome.RELEASED

    @property
    def message(self) -> str:
        if self.pickup.outcome == Pickup.Outcome.HELD:
            return HOLD_MESSAGE
        if self.released:
            return _("Released to %(name)s.") % {"name": self.pickup.person_name}
        return _("Refused: %(reason)s. The class teacher and guardians are notified.") % {
            "reason": self.pickup.get_reason_display()
        }


def release(
    student: Student,
    school: School,
    *,
    by: Any,
    person: PickupPerson | None = None,
    person_name: str = "",
    card_code: str = "",
    document_number: str = "",
) -> Release:
    """Release a child at the gate: to an authorised, approved pick-up person; anyone
    else is refused with the reason and the class teacher and guardians are told. A
    non-guardian is matched against the watch-list; a match holds the child with the
    neutral message and opens a police-only alarm case."""
    _require(by, "pickups")
    if student.school_id != school.pk:
        raise GateError(_("This student is not at this school."))
    if person is None and card_code:
        person = PickupPerson.objects.filter(
            student=student, card_hash=personal_data.keyed_hash(card_code), is_active=True
        ).first()
    if person is not None and person.student_id != student.pk:
        raise GateError(_("This person is not on this student's pick-up list."))
    number, born = ("", None)
    if document_number:
        number, born = clean_document(DocumentKind.ID_CARD, document_number)
    name = person.name if person is not None else (person_name or "").strip()[:64]
    if not name:
        raise GateError(_("Choose the pick-up person or type their name."))
    now = clock.now()
    if person is not None and person.is_active and person.is_approved:
        outcome, reason = Pickup.Outcome.RELEASED, ""
    elif person is not None and person.is_active:
        outcome, reason = Pickup.Outcome.REFUSED, Pickup.Reason.NOT_APPROVED
    else:
        outcome, reason = Pickup.Outcome.REFUSED, Pickup.Reason.NOT_AUTHORISED
    with transaction.atomic():
        match = None
        if person is None or not person.is_guardian:
            match = match_person(
                document_hash=(
                    personal_data.keyed_hash(number)
                    if number
                    else (person.document_hash if person else "")
                ),
                name_hash=personal_data.keyed_hash(name),
                birth_date=born or (person.birth_date if person else None),
                at=now,
            )
        if match is not None:
            outcome, reason = Pickup.Outcome.HELD, Pickup.Reason.NEEDS_CHECK
        pickup = Pickup(
            school=school,
            student=student,
            person=person,
            person_name=name,
            outcome=outcome,
            reason=reason,
            at=now,
            by=by if getattr(by, "pk", None) else None,
        )
        pickup._audit_named = True  # gate.pickup_release / _refuse / _hold below
        pickup.save()
        if match is not None:
            _raise_hit(school, match, WatchlistHit.Source.PICKUP, pickup=pickup, by=by)
        elif outcome == Pickup.Outcome.REFUSED:
            _notify_refusal(pickup, now)
        record(
            PICKUP_ACTIONS[pickup.outcome],
            pickup,
            user=by,
            detail={
                "school_id": school.pk,
                "student_id": student.pk,
                "person_id": person.pk if person is not None else None,
                "reason": pickup.reason,
            },
        )
        bus.publish_on_commit(
            "gate.pickup",
            pickup_id=pickup.pk,
            school_id=school.pk,
            student_id=student.pk,
            outcome=pickup.outcome if pickup.outcome != Pickup.Outcome.HELD else "refused",
        )
    return Release(pickup)


PICKUP_ACTIONS = {
    Pickup.Outcome.RELEASED: "gate.pickup_release",
    Pickup.Outcome.REFUSED: "gate.pickup_refuse",
    Pickup.Outcome.HELD: "gate.pickup_hold",
}


def _notify_refusal(pickup: Pickup, now: dt.datetime) -> None:
    """Tell the class teacher and every guardian that a pick-up was refused: a
    ``PickupNotification`` each (what the school sees) carried by an SMS queued in this
    transaction (messaging/; a rolled-back refusal sends nothing). The message carries
    no third party's details."""
    student = pickup.student
    with translation.override(settings.LANGUAGE_CODE):
        message = _("%(class)s %(student)s: a pick-up was refused at %(time)s (%(reason)s).") % {
            "class": student.class_name,
            "student": student.masked_name,
            "time": localtime(now).strftime("%H:%M"),
            "reason": pickup.get_reason_display(),
        }

    def note(recipient: str, masked: str, phone: str, who: str) -> PickupNotification:
        sms = messaging.enqueue(
            purpose=OutboundMessage.Purpose.PICKUP_REFUSED,
            phone=phone,
            text=message,
            recipient=masked,
            key=f"gate.pickup-refused:{pickup.pk}:{who}",
            school=pickup.school,
            now=now,
        )
        return PickupNotification(
            pickup=pickup, recipient=recipient, phone=phone, message=message, at=now, sms=sms
        )

    notes = []
    if student.class_teacher:
        teacher = student.class_teacher
        notes.append(note(teacher, mask_name(teacher), student.teacher_phone, "teacher"))
    for guardian in student.pickup_persons.filter(is_guardian=True, is_active=True):
        name = guardian.masked_name
        notes.append(note(name, name, guardian.phone, f"person:{guardian.pk}"))
    for note in notes:  # EncryptedCharField encrypts in pre_save: no bulk_create
        note.save()
    bus.publish_on_commit(
        "gate.pickup_refused",
        pickup_id=pickup.pk,
        school_id=pickup.school_id,
        notified=len(notes),
    )


# --- one-time pick-up codes ----------------------------------------------------------------

# 32 characters a guardian reads out or types without confusion (no 0/O, 1/I/L, U).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # 30^8 ≈ 6.6e11: not guessable at a gate in a day


def normalise_code(code: str) -> str:
    """What a guard types or a scanner reads, the way it was issued (case, spaces and
    dashes do not matter; a QR code may carry the ``PU:`` prefix)."""
    text = personal_data.normalise(code or "")
    return text[3:] if text.startswith("PU:") else text


def _code_hash(code: str) -> str:
    return personal_data.keyed_hash("pickup-code:" + normalise_code(code))


def issue_pickup_code(
    person: PickupPerson, *, by: Any, day: dt.date | None = None
) -> tuple[PickupCode, str]:
    """A one-time code for ``person`` to collect their child on ``day`` (today by
    default): returned once and texted to the person's phone (the SMS's text, encrypted,
    is wiped once it is sent or given up); the code itself is stored only as a keyed hash."""
    if by is not None:
        _require(by, "students")
    today = localtime(clock.now()).date()
    day = day or today
    if day < today or day > today + dt.timedelta(days=7):
        raise GateError(_("A pick-up code is for today or one of the next seven days."))
    if not (person.is_active and person.is_approved):
        raise GateError(_("Only an approved pick-up person gets a pick-up code."))
    code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
    with transaction.atomic():
        issued = PickupCode.objects.create(
            student_id=person.student_id,
            person=person,
            code_hash=_code_hash(code),
            valid_on=day,
            created_at=clock.now(),
            created_by=by if getattr(by, "pk", None) else None,
        )
        shown = f"{code[:4]}-{code[4:]}"
        with translation.override(settings.LANGUAGE_CODE):
            text = _(
                "Pick-up code for %(student)s on %(day)s: %(code)s. Valid that day, once; "
                "show it at the school gate and do not pass it on."
            ) % {"student": person.student.masked_name, "day": f"{day:%m-%d}", "code": shown}
        messaging.enqueue(
            purpose=OutboundMessage.Purpose.PICKUP_CODE,
            phone=person.phone,
            text=text,
            recipient=person.masked_name,
            key=f"gate.pickup-code:{issued.pk}",
            school=person.student.school,
        )
        record(
            "gate.pickup_code_issue",
            issued,
            user=by,
            detail={"student_id": person.student_id, "person_id": person.pk, "day": str(day)},
        )
    return issued, shown


def release_with_code(code: str, school: School, *, by: Any) -> Release:
    """Release the child a one-time code names to the person it was issued for. The code
    is refused with the reason — unknown, for another school, not for today, or used —
    and the refusal audited (nothing else stored); once a release is attempted with it
    (released, refused or held), it is spent."""
    _require(by, "pickups")
    now = clock.now()
    found = None
    if 0 < len(normalise_code(code)) <= 16:
        found = PickupCode.objects.filter(code_hash=_code_hash(code)).first()
    with transaction.atomic():
        issued = (
            PickupCode.objects.select_for_update()
            .select_related("student", "person")
            .filter(pk=found.pk)
            .first()
            if found is not None
            else None
        )
        problem = None
        if issued is None:
            problem = "unknown", _("This pick-up code is not known.")
        elif issued.student.school_id != school.pk:
            problem = "other_school", _("This pick-up code is for another school.")
        elif issued.used_at is not None:
            problem = "used", _("This pick-up code has already been used.")
        elif issued.valid_on != localtime(now).date():
            problem = (
                ("expired", _("This pick-up code has expired."))
                if issued.valid_on < localtime(now).date()
                else ("not_yet", _("This pick-up code is not valid yet."))
            )
        if problem is None:
            result = release(issued.student, school, by=by, person=issued.person)
            issued.used_at = now
            issued.pickup = result.pickup
            issued.save(update_fields=["used_at", "pickup"])
            return result
    record(
        "gate.pickup_code_refuse",
        issued,
        user=by,
        outcome="denied",
        detail={"school_id": school.pk, "reason": problem[0]},
    )
    raise GateError(str(problem[1]))


# --- the guardian's own link ---------------------------------------------------------------

LINK_SALT = "campus_safety.gate.guardian-link"


def guardian_link_days() -> int:
    return int(getattr(settings, "GATE_GUARDIAN_LINK_DAYS", 7))


def issue_guardian_link(person: PickupPerson, *, by: Any) -> tuple[GuardianLink, str]:
    """A signed link (the token of ``/gate/guardian/?t=…``) for a guardian to confirm
    who may collect their child and to ask for a delegate; expires after
    ``GATE_GUARDIAN_LINK_DAYS`` and replaces the guardian's earlier links. The link is
    also texted to the guardian, starting with ``PUBLIC_BASE_URL``."""
    from django.core import signing

    _require(by, "students")
    if not (person.is_guardian and person.is_active and person.is_approved):
        raise GateError(_("Only an approved guardian gets a link."))
    now = clock.now()
    with transaction.atomic():
        link = GuardianLink.objects.create(
            person=person,
            nonce=secrets.token_hex(16),
            created_at=now,
            created_by=by if getattr(by, "pk", None) else None,
            expires_at=now + dt.timedelta(days=guardian_link_days()),
        )
        token = signing.dumps({"l": link.pk, "n": link.nonce}, salt=LINK_SALT)
        url = f"{settings.PUBLIC_BASE_URL}{reverse('gate:guardian')}?t={token}"
        with translation.override(settings.LANGUAGE_CODE):
            text = _(
                "Please confirm who may collect %(student)s from school, or ask for a "
                "delegate, within %(days)s days: %(url)s"
            ) % {"student": person.student.masked_name, "days": guardian_link_days(), "url": url}
        messaging.enqueue(
            purpose=OutboundMessage.Purpose.GUARDIAN_LINK,
            phone=person.phone,
            text=text,
            recipient=person.masked_name,
            key=f"gate.guardian-link:{link.pk}",
            school=person.student.school,
        )
        record(
            "gate.guardian_link_issue",
            link,
            user=by,
            detail={"person_id": person.pk, "student_id": person.student_id},
        )
    return link, token


def guardian_link(token: str) -> GuardianLink:
    """The link a token names, if its signature holds, it has not expired (on the
    platform's clock) and no newer link replaced it; GateError otherwise (one message
    for every case: the page tells a stranger nothing)."""
    import hmac

    from django.core import signing

    invalid = GateError(_("This link is not valid or has expired. Ask the school for a new one."))
    if not token or len(token) > 200:
        raise invalid
    try:
        data = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        raise invalid from None
    if not isinstance(data, dict) or not isinstance(data.get("l"), int):
        raise invalid
    link = (
        GuardianLink.objects.select_related("person__student__school").filter(pk=data["l"]).first()
    )
    if (
        link is None
        or not hmac.compare_digest(link.nonce, str(data.get("n", "")))
        or clock.now() >= link.expires_at
        or not (link.person.is_active and link.person.is_guardian)
        or GuardianLink.objects.filter(person=link.person, pk__gt=link.pk).exists()
    ):
        raise invalid
    return link


def guardian_confirm(link: GuardianLink) -> GuardianLink:
    """The guardian confirmed the list of who may collect their child."""
    with transaction.atomic():
        link.confirmed_at = clock.now()
        link.save(update_fields=["confirmed_at"])
        record(
            "gate.guardian_confirm",
            link,
            detail={"person_id": link.person_id, "student_id": link.person.student_id},
        )
    return link


def guardian_add_delegate(
    link: GuardianLink,
    *,
    name: str,
    relation: str,
    phone: str = "",
    document_number: str = "",
) -> PickupPerson:
    """A guardian asks for someone else to collect their child: stored unapproved, so
    the gate refuses them until the school approves."""
    phone = personal_data.normalise(phone)
    if phone and not (phone.isdigit() and len(phone) == 11):
        raise GateError(_("The phone number must be an 11-digit mobile number."))
    with transaction.atomic():
        person = add_pickup_person(
            link.person.student,
            by=None,
            name=(name or "")[:64],
            relation=relation,
            phone=phone,
            document_number=document_number,
            approved=False,
        )
        record(
            "gate.guardian_add_person",
            person,
            detail={"by_guardian": link.person_id, "student_id": link.person.student_id},
        )
    return person


def release_windows() -> list[tuple[dt.time, dt.time]]:
    windows = getattr(settings, "GATE_RELEASE_WINDOWS", [("11:30", "12:10"), ("16:30", "17:30")])
    return [
        (dt.time(*map(int, start.split(":"))), dt.time(*map(int, end.split(":"))))
        for start, end in windows
    ]


def waiting_students(school: School, now: dt.datetime | None = None) -> Any:
    """Active students nobody has taken today (the class roll: who is still waiting)."""
    now = now or clock.now()
    start = start_of_day(now)
    released = Pickup.objects.filter(
        school=school, at__gte=start, outcome=Pickup.Outcome.RELEASED
    ).values("student_id")
    return Student.objects.filter(school=school, is_active=True).exclude(pk__in=released)


def late_list(school: School, now: dt.datetime | None = None) -> list[Student]:
    """After the end of today's last release window that has passed, the students still
    waiting (empty before the first window ends)."""
    now = now or clock.now()
    local = localtime(now)
    ended = [end for _start, end in release_windows() if local.time() >= end]
    if not ended:
        return []
    return list(waiting_students(school, now))


# --- the watch-list (police only) ---------------------------------------------------------


def _require_police(by: Any) -> None:
    from campus_safety.scoping import is_police

    if not (can(by, WRITE, "watchlist") and is_police(by)):
        raise NotAllowed(_("Only the police keep the watch-list."))


def responsible_station(by: Any, station: Organisation | None) -> Organisation:
    """The station an entry goes under: a station officer's own; anyone else's choice
    when it is a police station inside their scope."""
    from campus_safety.scoping import user_scope

    own = getattr(by, "organisation", None)
    if own is not None and own.kind == Organisation.Kind.POLICE_STATION:
        return own
    if (
        station is None
        or station.kind != Organisation.Kind.POLICE_STATION
        or not user_scope(by).covers(None, station.region.code, station.pk)
    ):
        raise GateError(_("Choose a police station in your area."))
    return station


def create_entry(
    *,
    by: Any,
    station: Any,
    name: str,
    reason: str,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    document_kind: str = DocumentKind.ID_CARD,
    document_number: str = "",
    birth_date: dt.date | None = None,
    plate: str = "",
    note: str = "",
) -> WatchlistEntry:
    _require_police(by)
    if reason not in WatchlistEntry.Reason.values:
        raise GateError(_("Unknown reason category."))
    if not name.strip():
        raise GateError(_("The name is required."))
    if valid_until <= valid_from:
        raise GateError(_("The entry must end after it starts."))
    number, born = ("", None)
    if document_number:
        number, born = clean_document(document_kind, document_number)
    with transaction.atomic():
        entry = WatchlistEntry.objects.create(
            station=station,
            name=name.strip()[:64],
            birth_date=born or birth_date,
            document_kind=document_kind,
            document_number=number,
            plate=clean_plate(plate),
            reason=reason,
            note=(note or "")[:500],
            valid_from=valid_from,
            valid_until=valid_until,
            created_at=clock.now(),
            created_by=by if getattr(by, "pk", None) else None,
        )
    return entry


def end_entry(entry: WatchlistEntry, *, by: Any) -> WatchlistEntry:
    _require_police(by)
    with transaction.atomic():
        entry = WatchlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.ended_at is None:
            entry.ended_at = clock.now()
            entry.save(update_fields=["ended_at"])
    return entry


def audit_read(by: Any, what: str, count: int, obj: Any = None) -> None:
    """Every read of the watch-list leaves a trace (issue #17 item 2)."""
    record(
        "gate.watchlist_read",
        obj,
        user=by,
        detail={"what": what, "rows": count},  # the list or one entry, page or API
        object_repr=f"#{obj.pk}" if obj is not None else "",
    )


# --- figures -----------------------------------------------------------------------------


def today_figures(schools: Any = None, now: dt.datetime | None = None) -> dict[str, int]:
    """The gate's counts for today (``campus-safety report summary``)."""
    now = now or clock.now()
    start = start_of_day(now)
    where = Q() if schools is None else Q(school__in=schools)
    pickups = Pickup.objects.filter(where, at__gte=start)
    return {
        "visits_today": Visit.objects.filter(where, checked_in_at__gte=start).count(),
        "on_campus_now": Visit.objects.filter(
            where, state__in=[Visit.State.ON_CAMPUS, Visit.State.HELD]
        ).count(),
        "pickups_today": pickups.filter(outcome=Pickup.Outcome.RELEASED).count(),
        "refused_pickups_today": pickups.exclude(outcome=Pickup.Outcome.RELEASED).count(),
        "watchlist_hits_today": WatchlistHit.objects.filter(where, at__gte=start).count(),
    }


def summary_block(schools: Any = None, reader: Any = None) -> dict[str, int | None]:
    """The summary report's gate block. The watch-list hits are a police figure: a
    reader who is not police (a page's or the API's user) reads null, never a count."""
    from campus_safety.scoping import is_police

    figures: dict[str, int | None] = dict(today_figures(schools))
    if reader is not None and not is_police(reader):
        figures["watchlist_hits_today"] = None
    return figures
