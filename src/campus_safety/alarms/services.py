"""Alarm domain operations (报警处置). Views, API, gateway and commands call these."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from campus_safety import bus, raw_sql
from campus_safety.alarms import workflow
from campus_safety.alarms.models import AlarmEvent


@dataclass(frozen=True)
class AlarmInput:
    """One device alarm as ingestion hands it over (validated, device known)."""

    device_pk: int
    device_id: str
    school_id: int | None
    event_id: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    protocol: str
    priority: int
    method: int
    alarm_type: str = ""
    description: str = ""
    longitude: float | None = None
    latitude: float | None = None
    is_test: bool = False
    payload: dict[str, Any] = field(default_factory=dict)
    device_kind: str | None = None  # from the gateway's directory, when it knows
    key_area: str | None = None
    police_only: bool = False  # a watch-list hit at a gate (issue #17)


def ingest_alarm(**fields: Any) -> tuple[int, bool]:
    """Store one device alarm once per (device, event_id); returns (pk, created)."""
    return ingest_alarms([AlarmInput(**fields)])[0]


def ingest_alarms(alarms: list[AlarmInput], *, savepoints: bool = True) -> list[tuple[int, bool]]:
    """Store device alarms once per (device, event_id); returns (pk, created) for each.

    A retried delivery — stored before, or twice in this batch — is answered with the
    stored row, so the device can be acknowledged again without a second alarm. The
    batch opens or joins its cases in the same savepoint as its events, so a case
    exists before any device is acknowledged. Events are announced only after the
    transaction commits. ``bulk_create`` keeps the devices' own messages out of the
    audit log (no user acted; the row is the record).

    A fixed handful of statements per batch (not per alarm) is what lets a burst of
    alarms reach the consoles within 100 ms. Should another process store one of these
    events meanwhile (the unique constraint fires), the batch is redone one by one.

    ``savepoints=False`` is the caller's promise to redo the whole transaction if this
    raises (ingestion's fast path): no SAVEPOINT round trips, and any error — a
    concurrent duplicate included — propagates instead of being handled here.
    """
    if len(alarms) == 1 and savepoints:
        return [_store_one(alarms[0])]
    results: list[tuple[int, bool] | None] = [None] * len(alarms)
    first: dict[tuple[int, str], int] = {}
    for index, alarm in enumerate(alarms):
        first.setdefault((alarm.device_pk, alarm.event_id), index)
    stored = _stored_before(list(first))
    fresh = [index for key, index in first.items() if key not in stored]
    for key, index in first.items():
        if key in stored:
            results[index] = (stored[key], False)
    if fresh and not savepoints:
        for index, pk in zip(fresh, _store_new([alarms[i] for i in fresh], False), strict=True):
            results[index] = (pk, True)
        fresh = []
    if len(fresh) > 1:
        try:
            created = _store_new([alarms[i] for i in fresh])
        except IntegrityError:
            created = None
        if created is not None:
            for index, pk in zip(fresh, created, strict=True):
                results[index] = (pk, True)
            fresh = []
    for index in fresh:  # one at a time: a single alarm, or a batch that collided
        results[index] = _store_one(alarms[index])
    for index, alarm in enumerate(alarms):  # repeats within the batch
        if results[index] is None:
            results[index] = (results[first[(alarm.device_pk, alarm.event_id)]][0], False)
    return results  # type: ignore[return-value]


def _stored_before(keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Which of these (device, event_id) are stored already (a cursor: hot path)."""
    devices = sorted({device for device, _ in keys})
    events = sorted({event for _, event in keys})
    device, event = raw_sql.column(AlarmEvent, "device"), raw_sql.column(AlarmEvent, "event_id")
    found = raw_sql.rows(  # identifiers from the model, values as parameters
        f"SELECT {device}, {event}, {raw_sql.column(AlarmEvent, 'id')}"  # noqa: S608
        f" FROM {raw_sql.table(AlarmEvent)}"
        f" WHERE {device} IN ({raw_sql.placeholders(devices)})"
        f" AND {event} IN ({raw_sql.placeholders(events)})",
        [*devices, *events],
    )
    wanted = set(keys)
    return {(d, e): pk for d, e, pk in found if (d, e) in wanted}


def _store_one(alarm: AlarmInput) -> tuple[int, bool]:
    try:
        return _store_new([alarm])[0], True
    except IntegrityError:
        existing = (
            AlarmEvent.objects.filter(device_id=alarm.device_pk, event_id=alarm.event_id)
            .values_list("pk", flat=True)
            .first()
        )
        if existing is None:
            raise  # not a duplicate: some other constraint failed
        return existing, False


def _store_new(alarms: list[AlarmInput], savepoint: bool = True) -> list[int]:
    """Cases and events in one savepoint (raises IntegrityError on a duplicate), then
    the announcements: each event, each case opened and each case grown, once."""
    with transaction.atomic(savepoint=savepoint):
        placed = workflow.open_or_merge_cases(
            [
                workflow.Arrival(
                    a.device_pk,
                    a.school_id,
                    a.received_at,
                    a.occurred_at,
                    a.priority,
                    a.alarm_type,
                    a.description,
                    a.is_test,
                    a.device_kind,
                    a.key_area,
                    a.police_only,
                )
                for a in alarms
            ]
        )
        events = [
            AlarmEvent(
                device_id=a.device_pk,
                school_id=a.school_id,
                event_id=a.event_id,
                occurred_at=a.occurred_at,
                received_at=a.received_at,
                priority=a.priority,
                method=a.method,
                alarm_type=a.alarm_type,
                description=a.description,
                longitude=a.longitude,
                latitude=a.latitude,
                protocol=a.protocol,
                is_test=a.is_test,
                police_only=a.police_only,
                payload=a.payload or {},
                case=case,
            )
            for a, (case, _opened) in zip(alarms, placed, strict=True)
        ]
        AlarmEvent.objects.bulk_create(events)
    announcements: list[tuple[str, dict[str, Any]]] = []
    for alarm, event, (case, _opened) in zip(alarms, events, placed, strict=True):
        announcements.append(("alarm.event", _event_payload(alarm, event.pk, case.pk)))
    cases: dict[int, bool] = {}
    for case, opened in placed:
        cases[case.pk] = cases.get(case.pk, False) or opened
    by_pk = {case.pk: case for case, _opened in placed}
    announcements += [workflow.case_announcement(by_pk[pk], opened) for pk, opened in cases.items()]
    bus.publish_many_on_commit(announcements, isolated=savepoint)
    return [event.pk for event in events]


def _event_payload(alarm: AlarmInput, event_pk: int, case_pk: int) -> dict[str, Any]:
    return {
        "alarm_event_id": event_pk,
        "device_pk": alarm.device_pk,
        "device_id": alarm.device_id,
        "school_id": alarm.school_id,
        "event_id": alarm.event_id,
        "priority": alarm.priority,
        "method": alarm.method,
        "alarm_type": alarm.alarm_type,
        "description": alarm.description,
        "occurred_at": alarm.occurred_at.isoformat(),
        "is_test": alarm.is_test,
        "police_only": alarm.police_only,
        "protocol": alarm.protocol,
        "case_id": case_pk,
    }
