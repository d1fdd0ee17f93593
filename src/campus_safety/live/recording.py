"""Write the console events (``alarm.*``, ``device.*`` state) to the live log, once.

The bus calls subscribers in every process (Redis relays each event everywhere); only
the publishing process writes the row, then fanout.py carries the row — with its SSE
id — to the streams of every process. The school's region and police station are
copied in so a stream filters without a join.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.db import connection, transaction

from campus_safety import bus, clock
from campus_safety.live import fanout

log = logging.getLogger(__name__)

PREFIXES = ("device.", "alarm.", "patrol.alarm", "post.", "hazard.")
# Not for consoles: a REGISTER refresh (hourly per device, a query-free hot path; its
# consequence arrives as device.online) and catalog updates.
SKIPPED = frozenset({"device.registered", "device.channels"})


def carried_events() -> list[str]:
    """The bus event names a stream may carry (told to clients in ``live.hello``)."""
    return sorted(n for n in bus.EVENTS if n.startswith(PREFIXES) and n not in SKIPPED)


def start() -> None:
    bus.subscribe_in_transaction(record_in_transaction)
    bus.subscribe("*", on_event)


def is_carried(name: str) -> bool:
    return name.startswith(PREFIXES) and name not in SKIPPED


def record_in_transaction(name: str, payload: dict[str, Any]) -> bool:
    """Outbox: write the row in the transaction that commits the event (an alarm stored
    is an alarm the consoles will replay, whatever happens to this process next); the
    streams hear of it once the transaction commits."""
    if not is_carried(name):
        return False
    row = _write(name, payload)
    transaction.on_commit(lambda: fanout.announce(fanout.Delivery.from_row(row)))
    return True


def on_event(name: str, payload: dict[str, Any]) -> None:
    """Bus subscriber: record events published here outside a transaction; relayed and
    outboxed ones were recorded already."""
    if not is_carried(name) or bus.is_relayed() or bus.is_recorded():
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        record(name, payload)
        return
    # Published straight from an event loop (the SIP server): no ORM on the loop.
    loop.run_in_executor(None, _record_in_worker, name, dict(payload))


def _record_in_worker(name: str, payload: dict[str, Any]) -> None:
    try:
        record(name, payload)
    except Exception:
        log.exception("could not record live event %s", name)
    finally:
        connection.close()  # a pool thread must not hold a connection between events


def record(name: str, payload: dict[str, Any]) -> Any:
    """Write one LiveEvent and announce it; returns the row."""
    row = _write(name, payload)
    fanout.announce(fanout.Delivery.from_row(row))
    return row


def _write(name: str, payload: dict[str, Any]) -> Any:
    from campus_safety.devices.models import Device
    from campus_safety.live.models import LiveEvent
    from campus_safety.orgs.models import School

    school_id = payload.get("school_id")
    if school_id is None and (payload.get("device_pk") or payload.get("device_id")):
        devices = Device.objects.all()
        if payload.get("device_pk"):
            devices = devices.filter(pk=payload["device_pk"])
        else:
            devices = devices.filter(device_id=payload["device_id"])
        school_id = devices.values_list("school_id", flat=True).first()
    region_code, station_id = "", None
    if school_id is not None:
        found = (
            School.objects.filter(pk=school_id)
            .values_list("region__code", "police_station_id")
            .first()
        )
        if found is not None:
            region_code, station_id = found[0] or "", found[1]
    row = LiveEvent.objects.create(
        at=clock.now(),
        name=name,
        school_id=school_id,
        region_code=region_code,
        police_station_id=station_id,
        payload=payload,
    )
    return row
