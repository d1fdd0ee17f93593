"""One process, everything in it (the embedded mode of ARCHITECTURE.md §4): the ASGI web
server, the liveness sweeper, and — when enabled — the GB/T 28181 SIP server and the
MQTT subscriber, sharing one event loop. Production runs the same pieces as separate
processes (``serve --no-gateway``, ``liveness``, ``mqtt``) against Redis and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    workers: int = 1
    gateway: bool = True  # SIP + MQTT + liveness in this process
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


def freeze_start_up_objects() -> None:
    """Load every view now, then move what start-up made (Django, the apps, their
    modules) out of the collector's sight: it is never garbage, and a full collection
    that walked it stalled every alarm queued behind it — 55–82 ms measured, 17–27 ms
    after this (``gc.callbacks`` timings during bench/alarm_latency.py)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    gc.collect()
    gc.freeze()


async def run(options: Options) -> None:
    """Serve until interrupted, then stop every part cleanly."""
    from campus_safety.alarms.escalation import run_alarm_timers_loop
    from campus_safety.devices.liveness import run_liveness
    from campus_safety.gateway import committer
    from campus_safety.hazards.deadlines import run_hazard_deadlines_loop
    from campus_safety.patrols.sweep import run_patrol_sweep_loop

    config = uvicorn.Config(
        "campus_safety.asgi:application",
        host=options.host,
        port=options.port,
        log_level="info",
        proxy_headers=True,
        lifespan="off",
    )
    web = uvicorn.Server(config)
    stop = asyncio.Event()
    background: list[asyncio.Task] = []
    sip = mqtt = None
    sys.setswitchinterval(settings.SERVE_SWITCH_INTERVAL)
    # One writer thread stores what every adapter receives (group commit).
    committer.start()
    if connection.vendor == "sqlite":
        from campus_safety.sqlite_checkpoints import run_checkpoint_loop

        background.append(asyncio.create_task(run_checkpoint_loop(stop), name="checkpoints"))
    if options.gateway:
        background.append(asyncio.create_task(run_liveness(stop), name="liveness"))
        background.append(asyncio.create_task(run_alarm_timers_loop(stop), name="alarm-timers"))
        background.append(asyncio.create_task(run_patrol_sweep_loop(stop), name="patrol-sweep"))
        background.append(
            asyncio.create_task(run_hazard_deadlines_loop(stop), name="hazard-deadlines")
        )
        if settings.GB28181_ENABLED:
            from campus_safety.gateway.gb28181 import platform

            sip = await platform.start()
        if settings.MQTT_URL:
            from campus_safety.gateway.mqtt import start_mqtt

            mqtt = await asyncio.to_thread(start_mqtt)
    if options.simulate:
        from campus_safety.simulator.fleet import run_demo

        simulated = run_demo(
            stop, sip_port=sip.port if sip else None, http_url=f"http://127.0.0.1:{options.port}"
        )
        background.append(asyncio.create_task(simulated, name="simulator"))
    freeze_start_up_objects()
    try:
        await web.serve()
    finally:
        stop.set()
        if sip is not None:
            sip.close()
        if mqtt is not None:
            await asyncio.to_thread(mqtt.stop)
        await asyncio.to_thread(committer.stop)
        for task in background:
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(task, timeout=10)
