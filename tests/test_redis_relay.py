"""Other processes' events keep arriving across a Redis restart (issue #13, defect 11).

The bus and the live fan-out hear other processes through one relay thread per process
(``redis_relay``). Each test runs its own ``redis-server`` on a free port, so it can be
stopped and started again without touching the machine's Redis that other tests share.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from campus_safety import bus, redis_relay
from campus_safety.live import fanout
from campus_safety.simulator.ports import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class PrivateRedis:
    """A redis-server of the test's own, on a fixed port across restarts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="relay-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def publish(self, channel: str, message: dict) -> int:
        return redis.Redis.from_url(self.url).publish(channel, json.dumps(message))


@pytest.fixture
def private_redis(settings) -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    settings.REDIS_URL = server.url
    try:
        yield server
    finally:
        redis_relay.close(server.url)
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


def publish_until_heard(server: PrivateRedis, channel: str, message: dict, heard) -> None:
    """Pub/sub drops what nobody listens to: publish until a subscriber counts it."""
    deadline = time.monotonic() + 15
    while not heard.wait(0.2):
        assert time.monotonic() < deadline, "the relay never heard the message"
        server.publish(channel, message)


def test_the_bus_hears_other_processes_again_after_redis_restarts(private_redis):
    heard = threading.Event()
    received: list[dict] = []

    def handler(name: str, payload: dict) -> None:
        received.append(payload)
        if bus.is_relayed():
            heard.set()

    unsubscribe = bus.subscribe("device.online", handler)
    try:
        relay = redis_relay.relay(private_redis.url)
        assert relay.wait_until_listening(10)
        other = {"origin": "another-process", "name": "device.online"}
        publish_until_heard(private_redis, bus.CHANNEL, {**other, "payload": {"n": 1}}, heard)
        connections_before = relay.connections

        private_redis.stop()
        time.sleep(0.5)  # the relay notices the broken connection and backs off
        private_redis.start()
        heard.clear()
        publish_until_heard(private_redis, bus.CHANNEL, {**other, "payload": {"n": 2}}, heard)
    finally:
        unsubscribe()
    assert {"n": 2} in received
    assert relay.connections > connections_before
    assert relay.thread.is_alive()


def test_the_live_fan_out_shares_the_one_relay_and_survives_a_restart(private_redis):
    heard = threading.Event()
    delivered: list[fanout.Delivery] = []
    original = fanout.deliver_locally

    def spy(delivery: fanout.Delivery) -> None:
        delivered.append(delivery)
        heard.set()
        original(delivery)

    fanout.deliver_locally = spy
    try:
        fanout._ensure_relay()
        bus.subscribe("device.offline", lambda name, payload: None)()
        assert fanout.wait_until_relaying(10)
        event = {
            "id": 1,
            "at": "2026-12-07T08:00:00+08:00",
            "name": "alarm.event",
            "school_id": 1,
            "region_code": "371402",
            "police_station_id": None,
            "payload": {},
        }
        private_redis.stop()
        private_redis.start()
        publish_until_heard(
            private_redis, fanout.CHANNEL, {"origin": "elsewhere", "event": event}, heard
        )
    finally:
        fanout.deliver_locally = original
    assert delivered[0].id == 1
    live_threads = [t for t in threading.enumerate() if t.name == "redis-relay"]
    relays_for_this_server = [r for r in redis_relay._relays.values() if r.url == private_redis.url]
    assert len(relays_for_this_server) == 1
    assert relays_for_this_server[0].thread in live_threads


def test_a_malformed_message_neither_reaches_subscribers_nor_ends_the_relay(private_redis):
    heard = threading.Event()
    received: list[dict] = []

    def handler(name: str, payload: dict) -> None:
        received.append(payload)
        heard.set()

    unsubscribe = bus.subscribe("device.fault", handler)
    try:
        relay = redis_relay.relay(private_redis.url)
        assert relay.wait_until_listening(10)
        client = redis.Redis.from_url(private_redis.url)
        client.publish(bus.CHANNEL, b"\xff not json")
        client.publish(bus.CHANNEL, json.dumps(["a", "list"]))
        client.publish(bus.CHANNEL, json.dumps({"origin": "x", "name": "no.such.event"}))
        publish_until_heard(
            private_redis,
            bus.CHANNEL,
            {"origin": "x", "name": "device.fault", "payload": {"ok": True}},
            heard,
        )
    finally:
        unsubscribe()
    assert received == [{"ok": True}]
    assert relay.thread.is_alive()
