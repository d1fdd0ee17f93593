"""The alarm case (报警警情) workflow: open or merge on ingestion, then each human step.

received → acknowledged → dispatched → on_scene → resolved | false_alarm; drills open
in ``test``. Every step stores its time and person. Only a person closes a case, with
a written disposition (GB 50394 5.2.3: an alarm is never reset by the system).

Each human step owns its transaction and the case's row lock, whoever calls it (the
console, the API, a command): the case is re-read under the lock, the role and the
state are checked, then written, audited and announced after the commit. Two people
pressing the same key at once queue on the lock, and the second is told the case has
moved on. Callers look the case up in the user's scope first (out of scope = 404).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from campus_safety import bus, clock, raw_sql
from campus_safety.accounts.roles import WRITE, can
from campus_safety.alarms.models import AlarmCase, Dispatch, PoliceUnit, TestWindow
from campus_safety.audit import services as audit
from campus_safety.devices.models import Device

State = AlarmCase.State
# GB/T 28181 AlarmPriority is 1 (highest) … 4; a person pressing a button outranks it.
KIND_PRIORITY = {
    Device.Kind.ONE_KEY_ALARM: 1,
    Device.Kind.EMERGENCY_BUTTON: 1,
    Device.Kind.INTRUSION_DETECTOR: 2,
    Device.Kind.ALARM_CONTROLLER: 2,
}
CLOSING = {State.RESOLVED, State.FALSE_ALARM}


class InvalidTransition(ValueError):
    """The case, or a unit on it, has moved on: this step is no longer possible (409).
    The message says why, in the user's language."""

    def __init__(self, case: AlarmCase, step: str, reason: str | None = None) -> None:
        super().__init__(
            reason
            or _("Case #%(id)s is now “%(state)s”: that step is no longer possible.")
            % {"id": case.pk, "state": case.get_state_display()}
        )
        self.state, self.step = case.state, step


class DispositionRequired(ValueError):
    """A case is closed only with a written account of what happened."""


class NotAllowed(PermissionError):
    """The user's role does not allow this step (403)."""


def merge_seconds() -> int:
    return int(getattr(settings, "ALARM_MERGE_SECONDS", 120))


def ack_seconds() -> int:
    return int(getattr(settings, "ALARM_ACK_SECONDS", 30))


def circle_minutes(region_code: str | None) -> int:
    """The response circle (1-3-5 minutes, RULES.md §4) for a district; default 5."""
    circles: dict[str, int] = getattr(settings, "ALARM_RESPONSE_CIRCLES", {}) or {}
    return int(circles.get(region_code or "", getattr(settings, "ALARM_RESPONSE_MINUTES", 5)))


def case_priority(device_kind: str, event_priority: int) -> int:
    return min(KIND_PRIORITY.get(device_kind, 4), max(1, min(4, event_priority or 4)))


@dataclass(frozen=True)
class Arrival:
    """One stored-to-be alarm event as the case workflow sees it."""

    device_pk: int
    school_id: int | None
    received_at: dt.datetime
    occurred_at: dt.datetime
    priority: int
    alarm_type: str
    description: str
    is_test: bool
    device_kind: str | None = None  # known to the gateway's directory: saves a query
    key_area: str | None = None
    police_only: bool = False  # a watch-list hit (issue #17): its own case, police eyes only


def open_or_merge_case(
    *,
    device_pk: int,
    school_id: int | None,
    received_at: dt.datetime,
    occurred_at: dt.datetime,
    priority: int,
    alarm_type: str,
    description: str,
    is_test: bool,
) -> tuple[AlarmCase, bool]:
    """Join the open case of the same school (or device) seen within the merge window,
    or open a new one (``open_or_merge_cases`` for one arrival)."""
    arrival = Arrival(
        device_pk, school_id, received_at, occurred_at, priority, alarm_type, description, is_test
    )
    return open_or_merge_cases([arrival])[0]


def _place(arrival: Arrival) -> tuple[str, int]:
    """Alarms of one school share a case; a device without a school has its own."""
    if arrival.school_id is not None:
        return ("school", arrival.school_id)
    return ("device", arrival.device_pk)


