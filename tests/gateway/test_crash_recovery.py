"""Nothing acknowledged is lost: alarms over GB/T 28181, MQTT and HTTP while the platform
is killed with SIGKILL mid-burst and started again.

The platform runs as a real process (``campus-safety serve`` with the SIP server and
the MQTT subscriber on the local Mosquitto) on its own database — a SQLite file, or a
fresh PostgreSQL database when the suite runs on PostgreSQL. Devices send alarms and
retry what was not acknowledged, as real ones do; after the burst, every alarm a device
saw acknowledged must be stored exactly once, have its case visible to the city's
dispatcher and to the school, and be in the consoles' live log (replayed to any
console that reconnects). Deliveries sent again afterwards are stored once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

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

PER_PROTOCOL = 3  # devices per protocol
ALARMS = 24  # alarms per device

VERIFY = """
import json
from campus_safety.accounts.models import User
from campus_safety.alarms.models import AlarmCase, AlarmEvent
from campus_safety.live.models import LiveEvent
rows = list(AlarmEvent.objects.values_list("device__device_id", "event_id", "case_id"))
cases = {case for _, _, case in rows}
seen_by = {
    name: set(AlarmCase.objects.visible_to(User.objects.get(username=name))
              .filter(pk__in=cases).values_list("pk", flat=True))
    for name in ("city-dispatcher", "school-admin")
}
live = [e.payload.get("event_id") for e in LiveEvent.objects.filter(name="alarm.event")]
print(json.dumps({
    "events": [[d, e] for d, e, _ in rows],
    "cases": sorted(cases),
    "seen_by": {k: sorted(v) for k, v in seen_by.items()},
    "live": live,
}))
"""


async def drive(env: dict[str, str], devices: dict, secret: str, platform: Platform) -> dict:
    """The burst: every device sends ALARMS alarms; the platform dies a third of the way
    in and comes back. Returns what each protocol saw acknowledged."""
    sip_port = int(env["GB28181_PORT"])
    web = f"http://127.0.0.1:{platform.port}"
    sip_devices = [SipDevice(d, "") for d in devices["gb28181"]]
    fleet = SipFleet(SipTarget("127.0.0.1", sip_port, PLATFORM_ID, DOMAIN, PASSWORD), sip_devices)
    await fleet.start()
    statuses = await fleet.register_all(concurrency=10)
    assert statuses.get(200) == len(sip_devices), statuses
    http = HttpFleet(web, timeout=5)
    http_devices = [HttpDevice(d, secret) for d in devices["http"]]
    mqtt = MqttDevices(devices["mqtt"], env["MQTT_TOPIC_ROOT"])
    acked: dict[str, set[tuple[str, str]]] = {"gb28181": set(), "http": set(), "mqtt": set()}
    sent_http: dict[tuple[str, str], dict] = {}
    sip_sent: Counter[str] = Counter()  # distinct alarms (SNs) per GB/T 28181 device

    async def sip_device(device: SipDevice) -> None:
        for n in range(ALARMS):
            for _attempt in range(20):
                # resent with the same SN and AlarmTime until the platform's Response OK
                sip_sent[device.device_id] += 1
                if await fleet.alarm(device, wait=1.0, attempts=40):
                    acked["gb28181"].add((device.device_id, str(n)))
                    break
                # refused: the restarted platform no longer knows the registration
                # (embedded mode keeps it in memory), so register again, as devices do
                await fleet.register(device)
            await asyncio.sleep(0.05)

    async def http_device(device: HttpDevice) -> None:
        for _ in range(ALARMS):
            event = http.event("alarm", priority=1, description="一键报警")
            sent_http[(device.device_id, event["event_id"])] = event
            for _attempt in range(100):  # retry the same event until it is answered
                status, answer = await http.post(device, [event])
                if status == 200:
                    outcome = answer["results"][0]["outcome"]
                    assert outcome in ("accepted", "duplicate"), answer
                    acked["http"].add((device.device_id, event["event_id"]))
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.05)

    async def mqtt_devices() -> None:
        for n in range(ALARMS):
            for device_id in devices["mqtt"]:
                mqtt.publish(device_id, f"crash-{device_id[-4:]}-{n}")
            await asyncio.sleep(0.08)

    async def crash() -> None:
        await asyncio.sleep(1.2)  # mid-burst
        await asyncio.to_thread(platform.kill)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(platform.start)

    await asyncio.gather(
        *(sip_device(d) for d in sip_devices),
        *(http_device(d) for d in http_devices),
        mqtt_devices(),
        crash(),
    )
    deadline = time.monotonic() + 20
    while mqtt.pending and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    acked["mqtt"] = set(mqtt.acked)
    # retried deliveries after the fact: the same events again, over the same protocols
    replayed = list(sent_http.items())[:5]
    for (device_id, _), event in replayed:
        device = next(d for d in http_devices if d.device_id == device_id)
        status, answer = await http.post(device, [event])
        assert status == 200 and answer["results"][0]["outcome"] == "duplicate", answer
    for device_id, event_id in sorted(acked["mqtt"])[:5]:
        mqtt.publish(device_id, event_id)
    await asyncio.sleep(1.0)
    mqtt.close()
    fleet.close()
    return {"acked": acked, "sip_sent": sip_sent, "sip_stats": dict(fleet.stats)}


def stored(env: dict[str, str]) -> dict:
    return json.loads(manage(env, "shell", "-c", VERIFY).strip().splitlines()[-1])


def test_alarms_acknowledged_before_a_sigkill_are_all_stored_once_and_reach_the_consoles(
    platform_env, tmp_path
):
    setup = set_up_devices(platform_env, PER_PROTOCOL)
    platform = Platform(platform_env, free_port(), tmp_path / "platform.log")
    platform.start()
    try:
        outcome = asyncio.run(drive(platform_env, setup["devices"], setup["secret"], platform))
        acked = outcome["acked"]
        # the MQTT backlog (queued at the broker while the platform was dead) drains
        deadline = time.monotonic() + 30
        while True:
            found = stored(platform_env)
            events = {tuple(e) for e in found["events"]}
            mqtt_stored = {e for e in events if e[0] in setup["devices"]["mqtt"]}
            if acked["mqtt"] <= mqtt_stored or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        platform.stop()

    log = (tmp_path / "platform.log").read_text()
    assert log.count("Uvicorn running") == 2, "the platform was not restarted"
    rows = [tuple(e) for e in found["events"]]
    assert len(rows) == len(set(rows)), "an alarm was stored twice"

    # HTTP and MQTT: event IDs are the devices' own
    for protocol in ("http", "mqtt"):
        assert len(acked[protocol]) == PER_PROTOCOL * ALARMS, protocol
        missing = acked[protocol] - set(rows)
        assert not missing, f"{protocol}: acknowledged but not stored: {sorted(missing)[:5]}"
    # GB/T 28181: the platform derives the event ID from SN and AlarmTime. Each device's
    # confirmed alarms are all stored, and never more rows than distinct alarms it sent
    # (one committed just before the kill but never confirmed is stored, not lost)
    assert len(acked["gb28181"]) == PER_PROTOCOL * ALARMS
    for device_id in setup["devices"]["gb28181"]:
        rows_of_device = sum(r[0] == device_id for r in rows)
        assert ALARMS <= rows_of_device <= outcome["sip_sent"][device_id], device_id

    # every stored alarm reaches the consoles: the case is on the dispatcher's and the
    # school's wall, and the event is in the live log a reconnecting console replays
    assert found["seen_by"]["city-dispatcher"] == found["cases"]
    assert found["seen_by"]["school-admin"] == found["cases"]
    assert sorted(found["live"]) == sorted(e for _, e in rows)
