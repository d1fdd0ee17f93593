"""A GB/T 28181 registration made just before a crash is not forgotten (issue #13,
defect 3): ``campus-safety serve`` is killed with SIGKILL right after a device's
REGISTER was answered 200 and started again; the device goes on as if nothing had
happened — its keepalive is answered 200 and its next alarm is confirmed and stored.

The device is the project's simulator over real UDP; the platform is a real process on
a database of its own (``tests/gateway/serve_process.py``, fixtures in ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from campus_safety.simulator.ports import free_port
from campus_safety.simulator.sip_devices import SipDevice, SipFleet, SipTarget
from tests.gateway.serve_process import (
    DOMAIN,
    PASSWORD,
    PLATFORM_ID,
    Platform,
    manage,
    set_up_devices,
)

pytestmark = [pytest.mark.mqtt]  # serve subscribes to the local Mosquitto

STORED = """
import json
from campus_safety.alarms.models import AlarmEvent
print(json.dumps([
    [e.device.device_id, e.payload.get("sender_check", "registered")]
    for e in AlarmEvent.objects.select_related("device")
]))
"""


async def register_crash_and_alarm(env: dict[str, str], device_id: str, platform: Platform):
    target = SipTarget("127.0.0.1", int(env["GB28181_PORT"]), PLATFORM_ID, DOMAIN, PASSWORD)
    device = SipDevice(device_id, "")
    fleet = SipFleet(target, [device])
    await fleet.start()
    try:
        assert await fleet.register(device) == 200
        await asyncio.to_thread(platform.kill)  # right after the 200 OK
        await asyncio.to_thread(platform.start)
        keepalive = await fleet.keepalive(device)
        confirmed = await fleet.alarm(device, wait=5.0, attempts=3)
        return keepalive, confirmed, dict(fleet.stats)
    finally:
        fleet.close()


def test_a_device_registered_just_before_a_sigkill_keeps_its_registration_and_its_alarm_is_stored(
    platform_env, tmp_path
):
    device_id = set_up_devices(platform_env, 1)["devices"]["gb28181"][0]
    platform = Platform(platform_env, free_port(), tmp_path / "platform.log")
    platform.start()
    try:
        keepalive, confirmed, stats = asyncio.run(
            register_crash_and_alarm(platform_env, device_id, platform)
        )
        stored = json.loads(manage(platform_env, "shell", "-c", STORED).strip().splitlines()[-1])
    finally:
        platform.stop()
    assert keepalive == 200, stats  # not 403: the registration survived the crash
    assert confirmed, stats
    assert stored == [[device_id, "registered"]]  # from its registration, nothing to flag
    log = (tmp_path / "platform.log").read_text()
    assert log.count("Uvicorn running") == 2, "the platform was not restarted"
    assert "1 registrations taken back from before the restart" in log
