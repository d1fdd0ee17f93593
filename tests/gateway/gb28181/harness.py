"""A fake platform (the outside world) and a real server on 127.0.0.1 in a thread.

The protocol peer is real (sipp, or raw sockets); only what the server would hand to
the apps is faked, in memory, so these tests need no database.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from campus_safety.gateway.gb28181 import server as gb

PLATFORM_ID = "37140000002000000001"
DOMAIN = "3714000000"
NVR_ID = "37140200001180000001"  # school NVR (type 118)
ALARM_BOX_ID = "37140200001340000002"  # one-key alarm box: alarm input (type 134)
ALARM_INPUT_ID = "37140200001340000001"  # an NVR's alarm-input channel
PASSWORD = "Campus-2024"


@dataclass
class Outcome:
    outcome: str
    reason: str = ""


@dataclass
class FakePlatform:
    """Records what the server hands over; answers credentials from a dict."""

    devices: dict[str, tuple[str | None, bool]] = field(
        default_factory=lambda: {NVR_ID: (PASSWORD, True), ALARM_BOX_ID: (PASSWORD, True)}
    )
    registered: list[tuple[str, int, gb.Remote]] = field(default_factory=list)
    unregistered: list[str] = field(default_factory=list)
    keepalives: list[tuple[str, gb.Remote]] = field(default_factory=list)
    alarms: list[gb.ReceivedAlarm] = field(default_factory=list)
    alarm_finished_at: list[float] = field(default_factory=list)
    catalogs: list[tuple[str, list]] = field(default_factory=list)
    pending: list[tuple[str, gb.Remote]] = field(default_factory=list)
    alarm_delay: float = 0.0
    alarm_outcome: str = "accepted"
    alarm_error: Exception | None = None
    # device → host of its last registration, as the platform keeps it durably
    last_registered: dict[str, str] = field(default_factory=dict)

    async def device_credentials(self, device_id: str) -> tuple[str | None, bool]:
        return self.devices.get(device_id, (None, False))

    async def on_registered(self, device_id: str, expires: int, remote: gb.Remote) -> None:
        self.registered.append((device_id, expires, remote))
        self.last_registered[device_id] = remote.host

    async def sender_check(self, device_id: str, remote: gb.Remote) -> gb.SenderCheck:
        password, is_approved = self.devices.get(device_id, (None, False))
        if password is None or not is_approved:
            return gb.SenderCheck.UNKNOWN
        host = self.last_registered.get(device_id)
        if host is None:
            return gb.SenderCheck.UNVERIFIED
        return gb.SenderCheck.LAST_REGISTRATION if host == remote.host else gb.SenderCheck.ELSEWHERE

    async def on_unregistered(self, device_id: str) -> None:
        self.unregistered.append(device_id)

    def on_keepalive(self, device_id: str, remote: gb.Remote) -> None:
        self.keepalives.append((device_id, remote))

    async def on_alarm(self, alarm: gb.ReceivedAlarm) -> Outcome:
        await asyncio.sleep(self.alarm_delay)  # "committing"
        if self.alarm_error is not None:
            raise self.alarm_error
        self.alarms.append(alarm)
        self.alarm_finished_at.append(time.time())
        return Outcome(self.alarm_outcome)

    async def on_catalog(self, device_id: str, items: list) -> None:
        self.catalogs.append((device_id, items))

    async def on_pending(self, device_id: str, remote: gb.Remote) -> None:
        self.pending.append((device_id, remote))
        self.devices[device_id] = ("", False)

    def interface(self) -> gb.PlatformInterface:
        return gb.PlatformInterface(
            device_credentials=self.device_credentials,
            on_registered=self.on_registered,
            on_unregistered=self.on_unregistered,
            on_keepalive=self.on_keepalive,
            on_alarm=self.on_alarm,
            on_catalog=self.on_catalog,
            on_pending=self.on_pending,
            sender_check=self.sender_check,
        )


def wait_until(condition: Callable[[], Any], timeout: float = 3.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


class ServerThread:
    """The server on its own event loop in a thread, so tests stay plain functions."""

    def __init__(self, platform: FakePlatform, config: gb.ServerConfig) -> None:
        self.platform = platform
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: gb.Gb28181Server = self.call(
            gb.start_gb28181(platform.interface(), "127.0.0.1", 0, config=config)
        )
        self.port = self.server.port

    def submit(self, coroutine: Any) -> concurrent.futures.Future:
        """Run on the server loop; the test thread stays free to play the device."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def call(self, coroutine: Any, timeout: float = 10.0) -> Any:
        return self.submit(coroutine).result(timeout)

    def stop(self) -> None:
        async def shutdown() -> None:
            self.server.close()
            await self.server.wait_closed()

        self.call(shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def make_config(**overrides: Any) -> gb.ServerConfig:
    values: dict[str, Any] = {
        "platform_id": PLATFORM_ID,
        "domain": DOMAIN,
        "catalog_on_register": False,
        "catalog_timeout": 3.0,
        "query_timeout": 2.0,
        "sweep_interval": 0.1,
        "rate_per_second": 0.0,
    }
    values.update(overrides)
    return gb.ServerConfig(**values)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
