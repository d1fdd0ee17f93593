"""Idle SIP TCP connections cannot take the rest of the platform down (issue #13).

The whole platform runs as a process (``campus-safety serve``: SIP, MQTT on the local
Mosquitto, HTTP) under a small descriptor limit (soft 256, hard 512, as ``ulimit -n``
sets them). Three addresses open more idle SIP TCP connections than the process has
descriptors. The platform keeps at most its share of them and refuses the rest, and
``/healthz``, a signed HTTP alarm, an MQTT alarm and a GB/T 28181 alarm over UDP are all
answered at once, while the idle connections are still open.
"""

from __future__ import annotations

import asyncio
import errno
import json
import selectors
import socket
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from campus_safety.simulator.http_devices import HttpDevice, HttpFleet
from campus_safety.simulator.ports import free_port
from campus_safety.simulator.sip_devices import SipDevice, SipFleet, SipTarget
from tests.gateway.serve_process import (
    DOMAIN,
    PASSWORD,
    PLATFORM_ID,
    MqttDevices,
    Platform,
    manage,
    set_up_devices,
)

pytestmark = [pytest.mark.mqtt]

OPEN_FILES = (256, 512)  # the platform raises its soft limit to the hard one at start
FLOOD_HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
PER_HOST = 200  # 600 in all: more than the platform's whole descriptor limit
PER_HOST_LIMIT = 64  # GB28181_TCP_MAX_CONNECTIONS_PER_HOST default
# half of what is left of 512 descriptors after the 256 kept for everything else
TOTAL_LIMIT = (512 - 256) // 2
AT_ONCE = 3.0  # seconds: "answered at once", with slack for a busy 2-CPU machine

STORED = """
import json
from campus_safety.alarms.models import AlarmEvent
print(json.dumps(list(AlarmEvent.objects.values_list("device__device_id", flat=True))))
"""


def open_idle(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` connections from ``host`` that never send a byte."""
    opened = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind((host, 0))
        sock.connect_ex(("127.0.0.1", port))
        opened.append(sock)
    return opened


def wait_connected(socks: list[socket.socket], timeout: float = 5.0) -> None:
    """Until each connection is established or refused: one whose SYN found the listen
    queue full is tried again by the kernel a second or more later."""
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_WRITE)
        deadline = time.monotonic() + timeout
        while selector.get_map() and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                selector.unregister(key.fileobj)


def is_held(sock: socket.socket) -> bool:
    """Connected and not closed by the platform (FIN or RST)."""
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError as exc:  # reset, or never connected
        assert exc.errno in (errno.ECONNRESET, errno.ENOTCONN, errno.ECONNREFUSED), exc
        return False


def soft_open_files_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-files line")


def healthz(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=AT_ONCE) as answer:
        assert answer.status == 200
        return json.loads(answer.read())


async def within(seconds: float, awaitable):
    async with asyncio.timeout(seconds):
        return await awaitable


async def alarms_answered(env: dict[str, str], devices: dict, secret: str, web_port: int) -> None:
    """Each of /healthz, an HTTP alarm, an MQTT alarm and a SIP alarm, answered at once."""
    started = time.monotonic()
    await within(AT_ONCE, asyncio.to_thread(healthz, web_port))
    assert time.monotonic() - started < AT_ONCE

    http = HttpFleet(f"http://127.0.0.1:{web_port}", timeout=AT_ONCE)
    event = http.event("alarm", priority=1, description="一键报警")
    status, answer = await http.post(HttpDevice(devices["http"][0], secret), [event])
    assert status == 200 and answer["results"][0]["outcome"] == "accepted", (status, answer)

    committed = (await asyncio.to_thread(healthz, web_port))["ingest"]["messages"]
    mqtt = MqttDevices(devices["mqtt"], env["MQTT_TOPIC_ROOT"])
    try:
        mqtt.publish(devices["mqtt"][0], "flood-mqtt-1")
        deadline = time.monotonic() + AT_ONCE
        while (await asyncio.to_thread(healthz, web_port))["ingest"]["messages"] <= committed:
            assert time.monotonic() < deadline, "the MQTT alarm was not committed in time"
            await asyncio.sleep(0.05)
    finally:
        mqtt.close()

    sip_device = SipDevice(devices["gb28181"][0], "")
    target = SipTarget("127.0.0.1", int(env["GB28181_PORT"]), PLATFORM_ID, DOMAIN, PASSWORD)
    fleet = SipFleet(target, [sip_device])
    await fleet.start()
    try:
        assert await within(AT_ONCE, fleet.register(sip_device)) == 200
        assert await fleet.alarm(sip_device, wait=AT_ONCE, attempts=1)
    finally:
        fleet.close()


def test_idle_sip_tcp_connections_beyond_the_limits_leave_http_mqtt_and_sip_answered(
    platform_env, tmp_path
):
    setup = set_up_devices(platform_env, 1)
    platform = Platform(platform_env, free_port(), tmp_path / "platform.log", open_files=OPEN_FILES)
    platform.start()
    flood: list[socket.socket] = []
    try:
        assert soft_open_files_limit(platform.process.pid) == OPEN_FILES[1]
        sip_port = int(platform_env["GB28181_PORT"])
        for host in FLOOD_HOSTS:
            flood += open_idle(host, sip_port, PER_HOST)
        wait_connected(flood)  # the platform accepts them, keeps its share, refuses the rest
        time.sleep(0.5)
        asyncio.run(alarms_answered(platform_env, setup["devices"], setup["secret"], platform.port))
        held = Counter(sock.getsockname()[0] for sock in flood if is_held(sock))
    finally:
        for sock in flood:
            sock.close()
        platform.stop()

    assert 0 < sum(held.values()) <= TOTAL_LIMIT, held
    assert max(held.values()) <= PER_HOST_LIMIT, held
    stored = Counter(json.loads(manage(platform_env, "shell", "-c", STORED).splitlines()[-1]))
    devices = setup["devices"]
    assert [stored[devices[p][0]] for p in ("http", "mqtt", "gb28181")] == [1, 1, 1], stored
    log = (tmp_path / "platform.log").read_text()
    assert "Too many open files" not in log
    assert "unable to open database file" not in log