def _drill_windows(
    school_ids: set[int], earliest: dt.datetime, latest: dt.datetime
) -> list[tuple[int, int | None, dt.datetime, dt.datetime]]:
    """(school, device or None, start, end) of the drill windows touching the batch."""
    if not school_ids:
        return []
    schools = sorted(school_ids)
    school, device, starts, ends = (
        raw_sql.column(TestWindow, f) for f in ("school", "device", "starts_at", "ends_at")
    )
    found = raw_sql.rows(  # identifiers from the model, values as parameters
        f"SELECT {school}, {device}, {starts}, {ends} FROM {raw_sql.table(TestWindow)}"  # noqa: S608
        f" WHERE {school} IN ({raw_sql.placeholders(schools)})"
        f" AND {starts} <= %s AND {ends} > %s",
        [*schools, raw_sql.moment(latest), raw_sql.moment(earliest)],
    )
    return [(s, d, raw_sql.aware(start), raw_sql.aware(end)) for s, d, start, end in found]


def open_or_merge_cases(arrivals: list[Arrival]) -> list[tuple[AlarmCase, bool]]:
    """``open_or_merge_case`` for a batch, in arrival order, in a fixed handful of
    queries whatever its size: devices, drill windows and open cases are read once,
    new cases written in one INSERT, each grown case in one UPDATE. Runs inside
    ingestion's transaction. Returns (case, opened by this arrival) per arrival."""
    if not arrivals:
        return []
    device_pks = {a.device_pk for a in arrivals}
    school_ids = {a.school_id for a in arrivals if a.school_id is not None}
    devices = {
        a.device_pk: {"kind": a.device_kind, "key_area": a.key_area}
        for a in arrivals
        if a.device_kind is not None and a.key_area is not None
    }
    if not device_pks <= devices.keys():
        rows = Device.objects.filter(pk__in=device_pks - devices.keys()).order_by()
        devices.update({row["pk"]: row for row in rows.values("pk", "kind", "key_area")})
    earliest = min(a.occurred_at for a in arrivals)
    latest = max(a.occurred_at for a in arrivals)
    windows = _drill_windows(school_ids, earliest, latest)

    def drill(a: Arrival) -> bool:
        if a.police_only:  # a school's drill window never hides a watch-list hit
            return a.is_test
        return a.is_test or any(
            school == a.school_id and device in (None, a.device_pk) and start <= a.occurred_at < end
            for school, device, start, end in windows
        )

    window = dt.timedelta(seconds=merge_seconds())
    near = Q(school_id__in=school_ids)
    schoolless = {a.device_pk for a in arrivals if a.school_id is None}
    if schoolless:
        near |= Q(device_id__in=schoolless)
    open_cases: dict[tuple[str, int, bool, bool], AlarmCase] = {}
    candidates = AlarmCase.objects.filter(
        near,
        closed_at__isnull=True,
        last_event_at__gte=min(a.received_at for a in arrivals) - window,
    ).order_by("last_event_at")
    for case in candidates:  # oldest first: the latest case of a place wins
        if case.school_id in school_ids:
            open_cases[("school", case.school_id, case.is_test, case.police_only)] = case
        if case.device_id in schoolless:
            open_cases[("device", case.device_id, case.is_test, case.police_only)] = case

    results: list[tuple[AlarmCase, bool]] = []
    created: list[AlarmCase] = []
    grown: dict[int, int] = {}
    for a in arrivals:
        is_test = drill(a)
        device = devices[a.device_pk]
        prio = case_priority(device["kind"], a.priority)
        key = (*_place(a), is_test, a.police_only)
        case = open_cases.get(key)
        if case is not None and case.last_event_at >= a.received_at - window:
            case.last_event_at = max(case.last_event_at, a.received_at)
            case.event_count += 1
            case.priority = min(case.priority, prio)
            if case.pk is not None:
                grown[case.pk] = grown.get(case.pk, 0) + 1
            results.append((case, False))
            continue
        case = AlarmCase(
            school_id=a.school_id,
            device_id=a.device_pk,
            key_area=device["key_area"],
            priority=prio,
            state=State.TEST if is_test else State.RECEIVED,
            is_test=is_test,
            police_only=a.police_only,
            alarm_type=a.alarm_type,
            description=a.description,
            opened_at=a.received_at,
            last_event_at=a.received_at,
            next_escalation_at=(
                None if is_test else a.received_at + dt.timedelta(seconds=ack_seconds())
            ),
        )
        open_cases[key] = case
        created.append(case)
        results.append((case, True))
    # Queryset writes and bulk_create: a device's message is not a user's act, so it
    # stays out of the audit log (the event row is the record), like ingest_alarm.
    if created:
        AlarmCase.objects.bulk_create(created)
    by_pk = {case.pk: case for case, _opened in results}
    for pk, count in grown.items():
        case = by_pk[pk]
        AlarmCase.objects.filter(pk=pk).update(
            last_event_at=case.last_event_at,
            event_count=F("event_count") + count,
            priority=case.priority,
        )
    return results


