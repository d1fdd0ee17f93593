"""The GB/T 28181 server bound to the platform: the one module here that knows Django.

Credentials come from the device registry; keepalives go to liveness in memory (no
query on the hot path); a registration is written to the device's row before its 200
OK (``RegistrationSaver``: registrations are rare, and a crash must not forget one);
alarms go through the one ingestion service and are acknowledged only after it
committed them; a catalog becomes the device's channels. Database work runs in a
thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone

from campus_safety import clock
from campus_safety.devices import gateway_link, liveness
from campus_safety.devices import services as devices
from campus_safety.devices.models import Device
from campus_safety.gateway import committer, credentials, ingest
from campus_safety.gateway.gb28181 import manscdp
from campus_safety.gateway.gb28181 import server as gb
from campus_safety.gateway.gb28181.server import (
    Gb28181Server,
    PlatformInterface,
    ReceivedAlarm,
    Remote,
    SenderCheck,
    ServerConfig,
    start_gb28181,
)
from campus_safety.video import media_control

log = logging.getLogger(__name__)

PROTOCOL = Device.Protocol.GB28181.value
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def config_from_settings() -> ServerConfig:
    """Server settings from Django settings (the GB28181_* block)."""
    # Derived from SECRET_KEY: nonces survive a restart and every gateway process
    # accepts the others' nonces.
    nonce_key = hmac.new(
        settings.SECRET_KEY.encode(), b"gb28181-digest-nonce", hashlib.sha256
    ).digest()
    return ServerConfig(
        platform_id=settings.GB28181_PLATFORM_ID,
        domain=settings.GB28181_DOMAIN,
        auto_register=settings.GB28181_AUTO_REGISTER,
        max_message_bytes=settings.GB28181_MAX_MESSAGE_BYTES,
        rate_per_second=settings.GB28181_RATE_LIMIT,
        rate_burst=settings.GB28181_RATE_BURST,
        register_min_expires=settings.GB28181_REGISTER_MIN_EXPIRES,
        register_max_expires=settings.GB28181_REGISTER_MAX_EXPIRES,
        register_default_expires=settings.GB28181_REGISTER_MAX_EXPIRES,
        catalog_timeout=settings.GB28181_CATALOG_TIMEOUT,
        query_timeout=settings.GB28181_QUERY_TIMEOUT,
        max_tcp_connections=settings.GB28181_TCP_MAX_CONNECTIONS,
        max_tcp_connections_per_host=settings.GB28181_TCP_MAX_CONNECTIONS_PER_HOST,
        tcp_register_timeout=settings.GB28181_TCP_REGISTER_TIMEOUT,
        tcp_idle_timeout=settings.GB28181_TCP_IDLE_TIMEOUT,
        advertised_host=settings.GB28181_ADVERTISED_HOST,
        nonce_key=nonce_key,
        clock=lambda: timezone.localtime(clock.now()),  # devices set their clocks from it
        wall_time=lambda: clock.now().timestamp(),
    )


# --- credentials, registrations, keepalives ------------------------------------------------


def cached_credentials(device_id: str) -> tuple[str, bool] | None:
    """``device_credentials`` from memory for an approved device whose password is
    cached (gateway/credentials.py); None sends the server to the database."""
    found = credentials.cached(device_id)
    entry = liveness.default().directory.entries.get(device_id)
    if not isinstance(found, credentials.Credentials) or entry is None:
        return None
    return found.password or settings.GB28181_PASSWORD, entry.protocol == PROTOCOL


def device_credentials(device_id: str) -> tuple[str | None, bool]:
    """(password, approved): the device's own password, else the platform-wide one;
    None for an unknown device. A device registered for another protocol is refused.
    An approved device's credentials are cached on the way (``cached_credentials``)."""
    entry = liveness.lookup(device_id)
    if entry is not None:
        found = credentials.load(device_id)
        if found is not None:
            return found.password or settings.GB28181_PASSWORD, entry.protocol == PROTOCOL
    row = (
        Device.objects.filter(device_id=device_id)
        .values_list("password", "is_approved", "protocol")
        .first()
    )
    if row is None:
        return None, False
    password, is_approved, protocol = row
    return password or settings.GB28181_PASSWORD, bool(is_approved) and protocol == PROTOCOL


