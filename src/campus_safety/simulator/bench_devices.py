"""A registry of many plain devices for benchmarks (``bench/keepalive.py``): standalone
IPCs with no school and a long offline limit, so nothing changes state while the bench
runs — only keepalives count. The same devices speak GB/T 28181 and then MQTT: the bench
switches their protocol between the two phases (``switch_protocol``)."""

from __future__ import annotations

from django.db import transaction

from campus_safety.accounts.models import User
from campus_safety.devices.identifiers import make_device_id
from campus_safety.devices.models import Device

REGION = "371499"  # a made-up county of the demo city: never collides with seeded IDs


def bench_ids(count: int) -> list[str]:
    return [make_device_id(REGION, "132", n) for n in range(1, count + 1)]


def create_bench_devices(count: int) -> int:
    """Write the bench devices and a superuser ``bench-admin`` (for the counters API)."""
    rows = [
        Device(device_id=device_id, name=f"bench {device_id[-6:]}", kind="camera",
               protocol="gb28181", keepalive_interval=600, keepalive_count=3)
        for device_id in bench_ids(count)
    ]  # fmt: skip
    with transaction.atomic():
        Device.objects.bulk_create(rows, batch_size=2000)
        User.objects.create_superuser("bench-admin", "", None, role="system_admin")
    return len(rows)


def switch_protocol(protocol: str) -> int:
    """Every bench device now speaks ``protocol`` (the platform's directory picks it up
    at its next reload, ``LIVENESS_DIRECTORY_REFRESH_SECONDS``)."""
    return Device.objects.filter(device_id__startswith=REGION).update(protocol=protocol)