def _case_payload(case: AlarmCase, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": case.pk,
        "school_id": case.school_id,
        "state": case.state,
        "priority": case.priority,
        "is_test": case.is_test,
        "police_only": case.police_only,
        **extra,
    }


def _announce(name: str, case: AlarmCase, **extra: Any) -> None:
    bus.publish_on_commit(name, **_case_payload(case, **extra))


def announce_case(case: AlarmCase, created: bool) -> None:
    """Tell the consoles a case opened or grew (after the ingestion commit)."""
    bus.publish_many_on_commit([case_announcement(case, created)])


def case_announcement(case: AlarmCase, created: bool) -> tuple[str, dict[str, Any]]:
    """The (event, payload) telling consoles a case opened or grew."""
    return (
        "alarm.case_opened" if created else "alarm.case_updated",
        _case_payload(case),
    )


# --- the human steps ---------------------------------------------------------------------


def _require(by: Any, resource: str) -> None:
    if not can(by, WRITE, resource):
        raise NotAllowed(_("Your role does not allow this step."))


def _locked(case: AlarmCase | int) -> AlarmCase:
    """The case re-read under its row lock, in the step's transaction: whoever pressed
    the same key first has finished by the time this returns. The caller's instance is
    brought up to date in place."""
    if not isinstance(case, AlarmCase):
        case = AlarmCase(pk=case)
    case.refresh_from_db(from_queryset=AlarmCase.objects.select_for_update())
    return case


def may_report_for(user: Any, unit: PoliceUnit) -> bool:
    """Who speaks for a unit on its way or on scene: a dispatcher (or a superuser) for
    any unit sent to a case in their scope, a police officer for their own station's."""
    if getattr(user, "is_superuser", False) or getattr(user, "role", "") == "dispatcher":
        return True
    station = getattr(user, "organisation_id", None)
    return station is not None and unit.organisation_id == station


def _under_way(case: AlarmCase, unit_id: int | None, by: Any) -> Dispatch:
    """The dispatch of ``unit_id`` to this case, neither arrived nor cleared, that ``by``
    may report for. A unit never sent is bad input (400); one already there or
    stood down is a case that moved on (409)."""
    rows = case.dispatches.filter(unit_id=unit_id).select_related("unit")
    if not rows:
        raise ValueError(_("That unit was not sent to this case."))
    # Sent more than once (after a stand-down)? The dispatch still under way counts.
    sent = min(rows, key=lambda d: (d.cleared_at is not None, d.arrived_at is not None))
    if not may_report_for(by, sent.unit):
        raise ValueError(_("You may report only for the units of your own police station."))
    if sent.cleared_at is not None:
        reason = _("%(unit)s has been stood down.") % {"unit": sent.unit.name}
        raise InvalidTransition(case, "report", reason)
    if sent.arrived_at is not None:
        reason = _("%(unit)s has already arrived.") % {"unit": sent.unit.name}
        raise InvalidTransition(case, "report", reason)
    return sent


