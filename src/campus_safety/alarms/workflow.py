"""The alarm case (报警警情) workflow: open or merge on ingestion, then each human step.

received → acknowledged → dispatched → on_scene → resolved | false_alarm; drills open
in ``test``. Every step stores its time and person. Only a person closes a case, with
a written disposition (GB 50394 5.2.3: an alarm is never reset by the system).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from campus_safety import bus, clock, raw_sql
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
    """The case is not in a state that allows this step."""

    def __init__(self, state: str, step: str) -> None:
        super().__init__(f"cannot {step} a case in state {state}")
        self.state, self.step = state, step


class DispositionRequired(ValueError):
    """A case is closed only with a written account of what happened."""


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
        return a.is_test or any(
            school == a.school_id and device in (None, a.device_pk) and start <= a.occurred_at < end
            for school, device, start, end in windows
        )

    window = dt.timedelta(seconds=merge_seconds())
    near = Q(school_id__in=school_ids)
    schoolless = {a.device_pk for a in arrivals if a.school_id is None}
    if schoolless:
        near |= Q(device_id__in=schoolless)
    open_cases: dict[tuple[str, int, bool], AlarmCase] = {}
    candidates = AlarmCase.objects.filter(
        near,
        closed_at__isnull=True,
        last_event_at__gte=min(a.received_at for a in arrivals) - window,
    ).order_by("last_event_at")
    for case in candidates:  # oldest first: the latest case of a place wins
        if case.school_id in school_ids:
            open_cases[("school", case.school_id, case.is_test)] = case
        if case.device_id in schoolless:
            open_cases[("device", case.device_id, case.is_test)] = case

    results: list[tuple[AlarmCase, bool]] = []
    created: list[AlarmCase] = []
    grown: dict[int, int] = {}
    for a in arrivals:
        is_test = drill(a)
        device = devices[a.device_pk]
        prio = case_priority(device["kind"], a.priority)
        key = (*_place(a), is_test)
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


def acknowledge_case(case: AlarmCase, by: Any) -> AlarmCase:
    """Stop the escalation clock; the case stays latched until someone resolves it."""
    if case.state != State.RECEIVED:
        raise InvalidTransition(case.state, "acknowledge")
    case.state, case.acknowledged_at, case.acknowledged_by = State.ACKNOWLEDGED, clock.now(), by
    case.next_escalation_at = None
    case.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "next_escalation_at"])
    audit.record("alarm.acknowledge", case, user=by)
    _announce("alarm.case_updated", case, step="acknowledged")
    return case


def dispatch_units(case: AlarmCase, units: Iterable[PoliceUnit], by: Any) -> list[Dispatch]:
    """Send available units; the response-circle clock starts at the first dispatch."""
    if case.is_test or case.state not in {State.ACKNOWLEDGED, State.DISPATCHED}:
        raise InvalidTransition(case.state, "dispatch")
    units = list(units)
    if not units:
        raise ValueError("choose at least one police unit")
    busy = [u.pk for u in units if not u.is_available]
    if busy:
        raise ValueError(f"police units not available: {busy}")
    now = clock.now()
    rows = Dispatch.objects.bulk_create(
        [Dispatch(case=case, unit=u, dispatched_at=now, dispatched_by=by) for u in units]
    )
    PoliceUnit.objects.filter(pk__in=[u.pk for u in units]).update(is_available=False)
    if case.state == State.ACKNOWLEDGED:
        region = case.school.region.code if case.school_id else None
        case.state, case.dispatched_at, case.dispatched_by = State.DISPATCHED, now, by
        case.arrival_deadline = now + dt.timedelta(minutes=circle_minutes(region))
        case.save(update_fields=["state", "dispatched_at", "dispatched_by", "arrival_deadline"])
    audit.record("alarm.dispatch", case, user=by, detail={"units": [u.pk for u in units]})
    _announce("alarm.case_updated", case, step="dispatched", units=[u.pk for u in units])
    return rows


def record_arrival(case: AlarmCase, by: Any, unit: PoliceUnit | None = None) -> AlarmCase:
    """The first unit on scene stops the response clock; later ones just log their time."""
    if case.state not in {State.DISPATCHED, State.ON_SCENE}:
        raise InvalidTransition(case.state, "arrive")
    now = clock.now()
    pending = case.dispatches.filter(arrived_at__isnull=True)
    if unit is not None:
        pending = pending.filter(unit=unit)
    # A unit that never reported "en route" is taken to have left when it was sent.
    pending.update(arrived_at=now, en_route_at=Coalesce("en_route_at", "dispatched_at"))
    if case.state == State.DISPATCHED:
        case.state, case.arrived_at, case.arrived_by = State.ON_SCENE, now, by
        case.is_breach = case.is_breach or (
            case.arrival_deadline is not None and now > case.arrival_deadline
        )
        case.arrival_deadline = None
        case.save(
            update_fields=["state", "arrived_at", "arrived_by", "is_breach", "arrival_deadline"]
        )
    audit.record("alarm.arrive", case, user=by)
    _announce("alarm.case_updated", case, step="on_scene")
    return case


def record_en_route(dispatch: Dispatch, by: Any) -> Dispatch:
    """A unit reports it is on its way (times the leg from dispatch to departure)."""
    if dispatch.cleared_at is not None or dispatch.arrived_at is not None:
        raise InvalidTransition("arrived" if dispatch.cleared_at is None else "cleared", "en route")
    if dispatch.en_route_at is None:
        dispatch.en_route_at = clock.now()
        dispatch.save(update_fields=["en_route_at"])
        audit.record("alarm.en_route", dispatch.case, user=by, detail={"unit": dispatch.unit_id})
    return dispatch


def close_case(case: AlarmCase, by: Any, disposition: str, outcome: str) -> AlarmCase:
    """A person closes the case with a written disposition; units are cleared and free.

    ``outcome`` is resolved or false_alarm; a drill stays ``test``. GB 50394 5.2.3:
    this is the only way a case closes.
    """
    if not (disposition or "").strip():
        raise DispositionRequired("a written disposition is required to close a case")
    if case.closed_at is not None or case.state == State.RECEIVED:
        raise InvalidTransition(case.state, "close")
    if not case.is_test and outcome not in CLOSING:
        raise InvalidTransition(case.state, f"close as {outcome}")
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
    unit_ids = list(open_dispatches.values_list("unit_id", flat=True))
    open_dispatches.update(cleared_at=now)
    PoliceUnit.objects.filter(pk__in=unit_ids).update(is_available=True)
    audit.record("alarm.close", case, user=by, detail={"outcome": case.state})
    _announce("alarm.case_closed", case, step=case.state)
    return case
