"""A gate camera on GB/T 28181 and the platform's real SIP server for it, shared by the
scripted-peer tests (test_gb28181_plates.py) and the sipp tests (test_plates_sipp.py)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from asgiref.sync import sync_to_async
from django.db import connections

from campus_safety.devices import liveness
from campus_safety.devices.models import Device
from campus_safety.gateway.gb28181 import platform
from tests.devices.support import DeviceFactory, fresh_liveness


@contextlib.contextmanager
def gate_camera_of(school, device_id: str) -> Iterator[Device]:
    """An approved gate IPC of ``school`` that registers with the platform password."""
    camera = DeviceFactory(
        device_id=device_id,
        kind=Device.Kind.CAMERA,
        protocol=Device.Protocol.GB28181,
        school=school,
        password="",
    )
    fresh_liveness()
    try:
        yield camera
    finally:
        liveness.reset()


@contextlib.contextmanager
def platform_sip_server() -> Iterator[int]:
    """The real GB/T 28181 server bound to the platform, on a loop of its own; its port.
    Its database work runs in asgiref's worker thread, whose connection is closed after
    (else PostgreSQL cannot drop the test database: "being accessed by other users")."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = asyncio.run_coroutine_threadsafe(platform.start("127.0.0.1", 0), loop).result(10)
    try:
        yield running.port
    finally:
        running.close()
        asyncio.run_coroutine_threadsafe(running.wait_closed(), loop).result(5)
        asyncio.run_coroutine_threadsafe(sync_to_async(connections.close_all)(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