def acknowledge_case(case: AlarmCase | int, by: Any) -> AlarmCase:
    """Stop the escalation clock; the case stays latched until someone resolves it."""
    _require(by, "alarms")
    with transaction.atomic():
        case = _locked(case)
        if case.state != State.RECEIVED:
            raise InvalidTransition(case, "acknowledge")
        case.state, case.acknowledged_at, case.acknowledged_by = (
            State.ACKNOWLEDGED,
            clock.now(),
            by,
        )
        case.next_escalation_at = None
        case.save(
            update_fields=["state", "acknowledged_at", "acknowledged_by", "next_escalation_at"]
        )
        audit.record("alarm.acknowledge", case, user=by)
        _announce("alarm.case_updated", case, step="acknowledged")
    return case


def may_acknowledge_many(user: Any) -> bool:
    """A supervisor — whoever may dispatch and close (a dispatcher, a police officer for
    the station's cases) — may acknowledge several cases at once; a school, which only
    acknowledges, looks at each of its alarms."""
    return can(user, WRITE, "alarm_dispatch") and can(user, WRITE, "alarms")


@dataclass(frozen=True)
class Acknowledgement:
    """What became of one case of a bulk acknowledge: ``acknowledged``, ``moved_on``
    (someone else or the case got there first) or ``not_allowed``, with the reason."""

    case_id: int
    outcome: str
    reason: str = ""


def acknowledge_cases(cases: Iterable[AlarmCase | int], by: Any) -> list[Acknowledgement]:
    """批量签收 — ``acknowledge_case`` for each case in turn, each in its own transaction
    and audited on its own (never one bulk UPDATE): a case that moved on or is refused
    is reported and the others go ahead. Callers pass only cases in ``by``'s scope."""
    if not may_acknowledge_many(by):
        raise NotAllowed(_("Only a dispatcher or a police officer acknowledges in bulk."))
    done = []
    for case in cases:
        pk = getattr(case, "pk", case)
        try:
            acknowledge_case(case, by)
        except InvalidTransition as exc:
            done.append(Acknowledgement(pk, "moved_on", str(exc)))
        except NotAllowed as exc:
            done.append(Acknowledgement(pk, "not_allowed", str(exc)))
        else:
            done.append(Acknowledgement(pk, "acknowledged"))
    return done


def dispatch_units(
    case: AlarmCase | int, units: Iterable[PoliceUnit | int], by: Any
) -> list[Dispatch]:
    """Send available units, all of them or none; the response-circle clock starts at
    the first dispatch. Only units in ``by``'s scope can be sent."""
    _require(by, "alarm_dispatch")
    ids = sorted({getattr(unit, "pk", unit) for unit in units})
    if not ids:
        raise ValueError(_("Choose at least one police unit."))
    with transaction.atomic():
        case = _locked(case)
        if case.is_test or case.state not in {State.ACKNOWLEDGED, State.DISPATCHED}:
            raise InvalidTransition(case, "dispatch")
        # Units are locked in one order (by pk): two dispatches sharing a unit queue up
        # instead of deadlocking, and the second sees it busy.
        found = list(
            PoliceUnit.objects.visible_to(by)
            .select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
        )
        if len(found) != len(ids):
            raise ValueError(_("Unknown police unit."))
        busy = [unit.name for unit in found if not unit.is_available]
        if busy:
            raise InvalidTransition(
                case,
                "dispatch",
                _("Police units not available: %(units)s.") % {"units": "、".join(busy)},
            )
        now = clock.now()
        rows = Dispatch.objects.bulk_create(
            [Dispatch(case=case, unit=unit, dispatched_at=now, dispatched_by=by) for unit in found]
        )
        PoliceUnit.objects.filter(pk__in=ids).update(is_available=False)
        if case.state == State.ACKNOWLEDGED:
            region = case.school.region.code if case.school_id else None
            case.state, case.dispatched_at, case.dispatched_by = State.DISPATCHED, now, by
            case.arrival_deadline = now + dt.timedelta(minutes=circle_minutes(region))
            case.save(update_fields=["state", "dispatched_at", "dispatched_by", "arrival_deadline"])
        audit.record("alarm.dispatch", case, user=by, detail={"units": ids})
        _announce("alarm.case_updated", case, step="dispatched", units=ids)
    return rows