# (device ID, seconds granted — 0 to unregister —, remote address or "", when)
Registering = devices.Registering


def save_registrations(registrations: list[Registering]) -> None:
    """GB/T 28181 registrations into the registry (devices.services), before their 200 OK."""
    devices.save_registrations(registrations, protocol=PROTOCOL)


# A write refused because another writer holds the lock (SQLite: "database table is
# locked" answers at once instead of waiting) is tried again, ~0.75 s in all, before the
# REGISTER is answered 500 and the device registers again on its own.
SAVE_ATTEMPTS = 5


class RegistrationSaver:
    """GB/T 28181 registrations made durable before their 200 OK (``on_registered``).

    Held only in memory (liveness saved them every 30 s), a registration made just
    before a crash was forgotten: the restarted platform refused the device's keepalives
    and its alarms. Now the server answers a REGISTER only once it is in the device's
    row, where a restarted platform takes it back. REGISTERs arriving together share one
    transaction, written in a thread of its own, so thousands of devices registering
    again after an outage cost a commit per batch, not one each. Keepalives never come
    here."""

    def __init__(self) -> None:
        self.batches = 0  # transactions written (tests, counters)
        self._pending: list[tuple[Registering, asyncio.Future]] = []
        self._writing: asyncio.Task | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gb28181-register")

    async def on_registered(self, device_id: str, expires: int, remote: Remote) -> None:
        """Returns once the registration is committed (raises if it was not: the
        server then answers 500 and the device registers again)."""
        await self._save((device_id, expires, str(remote), clock.now()))

    async def on_unregistered(self, device_id: str) -> None:
        await self._save((device_id, 0, "", clock.now()))

    async def _save(self, registration: Registering) -> None:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((registration, future))
        if self._writing is None:
            self._writing = asyncio.ensure_future(self._write_pending())
        await future

    async def _write_pending(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                error: Exception | None = None
                for attempt in range(SAVE_ATTEMPTS):
                    try:
                        await loop.run_in_executor(
                            self._thread, _in_thread, save_registrations, [r for r, _ in batch]
                        )
                        self.batches += 1
                        error = None
                        break
                    except OperationalError as exc:  # locked by another writer: again soon
                        error = exc
                        await asyncio.sleep(0.05 * (attempt + 1))
                    except Exception as exc:
                        error = exc
                        break
                if error is not None:
                    log.warning("GB28181: %d registrations not saved: %s", len(batch), error)
                for _registration, future in batch:
                    if future.done():  # its REGISTER gave up (the server closing)
                        continue
                    if error is None:
                        future.set_result(None)
                    else:
                        future.set_exception(error)
        finally:
            self._writing = None
            # a burst is over: hand the connection back until the next one
            self._thread.submit(_in_thread, connection.close)


def _in_thread(function: Any, *args: Any) -> Any:
    close_old_connections()  # a connection the database dropped is replaced
    try:
        return function(*args)
    except Exception:
        connection.close()
        raise


def on_keepalive(device_id: str, remote: Remote) -> None:
    """The hot path: a dict look-up and a timestamp in memory (or a buffered Redis write)."""
    liveness.record_keepalive(device_id, protocol=PROTOCOL)


def on_pending(device_id: str, remote: Remote) -> None:
    """An unknown device asked to register: kept, unapproved, for an administrator."""
    devices.register_pending(device_id, str(remote), PROTOCOL)


# --- alarms --------------------------------------------------------------------------------


def alarm_event_id(notify: manscdp.AlarmNotify) -> str:
    """Stable per alarm: device + SN + AlarmTime, so a resent alarm is stored once while
    a device that restarted its SN counter still gets its new alarms through. Without
    an AlarmTime the ten-minute slot of arrival stands in (a rare double beats a miss)."""
    now = clock.now()
    moment = notify.alarm_time or f"slot:{now:%Y%m%d%H}{now.minute // 10}"
    # an SN that is not 1–18 digits (``sn_text``) is in the digest, not in the ID's label
    sn, label = (notify.sn_text, "x") if notify.sn_text else (notify.sn, notify.sn)
    digest = hashlib.sha256(f"{notify.device_id}|{sn}|{moment}".encode()).hexdigest()
    return f"gb-{label}-{digest[:20]}"


def _clean(text: str, limit: int, name: str, repairs: list[str]) -> str:
    """Control characters to spaces, at most ``limit`` characters; a change is noted in
    ``repairs`` (the alarm then keeps its raw body)."""
    cleaned = _CONTROL.sub(" ", text).strip()
    if cleaned != text.strip():
        repairs.append(f"{name}: control characters replaced")
    if len(cleaned) > limit:
        repairs.append(f"{name}: {len(cleaned)} characters cut to {limit}")
    return cleaned[:limit]


# GB/T 28181 defines no alarm for a plate read: a gate ANPR camera reports one as an
# alarm whose AlarmType its installer sets (GB28181_VEHICLE_ALARM_TYPES), the plate and
# the direction in vendor elements of <Info>. Such an alarm becomes a passage (issue #17).
VEHICLE_ALARM_TYPES = ("vehicle", "plate", "anpr", "车辆", "车牌")
_PLATE_TAGS = ("plateno", "platenumber", "plate", "licenseplate", "vehicleplate", "carplate")
_DIRECTIONS = {
    "in": "in", "entry": "in", "enter": "in", "进": "in", "入": "in", "1": "in",
    "out": "out", "exit": "out", "leave": "out", "出": "out", "2": "out",
}  # fmt: skip


def vehicle_alarm_types() -> frozenset[str]:
    """The AlarmType values read as a plate read (lower case)."""
    types = getattr(settings, "GB28181_VEHICLE_ALARM_TYPES", VEHICLE_ALARM_TYPES)
    return frozenset(str(t).strip().lower() for t in types)


def plate_fields(notify: manscdp.AlarmNotify, repairs: list[str]) -> dict[str, str]:
    """The plate and direction of a vehicle alarm, from ``<Info>``: a plate element
    (PlateNo, PlateNumber, Plate, LicensePlate, …) and ``Direction`` (in/out, 1/2, 进/出)
    or GB/T 28181's ``AlarmTypeParam/EventType`` (1 entered, 2 left). Empty for any other
    alarm, or one without a plate. An unknown direction is passed on as sent, so the
    ingestion refuses it with its reason instead of guessing."""
    if notify.alarm_type.strip().lower() not in vehicle_alarm_types():
        return {}
    info = {tag.lower(): text for tag, text in notify.info.items()}
    plate = next((info[tag] for tag in _PLATE_TAGS if info.get(tag, "").strip()), "")
    if not plate:
        return {}
    direction = info.get("direction", "").strip()
    if not direction and notify.tree is not None:
        node = notify.tree.child("Info")
        param = node.child("AlarmTypeParam") if node is not None else None
        direction = ((param.text_of("EventType") if param is not None else None) or "").strip()
    direction = _clean(direction, 8, "direction", repairs)
    return {
        "plate": _clean(plate, 16, "plate", repairs),
        "direction": _DIRECTIONS.get(direction.lower(), direction) if direction else "in",
    }


def alarm_message(alarm: ReceivedAlarm) -> ingest.DeviceMessage:
    """The normalised alarm, always storable once its device is read (GB 50394 5.2.2):
    text fields are cleaned and cut to fit, and an alarm that needed any of that keeps
    its raw body (``raw_base64``) and what was done (``repairs``). An NVR may report
    for one of its channels; a channel we do not know (yet) is booked on the NVR with
    ``channel_id`` kept, so no alarm is lost. A vehicle alarm carries its plate and
    direction (``plate_fields``): the ingestion makes it a passage, not a case."""
    notify = alarm.notify
    device_id = notify.device_id
    repairs = list(notify.repairs)
    payload: dict[str, Any] = {
        # GB 50394 5.2.2, no missed alarms: an unreadable priority counts as the highest
        "priority": notify.priority or 1,
        "type": _clean(notify.alarm_type, 16, "type", repairs),
        "description": _clean(notify.description, 255, "description", repairs),
        "longitude": notify.longitude,
        "latitude": notify.latitude,
        "sn": notify.sn_text or notify.sn,
        "alarm_time": _clean(notify.alarm_time, 32, "alarm time", repairs),
        "sender_id": alarm.sender_id,
    }
    if notify.method is not None:
        payload["method"] = notify.method
    payload.update(plate_fields(notify, repairs))  # a gate camera's plate read (ingest)
    if repairs:
        payload["repairs"] = repairs
        payload["raw_base64"] = base64.b64encode(alarm.raw).decode("ascii")
    if alarm.sender_check is not SenderCheck.REGISTERED:
        payload["sender_check"] = alarm.sender_check.value  # "unverified": nothing vouched
    if device_id != alarm.sender_id:
        channel, sender = liveness.lookup(device_id), liveness.lookup(alarm.sender_id)
        if channel is None or sender is None or channel.parent_id != sender.pk:
            payload["channel_id"] = device_id
            device_id = alarm.sender_id
    occurred_at = notify.occurred_at
    if occurred_at is not None:  # device-local time, set from our Date header
        occurred_at = timezone.make_aware(occurred_at, timezone.get_default_timezone())
    return ingest.DeviceMessage(
        device_id=device_id,
        kind="alarm",
        event_id=alarm_event_id(notify),
        occurred_at=occurred_at or clock.now(),
        payload=payload,
        protocol=PROTOCOL,
        remote=str(alarm.remote),
    )


def ingest_alarm(alarm: ReceivedAlarm) -> ingest.Result:
    """Commit the alarm; returns only after the commit (the server then sends Result OK)."""
    return committer.commit([alarm_message(alarm)])[0]


async def ingest_alarm_async(alarm: ReceivedAlarm) -> ingest.Result:
    """``ingest_alarm`` from the event loop: with ``serve``'s group-commit writer running,
    alarms arriving together share one transaction."""
    if committer.running() is None:
        return await sync_to_async(ingest_alarm)(alarm)
    if liveness.default().directory.loaded:
        message = alarm_message(alarm)  # memory only
    else:  # the first look-up loads the directory: a query, so not on the loop
        message = await asyncio.to_thread(alarm_message, alarm)
    return (await committer.commit_async([message]))[0]


# --- catalog -------------------------------------------------------------------------------


def channel_report(item: manscdp.CatalogItem) -> devices.ChannelReport:
    """A catalog item as the device registry takes it."""
    return devices.ChannelReport(
        device_id=item.device_id,
        name=item.name,
        manufacturer=item.manufacturer,
        model=item.model,
        address=item.address,
        longitude=item.longitude,
        latitude=item.latitude,
        status=item.status,
    )


def store_channels(parent_id: str, items: list[manscdp.CatalogItem]) -> int:
    """A catalog becomes the device's channels (``devices.services.upsert_channels``).

    The device sent its catalog once and will not send it again unprompted, so a write
    refused because another writer holds the lock (SQLite answers "locked" at once when
    no busy wait applies) is tried again, like a registration, instead of dropped."""
    reports = [channel_report(item) for item in items]
    for attempt in range(SAVE_ATTEMPTS):
        try:
            return devices.upsert_channels(parent_id, reports)
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == SAVE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


# --- the binding ---------------------------------------------------------------------------


def sender_check(device_id: str, remote: Remote) -> SenderCheck:
    """Who vouches for an alarm from a device the server holds no registration for
    (after a restart, or once it lapsed): the address of its last registration, as
    saved with the device. Same host → taken; none on record → taken, flagged
    unverified; another host, or an unknown or unapproved device → refused."""
    row = (
        Device.objects.filter(device_id=device_id)
        .values_list("is_approved", "protocol", "remote_address")
        .first()
    )
    if row is None or not row[0] or row[1] != PROTOCOL:
        return SenderCheck.UNKNOWN
    try:
        last = Remote.parse(row[2])
    except ValueError:
        return SenderCheck.UNVERIFIED
    return SenderCheck.LAST_REGISTRATION if last.host == remote.host else SenderCheck.ELSEWHERE


def build_interface() -> PlatformInterface:
    """The callables the server needs; database work goes to a worker thread."""
    saver = RegistrationSaver()
    return PlatformInterface(
        device_credentials=sync_to_async(device_credentials),
        on_registered=saver.on_registered,  # durable before the 200 OK
        on_unregistered=saver.on_unregistered,
        on_keepalive=on_keepalive,
        on_alarm=ingest_alarm_async,
        on_catalog=sync_to_async(store_channels),
        on_pending=sync_to_async(on_pending),
        cached_credentials=cached_credentials,
        sender_check=sync_to_async(sender_check),
    )


def restorable_registrations() -> list[tuple[str, Remote, float]]:
    """UDP registrations still valid, as liveness last saved them: (ID, remote, seconds
    left). A restarted platform takes them back instead of refusing every keepalive."""
    now = clock.now()
    rows = Device.objects.filter(
        protocol=PROTOCOL,
        is_approved=True,
        register_expires_at__gt=now,
        remote_address__startswith="udp:",
    ).values_list("device_id", "remote_address", "register_expires_at")
    restorable = []
    for device_id, remote, until in rows:
        try:
            restorable.append((device_id, Remote.parse(remote), (until - now).total_seconds()))
        except ValueError:
            continue
    return restorable


def _prepare() -> list[tuple[str, Remote, float]]:
    liveness.default().directory.load()  # keepalives are checked in memory from now on
    liveness.keep_directory_fresh()
    return restorable_registrations()


async def start(host: str | None = None, port: int | None = None) -> Gb28181Server:
    """Start the SIP server from settings (what ``campus-safety serve`` calls)."""
    restorable = await sync_to_async(_prepare)()
    server = await start_gb28181(
        build_interface(),
        settings.GB28181_HOST if host is None else host,
        settings.GB28181_PORT if port is None else port,
        config=config_from_settings(),
        reuse_port=settings.GB28181_REUSE_PORT,
    )
    restored = sum(server.restore_registration(*entry) for entry in restorable)
    if restored:
        log.info("GB28181: %d registrations taken back from before the restart", restored)
    gateway_link.connect(Link(server))
    media_control.connect(server.dialogs)  # live video: the video app's INVITEs go here
    return server


# --- what the device pages may ask of the running server -----------------------------------


def _plain(message: Any) -> dict[str, Any]:
    """A parsed MANSCDP answer as plain values (the XML tree left out)."""
    values = {
        f.name: getattr(message, f.name)
        for f in dataclasses.fields(message)
        if f.name not in ("tree", "fields")
    }
    for name, value in values.items():
        if isinstance(value, tuple):
            values[name] = [
                dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in value
            ]
    return values


class Link:
    """``devices.gateway_link.GatewayLink`` for this server: live queries from the UI
    (on the server's own loop, whichever thread asks) and the adapters' counters."""

    def __init__(self, server: Gb28181Server) -> None:
        self.server = server

    def is_running(self) -> bool:
        return gb._running is self.server

    def is_registered(self, device_id: str) -> bool:
        return self.server.registration(device_id) is not None

    async def query(self, what: str, device_id: str) -> dict[str, Any]:
        calls = {
            "status": gb.query_device_status,
            "info": gb.query_device_info,
            "catalog": gb.query_catalog,
        }
        if what not in calls:
            raise gateway_link.QueryError(f"unknown query {what!r}")
        try:
            answer = await calls[what](device_id)
        except gb.DeviceNotRegistered:
            raise gateway_link.QueryError("the device is not registered") from None
        except gb.QueryTimeout:
            raise gateway_link.QueryError("the device did not answer in time") from None
        except gb.GatewayError as exc:
            raise gateway_link.QueryError(str(exc)) from None
        if what != "catalog":
            return _plain(answer)
        channels = [channel_report(item) for item in answer.items]
        return {"sum_num": answer.sum_num, "is_complete": answer.is_complete, "channels": channels}

    def stats(self) -> dict[str, Any]:
        from campus_safety.gateway import mqtt

        sip = dict(self.server.stats)
        sip["registered"] = len(self.server.registrations)
        sip["keepalive_shapes"] = len(self.server.keepalive_bodies)
        sip["keepalives_not_parsed"] = self.server.keepalive_bodies.hits
        return {"gb28181": sip, "mqtt": mqtt.metrics()}
