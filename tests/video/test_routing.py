"""``/video/`` with several processes: a web process that does not hold the camera's
registration finds the SIP process that does (their member rows in Redis carry their
HTTP URL; each is asked, with a signed question, whether its gateway holds the device)
and proxies the call there — the live stream, a playback and its controls, through two
real ``campus-safety serve`` processes on one database and one Redis."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core import signing
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from campus_safety.simulator import video_camera
from campus_safety.simulator.ports import free_port
from campus_safety.simulator.sip_devices import Channel, SipDevice, SipFleet, SipTarget
from campus_safety.video import routing
from tests.gateway.gb28181.harness import NVR_ID
from tests.gateway.serve_process import COMMAND, DOMAIN, PASSWORD, PLATFORM_ID, ROOT, manage
from tests.video.support import CAMERAS, probe

REDIS_URL = os.environ.get("REDIS_VIDEO_TEST_URL", "redis://127.0.0.1:6379/13")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


# --- in one process: the holder question ---------------------------------------------------


def test_the_holder_question_is_answered_only_when_signed(client, rig, settings):
    url = reverse("video:holder")
    assert client.get(url, {"device": NVR_ID}).status_code == 403  # from outside: nothing
    forged = signing.dumps(NVR_ID, salt="another salt")
    assert (
        client.get(url, {"device": NVR_ID}, headers={routing.ASK_HEADER: forged}).status_code == 403
    )
    for device_id, held in ((NVR_ID, True), (CAMERAS[0], False), ("37140200001180009999", False)):
        answer = client.get(
            url, {"device": device_id},
            headers={routing.ASK_HEADER: signing.dumps(device_id, salt=routing.SALT)},
        )  # fmt: skip
        assert answer.status_code == 200 and answer.json()["registered"] is held


@pytest.mark.django_db
def test_a_process_holding_the_registration_serves_it_without_asking(
    client, dispatcher, cameras, rig, settings
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nobody to ask: must not be needed
    answer = client.post(reverse("video:start", args=[cameras[0].pk]))
    assert answer.status_code == 200, answer.content
    assert routing.SERVED_BY_HEADER not in answer.headers


# --- two real processes -----------------------------------------------------------------------

SETUP = """
import json
from django.test import Client
from campus_safety.devices.models import Device
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory, UserFactory, city_region, sign_in
school = SchoolFactory()
nvr = DeviceFactory(device_id=%(nvr)r, kind=Device.Kind.NVR, protocol="gb28181", school=school)
cameras = [
    DeviceFactory(device_id=c, kind=Device.Kind.CAMERA, protocol="gb28181", school=school,
                  parent=nvr).pk
    for c in %(cameras)r
]
browser = Client()
sign_in(browser, UserFactory(username="video-dispatcher", role="dispatcher", region=city_region()))
print(json.dumps({"cameras": cameras, "session": browser.cookies["sessionid"].value}))
"""


class Serve:
    """``campus-safety serve --role …`` in its own process group."""

    def __init__(self, roles: str, env: dict[str, str], log: Path) -> None:
        self.roles, self.env, self.log = roles, env, log
        self.port = free_port()
        with log.open("a") as out:
            self.process = subprocess.Popen(
                [*COMMAND, "serve", "--role", roles, "--host", "127.0.0.1",
                 "--port", str(self.port)],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.member = ""

    def wait_listed(self, deadline: float) -> None:
        """Healthy and in the cluster's member rows (its name: host:pid)."""
        from campus_safety.cluster import members

        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            listed = [m for m in members.alive(REDIS_URL) if m["port"] == self.port]
            if listed:
                self.member = listed[0]["member"]
                assert listed[0]["url"] == f"http://127.0.0.1:{self.port}"
                return
            time.sleep(0.3)
        raise AssertionError(f"{self.roles} did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


class Browser:
    """A signed-in dispatcher's requests (session cookie, CSRF cookie and header)."""

    def __init__(self, session: str) -> None:
        self.csrf = secrets.token_hex(16)  # any 32 characters, the same in cookie and header
        self.cookie = f"sessionid={session}; csrftoken={self.csrf}"

    def call(self, port: int, path: str, form: dict | None = None, timeout: float = 20):
        data = None if form is None else "&".join(f"{k}={v}" for k, v in form.items()).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=data,
            headers={"Cookie": self.cookie, "X-CSRFToken": self.csrf, "Accept": "application/json",
                     **({"Content-Type": "application/x-www-form-urlencoded"} if data else {})},
        )  # fmt: skip
        try:
            return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
        except urllib.error.HTTPError as error:
            return error


