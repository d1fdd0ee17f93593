"""A gate ANPR camera on GB/T 28181, played by a real peer — sipp — against the
platform's SIP server and database (issue #17): it registers with digest and reports
plate reads as alarms of the vehicle type, the plate and the direction in ``<Info>``.
The scenario (``tests/gate/sipp/plate_alarm.xml``, its out-of-call half
``plate_alarm_response.xml``) checks every answer on the wire — 200 OK to each
MESSAGE, then the platform's Response with Result OK, or ERROR for a malformed plate —
and this test checks what was stored: one passage per read however often it was
resent, the 8-character new-energy plate as sent, nothing of the malformed one, and
the watch-listed plate's police-only hit.

The scripted-peer tests of the same path are in ``test_gb28181_plates.py``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from campus_safety.alarms.models import AlarmCase, AlarmEvent
from campus_safety.devices.models import Device, DeviceEvent
from campus_safety.gate.models import VehiclePassage, WatchlistHit
from campus_safety.simulator.ports import free_port
from tests.gate.sip_support import gate_camera_of, platform_sip_server
from tests.gateway.gb28181.harness import PASSWORD

SCENARIOS = Path(__file__).parent / "sipp"
CAMERA_ID = "37140200001320000079"  # a gate IPC (type 132)
PLATE = "鲁N5K321"
NEW_ENERGY_PLATE = "鲁ND12345"  # small new-energy car: 8 characters
WATCHED_PLATE = "鲁N99999"  # the ``entry`` fixture's plate


@pytest.fixture
def gate_camera(school, settings) -> Iterator[Device]:
    settings.GB28181_PASSWORD = PASSWORD
    with gate_camera_of(school, CAMERA_ID) as camera:
        yield camera


@pytest.fixture
def server_port(gate_camera) -> Iterator[int]:
    with platform_sip_server() as port:
        yield port


def run_camera(server_port: int, workdir: Path, alarm_time: str) -> subprocess.CompletedProcess:
    """sipp as the camera: one call under a global timeout that fails the run, so a
    stalled scenario ends with a non-zero exit and no process left behind. The plates
    go in as GB2312 bytes, the encoding the MANSCDP body declares."""
    sipp = shutil.which("sipp")
    if sipp is None:
        pytest.fail("sipp is not installed (Debian package sip-tester)")
    keys = {
        "platform_id": django_settings.GB28181_PLATFORM_ID,
        "domain": django_settings.GB28181_DOMAIN,
        "device_id": CAMERA_ID,
        "alarm_time": alarm_time,
        "plate": PLATE,
        "new_energy_plate": NEW_ENERGY_PLATE,
        "watched_plate": WATCHED_PLATE,
    }
    command: list[str | bytes] = [
        sipp,
        f"127.0.0.1:{server_port}",
        "-sf",
        str(SCENARIOS / "plate_alarm.xml"),
        "-oocsf",
        str(SCENARIOS / "plate_alarm_response.xml"),
        "-m",
        "1",
        "-timeout",
        "20s",
        "-timeout_error",
        "-nostdin",
        "-t",
        "u1",
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-au",
        CAMERA_ID,
        "-ap",
        PASSWORD,
        "-trace_err",
        "-trace_msg",
    ]
    for name, value in keys.items():
        command += ["-key", name, value.encode("gb2312")]
    return subprocess.run(command, cwd=workdir, capture_output=True, timeout=25, check=False)


def explain(result: subprocess.CompletedProcess, workdir: Path) -> str:
    errors = "".join(p.read_text(errors="replace") for p in workdir.glob("*_errors.log"))
    stderr = result.stderr.decode(errors="replace")
    return f"sipp exit {result.returncode}\n{errors[-3000:]}\n{stderr[-2000:]}"


@pytest.mark.django_db(transaction=True)
def test_a_sipp_gate_camera_gets_every_plate_alarm_answered_and_each_read_stored_once(
    server_port, school, entry, officer, command, guard, school_admin, clock, tmp_path
):
    alarm_time = timezone.localtime(clock.now()).strftime("%Y-%m-%dT%H:%M:%S")
    result = run_camera(server_port, tmp_path, alarm_time)
    assert result.returncode == 0, explain(result, tmp_path)

    # SN 101 three times, 102, 104 twice: three reads, three passages, no alarm of their own
    passages = VehiclePassage.objects.order_by("pk")
    assert [(p.plate, p.direction, p.source) for p in passages] == [
        (PLATE, "in", "camera"),
        (NEW_ENERGY_PLATE, "out", "camera"),
        (WATCHED_PLATE, "in", "camera"),
    ]
    assert {p.school for p in passages} == {school}
    events = DeviceEvent.objects.filter(device__device_id=CAMERA_ID)
    assert sorted(events.values_list("kind", flat=True)) == ["vehicle.plate"] * 3
    assert {p.event_id for p in passages} == set(events.values_list("event_id", flat=True))
    # SN 103 (ABC123) was answered ERROR: nothing of it anywhere
    assert not VehiclePassage.objects.filter(plate__icontains="ABC").exists()
    assert not AlarmEvent.objects.filter(device__device_id=CAMERA_ID).exists()

    # the watch-listed plate, read twice: one hit, one police-only case
    hit = WatchlistHit.objects.get()
    assert (hit.entry, hit.source) == (entry, WatchlistHit.Source.VEHICLE)
    case = AlarmCase.objects.get()
    assert (case.pk, case.alarm_type, case.police_only, case.school) == (
        hit.alarm_case_id,
        "watchlist",
        True,
        school,
    )
    for user in (officer, command):
        assert AlarmCase.objects.visible_to(user).filter(pk=case.pk).exists()
        assert WatchlistHit.objects.visible_to(user).filter(pk=hit.pk).exists()
    for user in (guard, school_admin):
        assert not AlarmCase.objects.visible_to(user).filter(pk=case.pk).exists()
        assert not WatchlistHit.objects.visible_to(user).exists()


def test_the_installer_sets_the_vehicle_alarm_types_in_the_environment():
    """GB/T 28181 defines no AlarmType for a plate read: the installer sets what the
    cameras send (docs/gate.md, settings), like every setting, in the environment."""
    script = (
        "import django\ndjango.setup()\n"
        "from campus_safety.gateway.gb28181 import platform\n"
        "print(sorted(platform.vehicle_alarm_types()))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "campus_safety.settings",
        "GB28181_VEHICLE_ALARM_TYPES": "13, ANPR,,车牌",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(sorted(["13", "anpr", "车牌"]))
