"""The one ingestion entry point every adapter (GB/T 28181, MQTT, HTTP) calls.

authenticate (the adapter) → validate → deduplicate on (device, event_id) → commit →
return, so the adapter acknowledges only what is committed ("nothing acknowledged is
ever lost", ARCHITECTURE.md §3.1) → announce on the bus after commit. Heartbeats only
touch liveness (no row). A retried delivery is a ``duplicate``, not an error; a bad
event is ``rejected`` with a reason and never costs the rest of its batch.

``parse_json_event`` turns the JSON body shared by MQTT and HTTP (ARCHITECTURE.md §5)
into a ``DeviceMessage`` or raises one ``InvalidEvent`` with a reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, transaction

from campus_safety import clock
from campus_safety.alarms import services as alarms
from campus_safety.devices import liveness
from campus_safety.devices import services as devices
from campus_safety.gateway.contract import KINDS, ContractError
from campus_safety.patrols import services as patrols

log = logging.getLogger(__name__)

PROTOCOLS = ("gb28181", "mqtt", "http")
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
OUTCOMES = (ACCEPTED, DUPLICATE, REJECTED)


class InvalidEvent(ContractError):
    """A device message that cannot be stored; ``reason`` goes back to the device."""


@dataclass(frozen=True)
class DeviceMessage:
    """One normalised device message, whatever protocol it came over."""

    device_id: str
    kind: str
    event_id: str
    occurred_at: dt.datetime
    payload: dict[str, Any] = field(default_factory=dict)
    protocol: str = "http"
    remote: str = ""


@dataclass(frozen=True)
class Result:
    """What became of one message: accepted, duplicate (already stored) or rejected."""

    outcome: str
    reason: str = ""
    object_id: int | None = None

    @property
    def is_stored(self) -> bool:
        """True when the device may be acknowledged (stored now or before)."""
        return self.outcome in (ACCEPTED, DUPLICATE)


# --- validation of the JSON body (shared by MQTT and HTTP) ---


def _text(data: dict, name: str, limit: int, *, required: bool = False) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise InvalidEvent(f"{name} is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidEvent(f"{name} must be a string")
    value = str(value)
    if len(value) > limit:
        raise InvalidEvent(f"{name} is longer than {limit} characters")
    if any(ord(c) < 32 for c in value):
        raise InvalidEvent(f"{name} contains control characters")
    return value


def _integer(data: dict, name: str, low: int, high: int, default: int | None = None) -> int:
    value = data.get(name, default)
    if value is None:
        raise InvalidEvent(f"{name} is required")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidEvent(f"{name} must be an integer from {low} to {high}")
    return value


def _coordinate(data: dict, name: str, limit: float) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidEvent(f"{name} must be a number")
    if not -limit <= value <= limit:
        raise InvalidEvent(f"{name} must be within ±{limit:g}")
    return float(value)


def validate_payload(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Check the kind-specific fields; returns them normalised (raises InvalidEvent)."""
    if kind == "alarm":
        is_test = payload.get("is_test", False)
        if not isinstance(is_test, bool):
            raise InvalidEvent("is_test must be true or false")
        return {
            "priority": _integer(payload, "priority", 1, 4),  # GB/T 28181 AlarmPriority
            "method": _integer(payload, "method", 1, 7, default=2),  # AlarmMethod
            "alarm_type": _text(payload, "type", 16),
            "description": _text(payload, "description", 255),
            "longitude": _coordinate(payload, "longitude", 180),
            "latitude": _coordinate(payload, "latitude", 90),
            "is_test": is_test,
        }
    if kind == "status":
        state = payload.get("state")
        if state not in ("ok", "fault"):
            raise InvalidEvent('state must be "ok" or "fault"')
        return {
            "state": state,
            "fault_code": _text(payload, "fault_code", 32),
            "description": _text(payload, "description", 255),
        }
    if kind == "patrol":
        fields = {
            "checkpoint_id": _text(payload, "checkpoint_id", 64, required=True),
            "card_id": _text(payload, "card_id", 64),
            "guard_id": _text(payload, "guard_id", 64),
        }
        if not fields["card_id"] and not fields["guard_id"]:
            raise InvalidEvent("card_id or guard_id is required")
        return fields
    if kind == "vehicle.plate":  # a gate ANPR camera's read (issue #17)
        from django.core.exceptions import ValidationError

        from campus_safety.gate.validators import validate_plate

        direction = payload.get("direction", "in")
        if direction not in ("in", "out"):
            raise InvalidEvent('direction must be "in" or "out"')
        try:
            plate = validate_plate(_text(payload, "plate", 16, required=True))
        except ValidationError:
            raise InvalidEvent("plate is not a valid Chinese licence plate") from None
        return {"plate": plate, "direction": direction}
    if kind == "heartbeat":
        return {}
    raise InvalidEvent(f"kind must be one of {', '.join(KINDS)}")


