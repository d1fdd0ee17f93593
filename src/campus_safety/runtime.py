"""What ``campus-safety serve`` runs: by default everything in one process (the embedded
mode of ARCHITECTURE.md §4) — the ASGI web server, every installed app's periodic jobs
(``<app>/tasks.py``), the GB/T 28181 SIP server and the MQTT subscriber, sharing one
event loop. Scaled out (issue #22), each process runs some **roles** (``--role``):

* ``web`` — pages, API, live streams (stateless; streams fan out through Redis);
* ``http-ingest`` — the devices' HTTP ingest path (``POST /api/v1/ingest``);
* ``sip`` — the GB/T 28181 server (liveness shared through Redis);
* ``mqtt`` — the MQTT subscriber (a shared subscription: any number);
* ``jobs`` — the periodic jobs, each run once cluster-wide (``cluster/leadership.py``).

``SERVICES`` lists what each role starts; every process answers ``/healthz`` on its
HTTP port whatever its roles (the probes of docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from django.conf import settings
from django.db import connection

from campus_safety import fd_limits, periodic

log = logging.getLogger(__name__)

# A stop (SIGTERM, SIGINT) takes at most about DRAIN_SECONDS + PARTS_SECONDS (issue #13:
# "≤ 5 s"). Requests in flight get DRAIN_SECONDS to be answered — an ingest commit takes
# milliseconds, a device slower than that is cut off unanswered and sends again — then
# the gateways, the ingestion writer and the periodic jobs share PARTS_SECONDS.
DRAIN_SECONDS = 2.0
PARTS_SECONDS = 2.0


ROLES = ("web", "http-ingest", "sip", "mqtt", "jobs")
ALL_IN_ONE = frozenset(ROLES)


def parse_roles(values: Iterable[str]) -> frozenset[str]:
    """``["web,sip", "jobs"]`` → {"web", "sip", "jobs"}; all roles when none is given.
    An unknown role is a ValueError naming the known ones."""
    roles = {part.strip() for value in values for part in value.split(",") if part.strip()}
    unknown = roles - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(sorted(unknown))}; roles: {', '.join(ROLES)}")
    return frozenset(roles) or ALL_IN_ONE


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    workers: int = 1
    roles: frozenset[str] = field(default=ALL_IN_ONE)
    simulate: bool = False  # the demo city's devices too (campus_safety.simulator)

    @property
    def gateway(self) -> bool:  # the device gateways (SIP, MQTT) in this process
        return bool({"sip", "mqtt"} & self.roles)

    @property
    def tasks(self) -> bool:  # the apps' periodic jobs (tasks.py) in this process
        return "jobs" in self.roles


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop (installed with uvicorn[standard]) unless ``SERVE_EVENT_LOOP=asyncio``.

    Every datagram, connection and timer of the gateways goes through the loop: uvloop
    reads a UDP datagram and calls the protocol from C, where asyncio's selector loop
    runs a few dozen lines of Python per datagram (bench/keepalive.py, README)."""
    if settings.SERVE_EVENT_LOOP != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a platform without uvloop wheels
        log.warning("uvloop is not installed: serving on asyncio's own event loop")
        return None
    return uvloop.new_event_loop


def warm_up(web: uvicorn.Config) -> None:
    """Start-up's slow work, done before any device can connect: every view module and
    the web application imported, and what that left behind collected. Done once the
    gateways listened, it held their loop for 1.2–2.4 s, and the first SIP alarm after
    a start waited 1.15 s for its ``Result OK`` (issue #13)."""
    from django.urls import get_resolver

    started = time.perf_counter()
    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    web.load()  # the ASGI application and its middleware (uvicorn skips it then)
    gc.collect()
    elapsed = time.perf_counter() - started
    log.info("start-up warmed: views and web application loaded in %.2f s", elapsed)


def freeze_start_up_objects() -> None:
    """Move what start-up made (Django, the apps, their modules, the gateways' tables)
    out of the collector's sight: it is never garbage, and a full collection that walked
    it stalled every alarm queued behind it — 55–82 ms measured, 17–27 ms after this
    (``gc.callbacks`` timings during bench/alarm_latency.py). Constant time: the
    collection before it ran in ``warm_up``, before the gateways listened."""
    gc.freeze()


