"""Scaled out: gateways record last-seen times in Redis, a separate sweeper reads them.
Runs against the real Redis at REDIS_TEST_URL (default 127.0.0.1:6379, database 15)."""

import os
import time
import uuid

import pytest

from campus_safety.devices import liveness
from campus_safety.devices.last_seen import RedisLastSeen
from campus_safety.devices.models import Device
from tests.devices.support import DeviceFactory

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_store():
    """A factory of stores sharing one fresh key prefix; keys removed afterwards."""
    prefix = f"test-liveness:{uuid.uuid4().hex[:8]}"
    stores = []

    def make() -> RedisLastSeen:
        store = RedisLastSeen(REDIS_URL, prefix)
        stores.append(store)
        return store

    yield make
    stores[0].clear()
    for store in stores:
        store.close()


def test_redis_last_seen_is_shared_by_a_gateway_and_a_separate_sweeper(clock, redis_store):
    device = DeviceFactory(keepalive_interval=10, keepalive_count=2)
    gateway = liveness.Liveness(store=redis_store())
    sweeper = liveness.Liveness(store=redis_store())
    sweeper.start(clock.now())
    assert gateway.record_keepalive(device.device_id)
    gateway.store.push()
    assert [t.to_status for t in sweeper.sweep()] == ["online"]
    for _ in range(3):  # the gateway keeps hearing it: the sweeper never sees it offline
        clock.advance(seconds=15)
        gateway.record_keepalive(device.device_id)
        gateway.store.push()
        assert sweeper.sweep() == []
    clock.advance(seconds=21)
    assert [t.to_status for t in sweeper.sweep()] == ["offline"]
    assert sweeper.flush_last_seen() == 1
    assert Device.objects.get(pk=device.pk).last_seen_at is not None


def test_keepalives_reach_redis_by_themselves_within_a_fraction_of_a_second(redis_store):
    device = DeviceFactory()
    gateway = liveness.Liveness(store=redis_store())
    reader = redis_store()
    gateway.record_keepalive(device.device_id)
    deadline = time.monotonic() + 2
    while device.device_id not in reader.snapshot()[0] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert device.device_id in reader.snapshot()[0]


def test_registrations_are_shared_through_redis(clock, redis_store):
    device = DeviceFactory(protocol="gb28181")
    gateway = liveness.Liveness(store=redis_store())
    sweeper = liveness.Liveness(store=redis_store())
    gateway.record_registration(device.device_id, 3600, remote="10.0.0.9:5060")
    _, registrations = sweeper.store.snapshot()
    at, until, remote = registrations[device.device_id]
    assert (until - at, remote) == (3600, "10.0.0.9:5060")
