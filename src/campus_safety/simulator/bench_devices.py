"""A registry of many plain devices for benchmarks (``bench/keepalive.py``): the same
count of GB/T 28181 IPCs and of MQTT alarm boxes, standalone, no school, with a long
offline limit so nothing changes state while the bench runs — only keepalives count."""

from __future__ import annotations

from django.db import transaction

from campus_safety.accounts.models import User
from campus_safety.devices.identifiers import make_device_id
from campus_safety.devices.models import Device

REGION = "371499"  # a made-up county of the demo city: never collides with seeded IDs


def bench_ids(count: int) -> tuple[list[str], list[str]]:
    """(GB/T 28181 IDs, MQTT IDs), ``count`` of each."""
    sip = [make_device_id(REGION, "132", n) for n in range(1, count + 1)]
    mqtt = [make_device_id(REGION, "134", n) for n in range(1, count + 1)]
    return sip, mqtt


def create_bench_devices(count: int) -> int:
    """Write the bench devices and a superuser ``bench-admin`` (for the counters API)."""
    sip, mqtt = bench_ids(count)
    rows = [
        Device(device_id=device_id, name=f"bench {device_id[-6:]}", kind=kind, protocol=protocol,
               keepalive_interval=600, keepalive_count=3)
        for ids, kind, protocol in ((sip, "camera", "gb28181"), (mqtt, "one_key_alarm", "mqtt"))
        for device_id in ids
    ]  # fmt: skip
    with transaction.atomic():
        Device.objects.bulk_create(rows, batch_size=2000)
        User.objects.create_superuser("bench-admin", "", None, role="system_admin")
    return len(rows)