class Parts:
    """What ``run`` starts beside the web server, stopped in dependency order."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()  # the periodic jobs and the simulator watch it
        self.background: list[asyncio.Task] = []
        self.sip: Any = None
        self.mqtt: Any = None
        self.is_stopped = False

    def begin_stop(self) -> None:
        """The moment a stop begins: every live stream ends (its console reconnects to
        the next process and replays), the periodic jobs finish the run in hand."""
        from campus_safety.live import fanout
        from campus_safety.video import streams

        fanout.end_streams()
        streams.hub.end_viewers()  # video responses end too (uvicorn waits for them)
        self.stopping.set()

    async def stop(self, seconds: float) -> None:
        """Once no request is in flight: the gateways (no device hears an acknowledgement
        from here on; MQTT acknowledges only what its worker committed), then the
        ingestion writer (it commits what they had handed it), then the periodic jobs,
        within ``seconds``. What a device was not told is stored is sent again."""
        from campus_safety.gateway import committer

        if self.is_stopped:
            return
        self.is_stopped = True
        self.begin_stop()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds

        def left() -> float:
            return max(deadline - loop.time(), 0.1)

        if self.sip is not None:
            self.sip.close()
        with contextlib.suppress(TimeoutError):
            if self.mqtt is not None:
                await asyncio.wait_for(asyncio.to_thread(self.mqtt.stop, left() / 2), left())
            await asyncio.wait_for(asyncio.to_thread(committer.stop, left()), left())
        if self.background:
            await asyncio.wait(self.background, timeout=left())
        if settings.REDIS_URL:
            from campus_safety.cluster import members

            await asyncio.to_thread(members.stop)


class WebServer(uvicorn.Server):
    """uvicorn, whose shutdown stops the whole platform. uvicorn re-raises the signal it
    caught as soon as ``serve`` returns — SIGTERM's default action then ends the process
    on the spot — so nothing after ``serve`` runs: every part stops in here."""

    def __init__(self, config: uvicorn.Config, parts: Parts) -> None:
        super().__init__(config)
        self.parts = parts

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # An open live stream is a response in flight, which uvicorn waits for: end them
        # first (they would last up to LIVE_STREAM_MAX_SECONDS). uvicorn then stops
        # accepting, and waits up to DRAIN_SECONDS for the requests in flight.
        self.parts.begin_stop()
        await super().shutdown(sockets)
        await self.parts.stop(PARTS_SECONDS)


@dataclass(frozen=True)
class Service:
    """One thing a role starts beside the HTTP server; ``start`` keeps in ``parts``
    what ``Parts.stop`` must stop (a service shared by roles starts once, by name)."""

    name: str
    start: Callable[[Parts, Options], Awaitable[None]]


async def _start_ingest_writer(parts: Parts, options: Options) -> None:
    from campus_safety.gateway import committer

    committer.start()  # one writer thread stores what every adapter receives (group commit)


async def _start_sip(parts: Parts, options: Options) -> None:
    if settings.GB28181_ENABLED:
        from campus_safety.gateway.gb28181 import platform

        parts.sip = await platform.start()


async def _start_mqtt(parts: Parts, options: Options) -> None:
    if settings.MQTT_URL:
        from campus_safety.gateway.mqtt_adoption import start_consumer

        parts.mqtt = await asyncio.to_thread(start_consumer)


async def _start_jobs(parts: Parts, options: Options) -> None:
    for task in periodic.installed_tasks():  # each led by one process cluster-wide
        job = periodic.supervise(task, parts.stopping)
        parts.background.append(asyncio.create_task(job, name=task.name))


INGEST_WRITER = Service("ingest-writer", _start_ingest_writer)
SERVICES: dict[str, list[Service]] = {
    "web": [],
    "http-ingest": [INGEST_WRITER],
    "sip": [INGEST_WRITER, Service("sip", _start_sip)],
    "mqtt": [INGEST_WRITER, Service("mqtt", _start_mqtt)],
    "jobs": [Service("jobs", _start_jobs)],
}


def services_for(roles: frozenset[str]) -> list[Service]:
    """The services of ``roles``, in ``ROLES`` order, each once."""
    found: dict[str, Service] = {}
    for role in ROLES:
        if role in roles:
            for service in SERVICES.get(role, ()):
                found.setdefault(service.name, service)
    return list(found.values())


HEALTH_PATHS = frozenset({"/healthz"})


def application_for(roles: frozenset[str]) -> Any:
    """The ASGI application of a process with ``roles``: the whole site for ``web``, the
    ingest path for ``http-ingest``, and ``/healthz`` for every process (probes); any
    other path is 404 in a process that does not serve it."""
    from campus_safety.asgi import application
    from campus_safety.gateway.http_asgi import PATH as INGEST_PATH

    if roles >= {"web", "http-ingest"}:
        return application
    allowed = set(HEALTH_PATHS) | ({INGEST_PATH} if "http-ingest" in roles else set())

    async def served(scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in allowed or ("web" in roles and path != INGEST_PATH):
            await application(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 404,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"not served by this process\n"})

    return served


async def run(options: Options) -> None:
    """Serve until interrupted, then stop every part cleanly."""
    config = uvicorn.Config(
        application_for(options.roles),
        host=options.host,
        port=options.port,
        log_level="info",
        # uvicorn logs through settings.LOGGING (console_log.py): one format and time
        # zone, and ACCESS_LOG decides which requests get an access line
        log_config=None,
        access_log=settings.ACCESS_LOG != "off",
        proxy_headers=True,
        lifespan="off",
        timeout_graceful_shutdown=DRAIN_SECONDS,
    )
    parts = Parts()
    web = WebServer(config, parts)
    stop, background = parts.stopping, parts.background
    sys.setswitchinterval(settings.SERVE_SWITCH_INTERVAL)
    # every client, device connection and database file takes a descriptor: as many as
    # the hard limit allows, and each part that holds them for outsiders gets a bounded
    # share (fd_limits.py)
    log.info("open-file limit: %d descriptors", fd_limits.raise_open_file_limit())
    warm_up(config)
    if connection.vendor == "sqlite":
        from campus_safety.sqlite_checkpoints import run_checkpoint_loop

        background.append(asyncio.create_task(run_checkpoint_loop(stop), name="checkpoints"))
    log.info("roles: %s", ", ".join(role for role in ROLES if role in options.roles))
    for service in services_for(options.roles):
        await service.start(parts, options)
    if settings.REDIS_URL:  # this process, its roles and port, visible cluster-wide
        from campus_safety.cluster import members

        url = members.advertised_url(options.host, options.port)
        members.start(sorted(options.roles), options.port, url)
    if options.simulate:
        from campus_safety.simulator.fleet import run_demo

        sip = parts.sip
        simulated = run_demo(
            stop, sip_port=sip.port if sip else None, http_url=f"http://127.0.0.1:{options.port}"
        )
        background.append(asyncio.create_task(simulated, name="simulator"))
    freeze_start_up_objects()
    try:
        await web.serve()
    finally:  # when serve ends without a signal (start-up failed): stop what did start
        await parts.stop(PARTS_SECONDS)
