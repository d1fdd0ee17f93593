"""Which processes are alive, with which roles, read the same from any process (Redis):
a process that stops cleanly leaves at once, one that was killed drops out when its
last beat expires (cluster/members.py)."""

from __future__ import annotations

import json
import os
import time

import pytest
import redis

from campus_safety.cluster import members

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def cluster_redis(settings, monkeypatch):
    settings.REDIS_URL = REDIS_URL
    settings.CLUSTER_MEMBER_TTL_SECONDS = 1.0
    monkeypatch.setattr(members, "PREFIX", f"cs-test-cluster-{os.getpid()}-{time.time_ns()}")
    yield redis.Redis.from_url(REDIS_URL, decode_responses=True)
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{members.PREFIX}:*"):
        client.delete(key)


def test_a_beating_process_is_listed_with_its_roles_and_leaves_when_it_stops(cluster_redis):
    members.start(["jobs", "sip"], 8123)
    try:
        listed = members.alive()
        assert [(m["member"], m["roles"], m["port"]) for m in listed] == [
            (members.MEMBER, ["jobs", "sip"], 8123)
        ]
        assert members.by_role() == {"jobs": [members.MEMBER], "sip": [members.MEMBER]}
    finally:
        members.stop()
    assert members.alive() == []


def test_a_killed_process_drops_out_once_its_last_beat_expires(cluster_redis):
    record = {"member": "elsewhere:41", "roles": ["web"], "port": 8000, "beat": time.time()}
    cluster_redis.hset(f"{members.PREFIX}:members", "elsewhere:41", json.dumps(record))
    cluster_redis.set(f"{members.PREFIX}:alive:elsewhere:41", "1", px=300)
    assert [m["member"] for m in members.alive()] == ["elsewhere:41"]
    time.sleep(0.4)  # no beat came: SIGKILL
    assert members.alive() == []
    assert not cluster_redis.hexists(f"{members.PREFIX}:members", "elsewhere:41")
