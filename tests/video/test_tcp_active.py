"""RTP over TCP with the platform connecting (``VIDEO_RTP_TRANSPORT = "tcp_active"``,
GB/T 28181-2016's TCP active mode) end to end: the platform offers ``TCP/RTP/AVP`` with
``a=setup:active``, the simulated camera answers ``a=setup:passive`` with a port it
listens on, the platform connects there and the camera sends RFC 4571-framed RTP/PS."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.urls import reverse

from campus_safety.simulator import video_camera
from campus_safety.video import media_control, sdp, streams, ts, views
from tests.video.support import CAMERAS, collect, probe


@pytest.fixture
def tcp_active(settings):
    settings.VIDEO_RTP_TRANSPORT = "tcp_active"


def _decoded_frames(ts_bytes: bytes) -> int:
    """Frames FFmpeg decodes from these TS bytes (a real decoder, not our parser)."""
    result = subprocess.run(
        [shutil.which("ffprobe") or "ffprobe", "-v", "error", "-count_frames",
         "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames",
         "-of", "csv=p=0", "-"],
        input=ts_bytes, capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    counts = [line for line in result.stdout.decode().split() if line.isdigit()]
    return int(counts[0]) if counts else 0


def _refuses(port: int) -> bool:
    with socket.socket() as probe_socket:
        probe_socket.settimeout(2)
        try:
            probe_socket.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
    return False


def _closed_port() -> int:
    """A TCP port where nothing listens (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port whose connections hang, as behind a firewall dropping the SYN: a listener
    never accepting, its queue (backlog 0) full, so the kernel drops further SYNs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # completes in the kernel's queue
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    server.close()


def test_a_viewer_gets_h264_from_a_camera_the_platform_connects_to(rig, tcp_active):
    viewer = streams.Viewer()
    session = rig.call(rig.hub.attach(rig.target(), viewer))
    data = collect(viewer, 1.5)
    assert session.state == "live" and session.codec == "h264"
    assert probe(data) == "h264,640,360"  # remuxed, not transcoded
    assert _decoded_frames(data) >= 10
    assert session.stats["lost"] == 0 and session.stats["foreign_ssrc"] == 0

    [camera] = rig.camera_streams()
    offered = camera.offer.video  # the INVITE's SDP as the camera read it off the wire
    assert (offered.proto, offered.setup, offered.attribute("connection")) == (
        "TCP/RTP/AVP",
        "active",
        "new",
    )
    answered = sdp.parse(camera.answer)
    assert answered.connection_address == "127.0.0.1"
    assert answered.video.proto == "TCP/RTP/AVP" and answered.video.formats == ("96",)
    assert (answered.video.setup, answered.video.attribute("connection")) == ("passive", "new")
    # the platform's connection is the one to the port the camera answered
    assert session._tcp.transport.get_extra_info("peername")[1] == answered.video.port
    assert _refuses(answered.video.port)  # its listener closed after that one connection


def test_bye_ends_the_stream_and_the_cameras_connection(rig, tcp_active):
    viewer = streams.Viewer()
    session = rig.call(rig.hub.attach(rig.target(), viewer))
    assert collect(viewer, 0.5)
    [camera] = rig.camera_streams()
    rig.call(session.stop("idle"))  # what the idle sweep does: BYE
    time.sleep(0.3)
    assert viewer.get(0.1) is None and viewer.closed_reason == "idle"
    assert rig.server.server.dialogs.dialogs == {}  # BYE sent and answered
    assert rig.camera_streams() == []  # the camera took the BYE
    assert camera.tcp.transport.is_closing() and camera.task.done()
    assert _refuses(camera.local_port)


def test_a_camera_stops_listening_when_the_platform_never_connects(rig, monkeypatch):
    """An INVITE offering setup:active whose sender never connects: the camera's port
    is closed after LISTEN_SECONDS instead of waiting for ever."""
    monkeypatch.setattr(video_camera, "LISTEN_SECONDS", 0.5)
    offer = sdp.offer(
        platform_id="34020000002000000001",
        address="127.0.0.1",
        port=9,
        ssrc="0371400001",
        tcp_setup="active",
    )

    async def invite_only() -> media_control.InviteAnswer:
        return await rig.server.server.dialogs.invite(
            rig.target().device_id, CAMERAS[2], offer, subject=f"{CAMERAS[2]}:0", timeout=5
        )

    answer = rig.call(invite_only())
    port = sdp.parse(answer.sdp).video.port
    [camera] = rig.camera_streams()
    time.sleep(1.0)
    assert _refuses(port)
    assert camera.task.done() and camera.frames == 0
    rig.call(rig.server.server.dialogs.bye(answer.dialog_id))


def test_an_answered_port_where_nothing_listens_is_a_clear_error_and_the_dialog_ends(
    rig, tcp_active, monkeypatch
):
    monkeypatch.setattr(video_camera.OPTIONS, "answered_ports", {CAMERAS[1]: _closed_port()})
    started = time.monotonic()
    with pytest.raises(streams.NoMedia, match="无法连接摄像机的媒体端口"):
        rig.call(rig.hub.attach(rig.target(CAMERAS[1]), streams.Viewer()))
    assert time.monotonic() - started < 5.0
    time.sleep(0.3)
    assert rig.server.server.dialogs.dialogs == {}  # BYE sent
    assert rig.camera_streams() == [] and rig.hub.sessions == {}


def test_an_answered_port_whose_connection_hangs_gives_up_within_5_s(
    rig, tcp_active, monkeypatch, black_hole
):
    """A firewall dropping the SYN: without a bound the connection attempt would hold
    the viewer for the kernel's two minutes of retries."""
    monkeypatch.setattr(video_camera.OPTIONS, "answered_ports", {CAMERAS[1]: black_hole})
    started = time.monotonic()
    with pytest.raises(streams.NoMedia, match="无法连接摄像机的媒体端口"):
        rig.call(rig.hub.attach(rig.target(CAMERAS[1]), streams.Viewer()))
    assert time.monotonic() - started < 5.0 + 1.0  # the INVITE's answer plus 4 s
    time.sleep(0.3)
    assert rig.server.server.dialogs.dialogs == {}
    assert rig.camera_streams() == []


@pytest.mark.django_db
def test_the_player_plays_a_tcp_active_camera(
    client, dispatcher, cameras, rig, tcp_active, monkeypatch
):
    bodies = []
    make_body = views._body

    def recorded(*args):
        bodies.append(make_body(*args))
        return bodies[-1]

    monkeypatch.setattr(views, "_body", recorded)
    answer = client.post(reverse("video:start", args=[cameras[0].pk]))
    assert answer.status_code == 200, answer.content
    url = answer.json()["url"]

    async def watch() -> bytes:
        browser = AsyncClient()
        browser.cookies = client.cookies
        response = await browser.get(url + "?why=test")
        assert response.status_code == 200
        body = bytearray()
        async for chunk in response.streaming_content:
            body += chunk
            if len(body) > 100_000:
                break
        await bodies[0].aclose()  # the browser leaves
        return bytes(body)

    body = async_to_sync(watch)()
    body = body[: len(body) // 188 * 188]
    assert ts.parse_packets(body)[0][0] == 0
    assert probe(body) == "h264,640,360"
    assert rig.hub.sessions[CAMERAS[0]]._tcp is not None


@pytest.mark.django_db
def test_the_player_is_told_when_the_cameras_media_port_cannot_be_reached(
    client, dispatcher, cameras, rig, tcp_active, monkeypatch
):
    monkeypatch.setattr(video_camera.OPTIONS, "answered_ports", {CAMERAS[1]: _closed_port()})
    answer = client.post(reverse("video:start", args=[cameras[1].pk]))
    assert answer.status_code == 504
    assert answer.json() == {"error": "无法连接摄像机的媒体端口。", "code": "no_media"}
    time.sleep(0.3)
    assert rig.server.server.dialogs.dialogs == {}