def record_arrival(
    case: AlarmCase | int, by: Any, unit: PoliceUnit | int | None = None
) -> AlarmCase:
    """A unit sent to the case is on scene (no unit: every unit sent that ``by`` may
    report for). The first arrival stops the response clock; later ones log their time.

    Only a unit that was sent and is still on its way can arrive, so an arrival never
    stops the clock or feeds the statistics on someone else's behalf."""
    _require(by, "alarm_dispatch")
    with transaction.atomic():
        case = _locked(case)
        if case.state not in {State.DISPATCHED, State.ON_SCENE}:
            raise InvalidTransition(case, "arrive")
        if unit is not None:
            arriving = [_under_way(case, getattr(unit, "pk", unit), by)]
        else:
            arriving = [
                sent
                for sent in case.dispatches.filter(
                    arrived_at__isnull=True, cleared_at__isnull=True
                ).select_related("unit")
                if may_report_for(by, sent.unit)
            ]
            if not arriving:
                raise InvalidTransition(
                    case,
                    "arrive",
                    _("No unit you may report for is still on its way to this case."),
                )
        now = clock.now()
        # A unit that never reported "en route" is taken to have left when it was sent.
        Dispatch.objects.filter(pk__in=[sent.pk for sent in arriving]).update(
            arrived_at=now, en_route_at=Coalesce("en_route_at", "dispatched_at")
        )
        if case.state == State.DISPATCHED:
            case.state, case.arrived_at, case.arrived_by = State.ON_SCENE, now, by
            case.is_breach = case.is_breach or (
                case.arrival_deadline is not None and now > case.arrival_deadline
            )
            case.arrival_deadline = None
            case.save(
                update_fields=["state", "arrived_at", "arrived_by", "is_breach", "arrival_deadline"]
            )
        units = [sent.unit_id for sent in arriving]
        audit.record("alarm.arrive", case, user=by, detail={"units": units})
        _announce("alarm.case_updated", case, step="on_scene")
    return case


def record_en_route(case: AlarmCase | int, unit: PoliceUnit | int, by: Any) -> Dispatch:
    """A unit sent to the case reports it is on its way (times the leg from dispatch to
    departure); the same rules as an arrival say who may report it."""
    _require(by, "alarm_dispatch")
    with transaction.atomic():
        case = _locked(case)
        sent = _under_way(case, getattr(unit, "pk", unit), by)
        if sent.en_route_at is None:
            sent.en_route_at = clock.now()
            sent.save(update_fields=["en_route_at"])
            audit.record("alarm.en_route", case, user=by, detail={"unit": sent.unit_id})
    return sent


def close_case(case: AlarmCase | int, by: Any, disposition: str, outcome: str) -> AlarmCase:
    """A person closes the case with a written disposition; units are cleared and free.

    ``outcome`` is resolved or false_alarm; a drill stays ``test``. GB 50394 5.2.3:
    this is the only way a case closes.
    """
    _require(by, "alarm_dispatch")
    if not (disposition or "").strip():
        raise DispositionRequired(_("Write what happened before closing the case."))
    with transaction.atomic():
        case = _locked(case)
        if case.closed_at is not None or case.state == State.RECEIVED:
            raise InvalidTransition(case, "close")
        if not case.is_test and outcome not in CLOSING:
            raise InvalidTransition(case, f"close as {outcome}")
        now = clock.now()
        case.state = State.TEST if case.is_test else outcome
        case.closed_at, case.closed_by, case.disposition = now, by, disposition.strip()
        case.next_escalation_at = case.arrival_deadline = None
        case.save(
            update_fields=[
                "state",
                "closed_at",
                "closed_by",
                "disposition",
                "next_escalation_at",
                "arrival_deadline",
            ]
        )
        open_dispatches = case.dispatches.filter(cleared_at__isnull=True)
        unit_ids = sorted(open_dispatches.values_list("unit_id", flat=True))
        open_dispatches.update(cleared_at=now)
        # The same lock order as a dispatch (by pk), so the two never deadlock.
        locking = PoliceUnit.objects.select_for_update().filter(pk__in=unit_ids).order_by("pk")
        list(locking.values_list("pk", flat=True))
        PoliceUnit.objects.filter(pk__in=unit_ids).update(is_available=True)
        audit.record("alarm.close", case, user=by, detail={"outcome": case.state})
        _announce("alarm.case_closed", case, step=case.state)
    return case
