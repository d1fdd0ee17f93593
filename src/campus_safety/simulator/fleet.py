"""Driving the demo city's devices against a running platform (``campus-safety simulate``).

Which devices: read from the registry (the simulator runs beside the platform on the
same database). GB/T 28181 NVRs register and carry their cameras as catalog channels,
one-key alarm boxes register on their own; MQTT and HTTP devices publish and post.
What they do: keepalives at their interval (or a faster one for benches), alarms at a
set rate across the city, a small share that goes offline for a few minutes and comes
back, and snapshot pictures for every camera.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from campus_safety import clock
from campus_safety.devices import status_reasons
from campus_safety.devices.models import Device, StatusChange
from campus_safety.simulator import patrol_walkers
from campus_safety.simulator.http_devices import HttpDevice, HttpFleet
from campus_safety.simulator.mqtt_devices import MqttFleet
from campus_safety.simulator.sip_devices import Channel, SipDevice, SipFleet, SipTarget
from campus_safety.simulator.snapshots import SnapshotServer

log = logging.getLogger(__name__)

ALARM_KINDS = (Device.Kind.ONE_KEY_ALARM, Device.Kind.EMERGENCY_BUTTON)


@dataclass
class Options:
    """How to reach the platform and how the devices behave."""

    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    platform_id: str = ""
    domain: str = ""
    default_password: str = ""
    http_url: str = "http://127.0.0.1:8000"
    mqtt_url: str = ""
    keepalive_interval: float | None = None  # None: each device's own
    alarms_per_minute: float = 1.0
    offline_share: float = 0.02
    offline_minutes: tuple[float, float] = (4.0, 8.0)
    snapshot_url: str = ""  # empty: no snapshot server
    devices_per_socket: int = 50
    register_concurrency: int = 100
    report_every: float = 30.0


@dataclass
class Plan:
    """The devices to emulate, split by protocol."""

    sip: list[SipDevice] = field(default_factory=list)
    mqtt: list[str] = field(default_factory=list)
    http: list[HttpDevice] = field(default_factory=list)
    alarm_ids: set[str] = field(default_factory=set)
    cameras: dict[str, tuple[str, str]] = field(default_factory=dict)
    interval: float = 60.0

    @property
    def count(self) -> int:
        return len(self.sip) + len(self.mqtt) + len(self.http)


def options_from_settings(**overrides: Any) -> Options:
    """The platform as this process's settings describe it."""
    values: dict[str, Any] = {
        "sip_port": settings.GB28181_PORT,
        "platform_id": settings.GB28181_PLATFORM_ID,
        "domain": settings.GB28181_DOMAIN,
        "default_password": settings.GB28181_PASSWORD,
        "http_url": f"http://127.0.0.1:{settings.PORT}",
        "mqtt_url": settings.MQTT_URL,
        "snapshot_url": settings.SIMULATOR_SNAPSHOT_URL,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Options(**values)


def load_plan(
    *, limit: int | None = None, schools: Sequence[int] | None = None, mqtt: bool = True
) -> Plan:
    """The approved standalone devices (NVRs with their channels, alarm boxes …) of the
    registry, or of ``schools``, at most ``limit`` of them (a small run for a test)."""
    standalone = Device.objects.filter(is_approved=True, parent__isnull=True).order_by("pk")
    if schools is not None:
        standalone = standalone.filter(school_id__in=schools)
    if not mqtt:
        standalone = standalone.exclude(protocol=Device.Protocol.MQTT)
    rows = list(
        standalone.values_list(
            "pk", "device_id", "name", "kind", "protocol", "password", "secret",
            "manufacturer", "model", "keepalive_interval", "school__name",
        )[: limit or None]
    )  # fmt: skip
    channels: dict[int, list[Channel]] = {}
    cameras: dict[str, tuple[str, str]] = {}
    channel_rows = Device.objects.filter(parent_id__in=[r[0] for r in rows]).values_list(
        "parent_id", "device_id", "name", "manufacturer", "model", "address", "kind",
        "school__name",
    )  # fmt: skip
    for parent, device_id, name, vendor, model, address, kind, school in channel_rows.iterator(
        5000
    ):
        channels.setdefault(parent, []).append(Channel(device_id, name, vendor, model, address))
        if kind == Device.Kind.CAMERA:
            cameras[device_id] = (name, school or "")
    plan = Plan(cameras=cameras)
    intervals = Counter()
    for pk, device_id, name, kind, protocol, password, secret, vendor, model, interval, _ in rows:
        intervals[interval] += 1
        if kind in ALARM_KINDS:
            plan.alarm_ids.add(device_id)
        if protocol == Device.Protocol.GB28181:
            plan.sip.append(
                SipDevice(device_id, password, name, vendor, model, channels.get(pk, []))
            )
        elif protocol == Device.Protocol.MQTT:
            plan.mqtt.append(device_id)
        elif secret:
            plan.http.append(HttpDevice(device_id, secret, kind))
    if intervals:
        plan.interval = float(intervals.most_common(1)[0][0])
    return plan


class Ticker:
    """Calls ``send(item)`` for every item once per ``interval``, spread evenly over it
    (a city's devices do not all speak in the same second)."""

    def __init__(self, items: Sequence[Any], interval: float, step: float = 0.05) -> None:
        self.items = list(items)
        self.interval = interval
        self.step = step

    async def run(self, send: Callable[[Any], Any], stop: asyncio.Event) -> None:
        if not self.items:
            return
        slots = max(1, round(self.interval / self.step))
        started = time.monotonic()
        tick = 0
        while not stop.is_set():
            first = (tick % slots) * len(self.items) // slots
            last = ((tick % slots) + 1) * len(self.items) // slots
            for item in self.items[first:last]:
                send(item)
            tick += 1
            pause = started + tick * self.step - time.monotonic()
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)