class FleetThread:
    """The simulated NVR with its cameras (H.264 in PS over RTP) on a loop of its own."""

    def __init__(self, sip_port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.device = SipDevice(
            NVR_ID, PASSWORD, channels=[Channel(c, f"cam {c[-1]}") for c in CAMERAS]
        )
        self.fleet = SipFleet(
            SipTarget("127.0.0.1", sip_port, PLATFORM_ID, DOMAIN, PASSWORD),
            [self.device],
            local_host="127.0.0.1",
        )

    def call(self, coroutine, timeout: float = 20):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def register(self) -> int:
        async def register() -> int:
            await self.fleet.start()
            return await self.fleet.register(self.device)

        return self.call(register())

    def close(self) -> None:
        async def end() -> None:
            await video_camera.aclose(self.fleet)
            self.fleet.close()

        self.call(end())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.mark.skipif(not _redis_up(), reason=f"needs Redis at {REDIS_URL}")
@pytest.mark.skipif(not shutil.which("ffprobe"), reason="needs Debian's ffmpeg")
def test_a_web_process_proxies_video_to_the_sip_process_holding_the_camera(platform_env, tmp_path):
    import redis

    redis.Redis.from_url(REDIS_URL).delete("campus-safety:cluster:members")
    env = {
        **platform_env, "REDIS_URL": REDIS_URL, "VIDEO_MEDIA_HOST": "127.0.0.1",
        "VIDEO_MEDIA_BIND": "127.0.0.1", "GB28181_PLATFORM_ID": PLATFORM_ID,
        "GB28181_DOMAIN": DOMAIN, "LIVENESS_REDIS_PREFIX": f"video-test-{secrets.token_hex(3)}",
    }  # fmt: skip
    made = json.loads(
        manage(env, "shell", "-c", SETUP % {"nvr": NVR_ID, "cameras": CAMERAS}).splitlines()[-1]
    )
    sip = Serve("sip,web", env, tmp_path / "sip.log")
    web = Serve("web", env, tmp_path / "web.log")
    fleet = None
    try:
        deadline = time.monotonic() + 60
        sip.wait_listed(deadline)
        web.wait_listed(deadline)
        fleet = FleetThread(int(env["GB28181_PORT"]))
        assert fleet.register() == 200
        browser = Browser(made["session"])
        camera = made["cameras"][0]

        # live: started and watched through the web process, served by the SIP process
        started = browser.call(web.port, f"/video/cameras/{camera}/start/", {})
        body = started.read()
        assert started.status == 200, body
        assert started.headers[routing.SERVED_BY_HEADER] == sip.member
        stream = browser.call(web.port, json.loads(body)["url"])
        assert stream.status == 200 and stream.headers["Content-Type"] == "video/mp2t"
        data = bytearray()
        until = time.monotonic() + 1.5
        while time.monotonic() < until:
            data += stream.read1(65536)
        stream.close()
        packets = range(0, len(data) - 188, 188)  # MPEG-TS as sent: no framing left in it
        assert len(packets) > 100 and all(data[i] == 0x47 for i in packets)
        assert probe(bytes(data)) == "h264,640,360"
        assert len(video_camera.streams(fleet.fleet)) == 1  # one INVITE, from the SIP process

        # a playback and its pause, both through the web process, reach the camera
        recorded_at = int(time.time()) - 900
        replay = json.loads(
            browser.call(web.port, f"/video/cameras/{camera}/start/", {"from": recorded_at}).read()
        )
        watching = browser.call(web.port, replay["url"])
        assert watching.read1(65536)[:1] == b"\x47"
        mine = {"from": recorded_at, "playback": replay["playback"]}
        control = f"/video/cameras/{camera}/playback/"
        paused = browser.call(web.port, control, {**mine, "action": "pause"})
        assert paused.status == 200 and json.loads(paused.read())["state"] == "paused"
        replayed = [s for s in video_camera.streams(fleet.fleet) if s.recorded_at == recorded_at]
        assert [c.action for c in replayed[0].controls] == ["pause"]

        # the viewer leaving the web process is the viewer leaving the SIP process: its
        # own playback ends there (and its dialog with the camera)
        watching.close()
        query = "&".join(f"{k}={v}" for k, v in mine.items())
        state: dict = {}
        until = time.monotonic() + 15
        while state.get("state") != "ended" and time.monotonic() < until:
            time.sleep(0.5)
            state = json.loads(browser.call(web.port, f"{control}?{query}").read())
        assert state == {"state": "ended", "reason": "viewer left"}

        # the SIP process answers its own calls itself (nobody asked, nothing proxied)
        direct = browser.call(sip.port, f"/video/cameras/{camera}/start/", {})
        assert direct.status == 200 and routing.SERVED_BY_HEADER not in direct.headers

        # once the SIP process is gone (its address still cached as the holder), the web
        # process serves the call itself: no gateway here, said plainly
        sip.stop()
        gone = browser.call(web.port, f"/video/cameras/{camera}/start/", {})
        assert gone.status == 503, gone.read()
    finally:
        if fleet is not None:
            fleet.close()
        web.stop()
        sip.stop()


# --- the proxy's reading of a chunked answer ------------------------------------------------


@given(st.lists(st.binary(min_size=1, max_size=300), max_size=8), st.booleans())
def test_a_chunked_answer_is_relayed_as_its_data_alone(pieces, with_extension):
    """uvicorn frames a streamed body in chunks even for an HTTP/1.0 client (checked
    against uvicorn 0.55 with httptools): the MPEG-TS relayed must be the data alone."""
    extension = b";name=value" if with_extension else b""
    framed = b"".join(b"%x%s\r\n%s\r\n" % (len(p), extension, p) for p in pieces)
    framed += b"0\r\nX-Trailer: 1\r\n\r\n"

    async def relay() -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(framed + b"not part of the body")
        reader.feed_eof()
        return b"".join([chunk async for chunk in routing._unchunked(reader)])

    assert asyncio.run(relay()) == b"".join(pieces)
