"""A real GB/T 28181 server in a thread, connected as the video app's media control,
and a simulated NVR with camera channels (FFmpeg-encoded H.264 in PS over RTP)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from dataclasses import dataclass

import pytest

from campus_safety.devices.models import Device
from campus_safety.simulator import video_camera
from campus_safety.simulator.sip_devices import Channel, SipDevice, SipFleet, SipTarget
from campus_safety.video import media_control, streams
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory
from tests.gateway.gb28181.harness import (
    DOMAIN,
    NVR_ID,
    PASSWORD,
    PLATFORM_ID,
    FakePlatform,
    ServerThread,
    make_config,
)

CAMERAS = ["37140200001310000001", "37140200001310000002", "37140200001310000003"]


@dataclass
class Rig:
    server: ServerThread
    fleet: SipFleet
    hub: streams.Hub

    def call(self, coroutine, timeout: float = 15.0):
        return self.server.call(coroutine, timeout)

    def target(self, camera: str = CAMERAS[0]) -> streams.Target:
        return streams.Target(camera, NVR_ID)

    def camera_streams(self) -> list[video_camera.CameraStream]:
        return video_camera.streams(self.fleet)


@pytest.fixture
def rig(settings):
    settings.VIDEO_MEDIA_BIND = "127.0.0.1"
    settings.VIDEO_MEDIA_HOST = "127.0.0.1"
    settings.GB28181_PLATFORM_ID = PLATFORM_ID
    settings.GB28181_DOMAIN = DOMAIN
    server = ServerThread(FakePlatform(), make_config())
    media_control.connect(server.server.dialogs)
    device = SipDevice(NVR_ID, PASSWORD, channels=[Channel(c, f"cam {c[-1]}") for c in CAMERAS])
    fleet = SipFleet(
        SipTarget("127.0.0.1", server.port, PLATFORM_ID, DOMAIN, PASSWORD),
        [device],
        local_host="127.0.0.1",
    )

    async def begin() -> streams.Hub:
        await fleet.start()
        assert await fleet.register(device) == 200
        return streams.Hub()

    hub = server.call(begin())
    yield Rig(server, fleet, hub)
    video_camera.OPTIONS.silent_channels.clear()
    video_camera.OPTIONS.refused_channels.clear()

    async def end() -> None:
        await hub.stop_all()
        await video_camera.aclose(fleet)
        fleet.close()
        await asyncio.sleep(0.05)

    server.call(end())
    media_control.disconnect(server.server.dialogs)
    server.stop()


def collect(viewer: streams.Viewer, seconds: float) -> bytes:
    """What a viewer gets within ``seconds`` (until its stream ends)."""
    out = bytearray()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = viewer.get(0.2)
        if data is None:
            break
        out += data
    return bytes(out)


def probe(ts_bytes: bytes) -> str:
    """ffprobe's codec name of the first video stream in these TS bytes (a real peer)."""
    result = subprocess.run(
        [shutil.which("ffprobe") or "ffprobe", "-v", "error", "-select_streams", "v:0",
         "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", "-"],
        input=ts_bytes, capture_output=True, timeout=20, check=False,
    )  # fmt: skip
    lines = [line for line in result.stdout.decode().splitlines() if line.strip()]
    return lines[0] if lines else result.stderr.decode()[-300:]


@pytest.fixture
def cameras(decheng, rig, monkeypatch):
    monkeypatch.setattr(streams, "hub", rig.hub)
    school = SchoolFactory(region=decheng)
    nvr = DeviceFactory(
        device_id=NVR_ID, kind=Device.Kind.NVR, protocol=Device.Protocol.GB28181, school=school
    )
    return [
        DeviceFactory(
            device_id=c, kind=Device.Kind.CAMERA, protocol=Device.Protocol.GB28181,
            school=school, parent=nvr, name=f"摄像机{i}",
        )
        for i, c in enumerate(CAMERAS)
    ]  # fmt: skip
