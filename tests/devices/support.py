"""Device test support shared by tests/devices and tests/gateway: a device factory,
a fresh in-process liveness per test, and a recorder of bus events."""

from __future__ import annotations

import factory

from campus_safety import bus
from campus_safety.devices import liveness
from campus_safety.devices.identifiers import make_device_id
from campus_safety.devices.last_seen import LastSeenStore, MemoryLastSeen
from campus_safety.devices.models import Device
from tests.factories import SchoolFactory

SECRET = "device-signing-secret-1"


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    device_id = factory.Sequence(lambda n: make_device_id("371402", "134", 100000 + n))
    name = factory.Sequence(lambda n: f"一键报警{n}")
    kind = Device.Kind.ONE_KEY_ALARM
    protocol = Device.Protocol.MQTT
    school = factory.SubFactory(SchoolFactory)
    secret = SECRET
    keepalive_interval = 60
    keepalive_count = 3


def fresh_liveness(store: LastSeenStore | None = None) -> liveness.Liveness:
    """A new process-wide liveness (memory store unless given one), directory loaded."""
    instance = liveness.Liveness(store=store or MemoryLastSeen())
    liveness.reset(instance)
    return instance


class Events:
    """Every bus event published while it is attached: ``events.names()``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict]] = []
        self._unsubscribe = bus.subscribe(
            "*", lambda name, payload: self.seen.append((name, payload))
        )

    def names(self, prefix: str = "") -> list[str]:
        return [name for name, _ in self.seen if name.startswith(prefix)]

    def close(self) -> None:
        self._unsubscribe()