class Simulation:
    """One run: the fleets, their keepalives, alarms, outages and snapshots."""

    def __init__(self, plan: Plan, options: Options, *, seed: int | None = None) -> None:
        self.plan = plan
        self.options = options
        self.rng = random.Random(seed)
        self.interval = options.keepalive_interval or plan.interval
        self.sip = SipFleet(
            SipTarget(
                options.sip_host,
                options.sip_port,
                options.platform_id,
                options.domain,
                options.default_password,
            ),
            plan.sip,
            devices_per_socket=options.devices_per_socket,
        )
        self.mqtt = MqttFleet(options.mqtt_url) if options.mqtt_url and plan.mqtt else None
        self.http = HttpFleet(options.http_url)
        self.snapshots = SnapshotServer(plan.cameras) if options.snapshot_url else None
        self.down: dict[str, float] = {}  # device_id → back at (monotonic)
        self.stats: Counter[str] = Counter()
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        """Sockets, connections, the snapshot server; then register the SIP devices."""
        await self.sip.start()
        if self.mqtt is not None:
            await asyncio.to_thread(self.mqtt.start)
        if self.snapshots is not None:
            parts = urlsplit(self.options.snapshot_url)
            self.snapshots.prefix = parts.path or "/"
            try:
                await self.snapshots.start(parts.hostname or "127.0.0.1", parts.port or 80)
            except OSError as exc:
                log.warning("simulator: snapshot server not started (%s)", exc)
                self.snapshots = None
        statuses = await self.sip.register_all(concurrency=self.options.register_concurrency)
        log.info(
            "simulator: %d GB/T 28181 devices registered (%s), %d MQTT, %d HTTP",
            statuses.get(200, 0),
            ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(statuses.items())),
            len(self.plan.mqtt) if self.mqtt else 0,
            len(self.plan.http),
        )

    def is_down(self, device_id: str) -> bool:
        return device_id in self.down

    def _keepalive_sip(self, device: SipDevice) -> None:
        if device.is_registered and not self.is_down(device.device_id):
            self.sip.send_keepalive(device, lambda response: None)

    def _heartbeat_mqtt(self, device_id: str) -> None:
        if self.mqtt is not None and not self.is_down(device_id):
            self.mqtt.heartbeat(device_id)

    def _heartbeat_http(self, device: HttpDevice) -> None:
        if not self.is_down(device.device_id):
            self._spawn(self.http.heartbeat(device))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def raise_alarm(self) -> str | None:
        """One alarm from a random alarm box that is up; returns its ID."""
        candidates = [d for d in self.plan.alarm_ids if not self.is_down(d)]
        if not candidates:
            return None
        device_id = self.rng.choice(sorted(candidates))
        description = "一键报警（模拟）"
        sip = next((d for d in self.plan.sip if d.device_id == device_id), None)
        if sip is not None:
            self._spawn(self.sip.alarm(sip, description=description))
        elif device_id in self.plan.mqtt and self.mqtt is not None:
            self.mqtt.alarm(device_id, description=description)
        else:
            http = next((d for d in self.plan.http if d.device_id == device_id), None)
            if http is None:
                return None
            self._spawn(self.http.alarm(http, description))
        self.stats["alarms"] += 1
        return device_id

    async def _alarms(self, stop: asyncio.Event) -> None:
        rate = self.options.alarms_per_minute
        while rate > 0 and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.rng.expovariate(rate / 60.0))
            if not stop.is_set():
                await self.raise_alarm()

    async def _outages(self, stop: asyncio.Event) -> None:
        """Every minute a few devices lose power for some minutes, then come back (SIP
        ones register again, as after a reboot)."""
        everyone = [d.device_id for d in self.plan.sip] + self.plan.mqtt
        everyone += [d.device_id for d in self.plan.http]
        low, high = self.options.offline_minutes
        while self.options.offline_share > 0 and not stop.is_set():
            now = time.monotonic()
            for device_id, back_at in list(self.down.items()):
                if back_at <= now:
                    del self.down[device_id]
                    self.stats["back"] += 1
                    device = next((d for d in self.plan.sip if d.device_id == device_id), None)
                    if device is not None:
                        self._spawn(self.sip.register(device))
            # per minute, so that about ``offline_share`` of the fleet is down at a time
            mean_down = (low + high) / 2
            share = self.options.offline_share / max(mean_down, 1.0)
            for device_id in everyone:
                if device_id not in self.down and self.rng.random() < share:
                    self.down[device_id] = now + 60 * self.rng.uniform(low, high)
                    self.stats["outages"] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 60)

    async def _report(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.options.report_every)
            log.info("simulator: %s", self.summary())

    def summary(self) -> dict[str, Any]:
        sip = self.sip.stats
        return {
            "registered": sum(d.is_registered for d in self.plan.sip),
            "keepalives": sip["keepalives"],
            "answered": sip["answered"],
            "resent": sip["resent"],
            "timeouts": sip["timeouts"],
            "alarms": self.stats["alarms"],
            "alarms_confirmed": sip["alarms_confirmed"],
            "catalogs_sent": sip["catalogs_sent"],
            "mqtt_published": self.mqtt.stats["published"] if self.mqtt else 0,
            "http_posted": self.http.stats["posted"],
            "down_now": len(self.down),
            "snapshots": self.snapshots.served if self.snapshots else 0,
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set."""
        await self.start()
        loops = [
            Ticker(self.plan.sip, self.interval).run(self._keepalive_sip, stop),
            Ticker(self.plan.mqtt, self.interval).run(self._heartbeat_mqtt, stop),
            Ticker(self.plan.http, self.interval).run(self._heartbeat_http, stop),
            self._alarms(stop),
            self._outages(stop),
            self._report(stop),
            patrol_walkers.walk(self, stop),  # guard tours and 护学岗 check-ins
        ]
        try:
            await asyncio.gather(*loops)
        finally:
            self.close()

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.sip.close()
        if self.mqtt is not None:
            self.mqtt.close()
        if self.snapshots is not None:
            self.snapshots.close()


NO_BROKER = status_reasons.NO_BROKER.text()


def set_aside_mqtt_devices() -> tuple[int, int]:
    """A demo without a broker cannot make its MQTT devices speak: rather than leave
    them 未知 (never heard from) all demo long, show them offline with the reason, in
    the device's history like any status change. Not announced: nothing happened to
    them. A device heard from within its deadline (a demo with a broker stopped a moment
    ago) is left to the liveness sweeper, which takes it offline when the deadline
    passes — set aside now, the sweeper would bring it back online at once. A demo with
    a broker brings them online at their first heartbeat. Returns (the MQTT devices, how
    many were set aside now); run before the platform's jobs, whose sweeper then loads
    this state."""
    mqtt = Device.objects.filter(protocol=Device.Protocol.MQTT, is_approved=True)
    now = clock.now()
    with transaction.atomic():
        rows = [
            (pk, status)
            for pk, status, seen, interval, count in mqtt.filter(
                status__in=(Device.Status.UNKNOWN, Device.Status.ONLINE)
            ).values_list("pk", "status", "last_seen_at", "keepalive_interval", "keepalive_count")
            if seen is None or seen + dt.timedelta(seconds=interval * count) <= now
        ]
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            Device.objects.filter(pk__in=[pk for pk, _ in chunk]).update(
                status=Device.Status.OFFLINE, status_since=now
            )
            StatusChange.objects.bulk_create(
                StatusChange(device_id=pk, at=now, from_status=status,
                             to_status=Device.Status.OFFLINE, reason=NO_BROKER)
                for pk, status in chunk
            )  # fmt: skip
    return mqtt.count(), len(rows)


# The demo's alarm presses: a trickle (one every two minutes or so across the city) that
# the simulated dispatcher takes (duty.py), not a flood that fills the alarm wall.
DEMO_ALARMS_PER_MINUTE = 0.5


async def run_demo(stop: asyncio.Event, **overrides: Any) -> None:
    """The whole demo city against the platform this process's settings describe (what
    ``campus-safety serve --simulate`` runs beside the platform): its devices, its
    guards and gate-post people, and the people on duty who answer its alarms. The day
    up to now was made before the platform started (demo_day.py, cli.serve)."""
    from asgiref.sync import sync_to_async

    from campus_safety.simulator import demo_gate, duty

    overrides.setdefault("alarms_per_minute", DEMO_ALARMS_PER_MINUTE)
    options = options_from_settings(**overrides)
    plan = await sync_to_async(load_plan)(mqtt=bool(options.mqtt_url))
    log.info(
        "simulator: %d devices (%d GB/T 28181 with %d channels, %d MQTT, %d HTTP)",
        plan.count,
        len(plan.sip),
        sum(len(d.channels) for d in plan.sip),
        len(plan.mqtt),
        len(plan.http),
    )
    await asyncio.gather(Simulation(plan, options).run(stop), duty.run(stop), demo_gate.run(stop))
