"""Alarm domain operations (报警处置). Views, API, gateway and commands call these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction

from campus_safety import bus
from campus_safety.alarms import workflow
from campus_safety.alarms.models import AlarmEvent


def ingest_alarm(
    *,
    device_pk: int,
    device_id: str,
    school_id: int | None,
    event_id: str,
    occurred_at: dt.datetime,
    received_at: dt.datetime,
    protocol: str,
    priority: int,
    method: int,
    alarm_type: str = "",
    description: str = "",
    longitude: float | None = None,
    latitude: float | None = None,
    is_test: bool = False,
    payload: dict[str, Any] | None = None,
) -> tuple[int, bool]:
    """Store one device alarm once per (device, event_id); returns (pk, created).

    A retried delivery hits the database's unique constraint and is answered with the
    stored row, so the device can be acknowledged again without a second alarm. The
    event is announced only after the transaction commits. ``bulk_create`` keeps the
    device's own message out of the audit log (no user acted; the row is the record).

    The event opens or joins its case in the same savepoint, so the case exists before
    the device is acknowledged, and a duplicate rolls the case change back with it.
    """
    event = AlarmEvent(
        device_id=device_pk,
        school_id=school_id,
        event_id=event_id,
        occurred_at=occurred_at,
        received_at=received_at,
        priority=priority,
        method=method,
        alarm_type=alarm_type,
        description=description,
        longitude=longitude,
        latitude=latitude,
        protocol=protocol,
        is_test=is_test,
        payload=payload or {},
    )
    try:
        with transaction.atomic():
            case, case_created = workflow.open_or_merge_case(
                device_pk=device_pk,
                school_id=school_id,
                received_at=received_at,
                occurred_at=occurred_at,
                priority=priority,
                alarm_type=alarm_type,
                description=description,
                is_test=is_test,
            )
            event.case = case
            AlarmEvent.objects.bulk_create([event])
    except IntegrityError:
        existing = (
            AlarmEvent.objects.filter(device_id=device_pk, event_id=event_id)
            .values_list("pk", flat=True)
            .first()
        )
        if existing is None:
            raise  # not a duplicate: some other constraint failed
        return existing, False
    bus.publish_on_commit(
        "alarm.event",
        alarm_event_id=event.pk,
        device_pk=device_pk,
        device_id=device_id,
        school_id=school_id,
        event_id=event_id,
        priority=priority,
        method=method,
        alarm_type=alarm_type,
        description=description,
        occurred_at=occurred_at.isoformat(),
        is_test=is_test,
        protocol=protocol,
        case_id=case.pk,
    )
    workflow.announce_case(case, case_created)
    return event.pk, True
