"""One process, everything in it (the embedded mode of ARCHITECTURE.md §4): the ASGI web
server, every installed app's periodic jobs (``<app>/tasks.py``: liveness, alarm timers,
the patrol sweep, hazard deadlines, import jobs) and — when enabled — the GB/T 28181 SIP
server and the MQTT subscriber, sharing one event loop. Production runs the same pieces
as separate processes (``serve --no-gateway --no-tasks`` for web, ``mqtt``, and each
app's command: ``liveness``, ``alarm-timers --loop`` …) against Redis and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    workers: int = 1
    gateway: bool = True  # the device gateways (SIP, MQTT) in this process
    tasks: bool = True  # the apps' periodic jobs (tasks.py) in this process
    simulate: bool = False  # the demo city's devices too (campus_safety.simulator)


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

        fanout.end_streams()
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


async def run(options: Options) -> None:
    """Serve until interrupted, then stop every part cleanly."""
    from campus_safety.gateway import committer

    config = uvicorn.Config(
        "campus_safety.asgi:application",
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
    # One writer thread stores what every adapter receives (group commit).
    committer.start()
    if connection.vendor == "sqlite":
        from campus_safety.sqlite_checkpoints import run_checkpoint_loop

        background.append(asyncio.create_task(run_checkpoint_loop(stop), name="checkpoints"))
    if options.tasks:  # every installed app's periodic jobs (<app>/tasks.py)
        for task in periodic.installed_tasks():
            background.append(asyncio.create_task(task.run(stop), name=task.name))
    if options.gateway:
        if settings.GB28181_ENABLED:
            from campus_safety.gateway.gb28181 import platform

            parts.sip = await platform.start()
        if settings.MQTT_URL:
            from campus_safety.gateway.mqtt import start_mqtt

            parts.mqtt = await asyncio.to_thread(start_mqtt)
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
