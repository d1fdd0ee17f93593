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

from campus_safety import bus, clock, raw_sql
from campus_safety.live import addressing, fanout

log = logging.getLogger(__name__)

PREFIXES = (
    "device.",
    "alarm.",
    "patrol.alarm",
    "post.",
    "hazard.",
    "notice.published",  # one per send, addressed to its schools (addressing.py)
    "notice.receipt",
    "notice.relay",  # a unit read or forwarded a notice: addressed up the chain
    "notice.reminder",  # addressed to the schools and units reminded
)
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


def record_in_transaction(events: list[tuple[str, dict[str, Any]]]) -> list[bool]:
    """Outbox: write the rows in the transaction that commits the events (an alarm
    stored is an alarm the consoles will replay, whatever happens to this process next);
    the streams hear of them once the transaction commits."""
    taken = [is_carried(name) for name, _payload in events]
    carried = [event for event, is_taken in zip(events, taken, strict=True) if is_taken]
    if carried:
        rows = _write_many(carried)
        transaction.on_commit(lambda: _announce_rows(rows))
    return taken


def _announce_rows(rows: list[Any]) -> None:
    for row in rows:
        fanout.announce(fanout.Delivery.from_row(row))


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
    row = _write_many([(name, payload)])[0]
    fanout.announce(fanout.Delivery.from_row(row))
    return row


def _scope_of(school_ids: set[int]) -> dict[int, tuple[str, int | None]]:
    """school → (region code, police station): what a stream filters on (a cursor:
    every alarm passes here inside the ingestion writer's transaction)."""
    from campus_safety.orgs.models import Region, School

    if not school_ids:
        return {}
    schools = sorted(school_ids)
    found = raw_sql.rows(  # identifiers from the models, values as parameters
        f"SELECT s.{raw_sql.column(School, 'id')}, r.{raw_sql.column(Region, 'code')},"  # noqa: S608
        f" s.{raw_sql.column(School, 'police_station')}"
        f" FROM {raw_sql.table(School)} s LEFT JOIN {raw_sql.table(Region)} r"
        f" ON r.{raw_sql.column(Region, 'id')} = s.{raw_sql.column(School, 'region')}"
        f" WHERE s.{raw_sql.column(School, 'id')} IN ({raw_sql.placeholders(schools)})",
        schools,
    )
    return {pk: (region or "", station) for pk, region, station in found}


def _write_many(events: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """One INSERT for the lot, after one look-up of the schools' scope columns (and of
    the devices' schools for events that name only a device)."""
    from campus_safety.devices.models import Device
    from campus_safety.live.models import LiveEvent

    schools: list[int | None] = [payload.get("school_id") for _name, payload in events]
    by_pk = {p["device_pk"] for _n, p in events if p.get("device_pk")}
    by_id = {p["device_id"] for _n, p in events if p.get("device_id") and not p.get("device_pk")}
    unknown = [i for i, school_id in enumerate(schools) if school_id is None]
    if unknown and (by_pk or by_id):
        pk_school, id_school = {}, {}
        if by_pk:
            pk_school = dict(Device.objects.filter(pk__in=by_pk).values_list("pk", "school_id"))
        if by_id:
            id_school = dict(
                Device.objects.filter(device_id__in=by_id).values_list("device_id", "school_id")
            )
        for i in unknown:
            payload = events[i][1]
            if payload.get("device_pk"):
                schools[i] = pk_school.get(payload["device_pk"])
            elif payload.get("device_id"):
                schools[i] = id_school.get(payload["device_id"])
    scope = _scope_of({s for s in schools if s is not None})
    now = clock.now()
    rows = [
        _row(now, name, payload, school_id, scope)
        for (name, payload), school_id in zip(events, schools, strict=True)
    ]
    return LiveEvent.objects.bulk_create(rows)


def _row(
    now: Any,
    name: str,
    payload: dict[str, Any],
    school_id: int | None,
    scope: dict[int, tuple[str, int | None]],
) -> Any:
    """One log row. ``school_only`` (a school's own copy) and ``recipients`` (a list of
    schools, units, users: addressing.py) are addressed rather than scoped: no region
    code or station is copied in, so no one's scope covers the row but the addressees'
    (and the school's own users for ``school_only``). The list is kept out of the
    payload: it reaches no browser."""
    from campus_safety.live.models import LiveEvent

    recipients = addressing.encode(payload.get("recipients"))
    if "recipients" in payload:
        payload = {k: v for k, v in payload.items() if k != "recipients"}
    addressed = bool(recipients) or bool(payload.get("school_only"))
    region_code, station = ("", None) if addressed else scope.get(school_id, ("", None))
    return LiveEvent(
        at=now,
        name=name,
        school_id=school_id,
        region_code=region_code,
        police_station_id=station,
        payload=payload,
        recipients=recipients,
    )