def parse_timestamp(value: Any, name: str = "ts") -> dt.datetime:
    """RFC 3339 with an offset (``2026-03-01T08:00:00+08:00`` or ``…Z``) → aware datetime."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise InvalidEvent(f"{name} must be an RFC 3339 date-time string")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidEvent(f"{name} is not an RFC 3339 date-time") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidEvent(f"{name} needs a time-zone offset (e.g. +08:00 or Z)")
    return parsed


def _reject_constant(name: str) -> None:
    raise InvalidEvent(f"JSON {name} is not allowed")


def load_json(body: bytes, limit: int) -> Any:
    """Decode a size-limited JSON body (no NaN/Infinity, no nesting bombs)."""
    if len(body) > limit:
        raise InvalidEvent(f"body larger than {limit} bytes")
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except InvalidEvent:
        raise
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent("body is not valid UTF-8 JSON") from exc


def event_from_dict(
    device_id: str, kind: str, data: Any, protocol: str, remote: str = ""
) -> DeviceMessage:
    """A decoded JSON event object → DeviceMessage (raises InvalidEvent)."""
    if not isinstance(data, dict):
        raise InvalidEvent("an event must be a JSON object")
    if kind not in KINDS:
        raise InvalidEvent(f"kind must be one of {', '.join(KINDS)}")
    claimed = data.get("device_id")
    if claimed is not None and claimed != device_id:
        raise InvalidEvent("device_id in the body does not match the sender")
    if kind == "heartbeat" and "event_id" not in data:
        event_id = ""
    else:
        event_id = _text(data, "event_id", 64, required=True)
    if kind == "heartbeat" and "ts" not in data:
        occurred_at = clock.now()
    else:
        occurred_at = parse_timestamp(data.get("ts"))
    validate_payload(kind, data)
    return DeviceMessage(device_id, kind, event_id, occurred_at, data, protocol, remote)


def parse_json_event(
    device_id: str, kind: str, body: bytes, protocol: str, remote: str = ""
) -> DeviceMessage:
    """An MQTT message body (or one JSON event) → DeviceMessage (raises InvalidEvent).

    A heartbeat may have an empty body; every other kind needs ``event_id`` and ``ts``.
    """
    if kind == "heartbeat" and not body.strip():
        return DeviceMessage(device_id, kind, "", clock.now(), {}, protocol, remote)
    data = load_json(body, settings.INGEST_MAX_EVENT_BYTES)
    return event_from_dict(device_id, kind, data, protocol, remote)


# --- ingestion ---


def plate_read(message: DeviceMessage) -> DeviceMessage:
    """A GB/T 28181 alarm carrying a plate — a gate ANPR camera's vehicle alarm, the
    plate and direction taken from its ``<Info>`` by the gateway — is a plate read
    (``vehicle.plate``): validated like one, stored once per event ID and, for a
    school's camera, a passage of that school instead of an alarm case. MQTT and HTTP
    devices send ``vehicle.plate`` themselves; their alarms are left as they are."""
    if (
        message.kind == "alarm"
        and message.protocol == "gb28181"
        and isinstance(message.payload, dict)
        and "plate" in message.payload
    ):
        return dataclasses.replace(message, kind="vehicle.plate")
    return message


def _check(message: DeviceMessage) -> tuple[liveness.DeviceEntry, dict[str, Any]]:
    """Validate and find the device in memory (no query); raises InvalidEvent."""
    if message.kind not in KINDS:
        raise InvalidEvent(f"kind must be one of {', '.join(KINDS)}")
    if message.protocol not in PROTOCOLS:
        raise InvalidEvent(f"protocol must be one of {', '.join(PROTOCOLS)}")
    if message.kind != "heartbeat" and not 1 <= len(message.event_id or "") <= 64:
        raise InvalidEvent("event_id must be 1 to 64 characters")
    occurred = message.occurred_at
    if not isinstance(occurred, dt.datetime) or occurred.utcoffset() is None:
        raise InvalidEvent("occurred_at must be an aware date-time")
    if not isinstance(message.payload, dict):
        raise InvalidEvent("payload must be a mapping")
    entry = liveness.lookup(message.device_id)
    if entry is None:
        raise InvalidEvent("unknown or unapproved device")
    if entry.protocol != message.protocol:
        raise InvalidEvent(f"device is registered for {entry.protocol}, not {message.protocol}")
    return entry, validate_payload(message.kind, message.payload)


def _store(
    message: DeviceMessage, entry: liveness.DeviceEntry, fields: dict[str, Any], now: dt.datetime
) -> Result:
    """Write one alarm, patrol scan or status report (inside the batch's transaction)."""
    common = {
        "device_pk": entry.pk,
        "device_id": message.device_id,
        "school_id": entry.school_id,
        "event_id": message.event_id,
        "occurred_at": message.occurred_at,
        "received_at": now,
    }
    if message.kind == "alarm":
        pk, created = alarms.ingest_alarms([_alarm_input(message, entry, fields, now)])[0]
    else:
        pk, created = devices.record_device_event(
            **common, kind=message.kind, payload=message.payload
        )
        if created and message.kind == "patrol":
            patrols.record_device_scan(
                device_pk=entry.pk,
                school_id=entry.school_id,
                event_id=message.event_id,
                occurred_at=message.occurred_at,
                received_at=now,
                checkpoint_code=fields["checkpoint_id"],
                card_id=fields["card_id"],
                guard_id=fields["guard_id"],
            )
        if created and message.kind == "vehicle.plate" and entry.school_id:
            from campus_safety.gate import services as gate
            from campus_safety.orgs.models import School

            gate.record_passage(
                School.objects.get(pk=entry.school_id),
                plate=fields["plate"],
                direction=fields["direction"],
                source="camera",
                at=message.occurred_at,
                event_id=message.event_id,
            )
        if created and message.kind == "status":
            reason = " ".join(filter(None, (fields["fault_code"], fields["description"])))
            liveness.record_reported_status(
                message.device_id, is_fault=fields["state"] == "fault", reason=reason, at=now
            )
    return Result(ACCEPTED if created else DUPLICATE, "" if created else "already stored", pk)


def ingest(message: DeviceMessage) -> Result:
    """Validate, deduplicate, commit; returns only after the commit (acknowledge then)."""
    return ingest_batch([message])[0]


def ingest_batch(messages: Iterable[DeviceMessage]) -> list[Result]:
    """Ingest several messages in one transaction; one bad message is rejected on its
    own and never loses the others. Returns only after the commit. A database failure
    raises (nothing is acknowledged, the device retries)."""
    messages = list(messages)
    results: list[Result | None] = [None] * len(messages)
    to_store = []
    for index, message in enumerate(messages):
        message = messages[index] = plate_read(message)
        try:
            entry, fields = _check(message)
        except InvalidEvent as exc:
            results[index] = Result(REJECTED, exc.reason)
            continue
        liveness.record_keepalive(message.device_id)  # any message is a sign of life
        if message.kind == "heartbeat":
            results[index] = Result(ACCEPTED)
        else:
            to_store.append((index, message, entry, fields))
    if to_store:
        now = clock.now()
        alarm_items = [item for item in to_store if item[1].kind == "alarm"]
        if len(alarm_items) == len(to_store) and _store_alarms_at_once(alarm_items, now, results):
            return [r if r is not None else Result(REJECTED, "not processed") for r in results]
        # durable: a caller's open transaction would make "committed" a lie.
        with transaction.atomic(durable=True):
            if len(alarm_items) > 1:
                for index, result in _store_alarms(alarm_items, now):
                    results[index] = result
            for index, message, entry, fields in to_store:
                if results[index] is None:
                    results[index] = _store_one(message, entry, fields, now)
    return [r if r is not None else Result(REJECTED, "not processed") for r in results]


def _alarm_input(
    message: DeviceMessage, entry: liveness.DeviceEntry, fields: dict[str, Any], now: dt.datetime
) -> alarms.AlarmInput:
    return alarms.AlarmInput(
        device_pk=entry.pk,
        device_id=message.device_id,
        school_id=entry.school_id,
        event_id=message.event_id,
        occurred_at=message.occurred_at,
        received_at=now,
        protocol=message.protocol,
        payload=message.payload,
        device_kind=entry.kind,
        key_area=entry.key_area,
        **fields,
    )


def _store_alarms_at_once(
    items: list[tuple[int, DeviceMessage, liveness.DeviceEntry, dict[str, Any]]],
    now: dt.datetime,
    results: list[Result | None],
) -> bool:
    """The common case — nothing but alarms, all of them fine — in one transaction
    without savepoints: on PostgreSQL every statement is a round trip, and under load
    each one also waits for the GIL, so a single alarm's 15 statements became 9. False
    (and nothing stored) if anything failed; the caller then stores them the careful
    way, where one bad alarm never costs the others."""
    try:
        with transaction.atomic(durable=True):
            stored = alarms.ingest_alarms(
                [_alarm_input(m, e, f, now) for _i, m, e, f in items], savepoints=False
            )
    except DatabaseError as exc:
        if not isinstance(exc, IntegrityError | DataError):
            raise  # the database is away: acknowledge nothing
        log.info("alarm batch hit a constraint (a concurrent retry?); storing one by one")
        return False
    except Exception:
        log.exception("alarm batch failed; storing one by one")
        return False
    for (index, *_rest), (pk, created) in zip(items, stored, strict=True):
        results[index] = (
            Result(ACCEPTED, "", pk) if created else Result(DUPLICATE, "already stored", pk)
        )
    return True


def _store_alarms(
    items: list[tuple[int, DeviceMessage, liveness.DeviceEntry, dict[str, Any]]],
    now: dt.datetime,
) -> list[tuple[int, Result]]:
    """A batch's alarms together (a few statements in all); should that fail for any
    reason but the database being away, nothing is returned and each alarm is then
    stored on its own, so one bad alarm never costs the others."""
    try:
        with transaction.atomic():
            stored = alarms.ingest_alarms([_alarm_input(m, e, f, now) for _i, m, e, f in items])
    except DatabaseError as exc:
        if not isinstance(exc, IntegrityError | DataError):
            raise  # the database is away: acknowledge nothing
        log.warning("alarm batch refused by a constraint; storing one by one", exc_info=True)
        return []
    except Exception:
        log.exception("alarm batch failed; storing one by one")
        return []
    return [
        (index, Result(ACCEPTED, "", pk) if created else Result(DUPLICATE, "already stored", pk))
        for (index, *_rest), (pk, created) in zip(items, stored, strict=True)
    ]


def _store_one(
    message: DeviceMessage, entry: liveness.DeviceEntry, fields: dict[str, Any], now: dt.datetime
) -> Result:
    """One message in its own savepoint: a failure rolls back only this message."""
    try:
        with transaction.atomic():
            return _store(message, entry, fields, now)
    except IntegrityError:
        log.warning(
            "device %s event %s violates a constraint",
            message.device_id,
            message.event_id,
            exc_info=True,
        )
        return Result(REJECTED, "could not be stored (device changed or removed?)")
    except DatabaseError:
        raise  # the database is away: acknowledge nothing
    except Exception:
        log.exception("device %s event %s failed", message.device_id, message.event_id)
        return Result(REJECTED, "internal error while storing the event")
