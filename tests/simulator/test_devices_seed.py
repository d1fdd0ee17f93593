"""Devices of a small demo city: the same seed gives the same devices, and a reset takes
them away with what hangs on them (history, alarms)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from campus_safety import clock
from campus_safety.alarms.models import AlarmEvent
from campus_safety.devices.models import Device, StatusChange
from campus_safety.simulator.city import build_city

pytestmark = pytest.mark.django_db


def seed(*args: str) -> None:
    call_command("seed_demo", "--schools", "60", *args, "--verbosity", "0", stdout=StringIO())


def devices() -> list[tuple]:
    """The seeded devices. A school's gate register (gate.services.gate_device) is made
    by the gate when it raises its first alarm — in the demo, the loitering car of
    the day — at the moment it does, so it is not the seed's."""
    return list(
        Device.objects.exclude(name="门岗登记终端", kind="access_controller")
        .order_by("device_id")
        .values_list(
            "device_id", "name", "kind", "protocol", "school__code", "key_area",
            "parent__device_id", "snapshot_url", "created_at",
        )
    )  # fmt: skip


def test_a_scaled_down_city_keeps_the_proportions_of_devices():
    city = build_city(5, schools=60)
    kinds = [d.kind for d in city.devices]
    assert kinds.count("nvr") == 60
    assert kinds.count("one_key_alarm") == round(722 * 60 / 2029)
    assert kinds.count("camera") == round(35_640 * 60 / 2029)


def test_the_same_seed_gives_the_same_devices_and_force_replaces_them_with_their_history():
    seed("--seed", "5")
    first = devices()
    assert first and all(url.endswith(f"{device_id}.jpg") for device_id, *_, url, _ in first if url)
    box = Device.objects.filter(kind="one_key_alarm").first()
    StatusChange.objects.create(device=box, at=clock.now(), from_status="unknown",
                                to_status="online")  # fmt: skip
    AlarmEvent.objects.create(device=box, school=box.school, event_id="a-1",
                              occurred_at=clock.now(), received_at=clock.now(),
                              protocol=box.protocol)  # fmt: skip
    seed("--seed", "5", "--force")
    assert devices() == first
    assert not StatusChange.objects.exists()
    assert not AlarmEvent.objects.filter(event_id="a-1").exists()  # the seeded history is new
