"""Playback controls: MANSRTSP built and read (hypothesis), pause / resume / seek /
speed from the page's call through the gateway's INFO to a simulated camera, each
viewer steering a playback of their own, and the device's end of file (MediaStatus
121): the viewer is told and the dialog closed."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from campus_safety.audit.models import AuditEntry
from campus_safety.video import mansrtsp, services, streams
from tests.factories import UserFactory, sign_in
from tests.gateway.gb28181.harness import NVR_ID, PLATFORM_ID, wait_until
from tests.gateway.gb28181.test_sipp import CHANNELS, explain, run_sipp
from tests.video.support import CAMERAS

SIPP = Path(__file__).parent / "sipp"

controls = st.one_of(
    st.builds(mansrtsp.Control, st.sampled_from(["pause", "resume"]), st.integers(1, 2**31 - 1)),
    st.builds(
        mansrtsp.Control,
        st.just("seek"),
        st.integers(1, 2**31 - 1),
        position=st.integers(0, 86_400).map(float),
    ),
    st.builds(
        mansrtsp.Control,
        st.just("speed"),
        st.integers(1, 2**31 - 1),
        scale=st.sampled_from(mansrtsp.SPEEDS),
    ),
)


@given(controls)
def test_mansrtsp_round_trip(control):
    body = mansrtsp.build(control)
    assert body.startswith((b"PLAY RTSP/1.0\r\n", b"PAUSE RTSP/1.0\r\n"))
    assert mansrtsp.parse(body) == control


@given(st.binary(max_size=600))
def test_mansrtsp_garbage_is_refused_not_crashed_on(data):
    with contextlib.suppress(mansrtsp.MansrtspError):
        mansrtsp.parse(data)


def test_known_mansrtsp_texts():
    assert mansrtsp.build(mansrtsp.Control("speed", 5, scale=2.0)) == (
        b"PLAY RTSP/1.0\r\nCSeq: 5\r\nScale: 2.00\r\n\r\n"
    )
    assert mansrtsp.parse(b"PLAY RTSP/1.0\r\nCSeq: 7\r\nRange: npt=120-\r\n\r\n") == (
        mansrtsp.Control("seek", 7, position=120.0)
    )
    for bad in (mansrtsp.Control("speed", 1, scale=3.0), mansrtsp.Control("jump", 1)):
        with pytest.raises(mansrtsp.MansrtspError):
            mansrtsp.build(bad)


def _camera_stream(rig, key: str):
    """The simulated camera's side of the playback ``key`` (matched by its SSRC)."""
    ssrc = int(rig.hub.sessions[key].ssrc)
    return next(s for s in rig.camera_streams() if s.ssrc == ssrc)


def _start(client, camera, recorded_at: int) -> str:
    answer = client.post(reverse("video:start", args=[camera.pk]), {"from": recorded_at})
    assert answer.status_code == 200, answer.content
    return answer.json()["playback"]


@pytest.mark.django_db
def test_pause_resume_speed_and_seek_reach_the_camera_and_are_audited(
    client, dispatcher, cameras, rig
):
    recorded_at = int(time.time()) - 1800
    playback = _start(client, cameras[0], recorded_at)
    url = reverse("video:playback", args=[cameras[0].pk])
    mine = {"from": recorded_at, "playback": playback}
    camera = _camera_stream(rig, services.target_of(cameras[0], recorded_at, playback).key)

    paused = client.post(url, {**mine, "action": "pause"})
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    assert client.get(url, mine).json()["state"] == "paused"
    assert client.post(url, {**mine, "action": "resume"}).json()["state"] == "live"
    assert client.post(url, {**mine, "action": "speed", "scale": "2"}).json() == {
        "state": "live",
        "scale": 2.0,
    }
    assert client.post(url, {**mine, "action": "seek", "position": "120"}).status_code == 200
    assert [c.action for c in camera.controls] == ["pause", "resume", "speed", "seek"]
    assert camera.controls[2].scale == 2.0 and camera.controls[3].position == 120.0
    assert camera.speed == 2.0
    audited = AuditEntry.objects.filter(action="video.playback_control").order_by("pk")
    assert [e.detail["action"] for e in audited] == ["pause", "resume", "speed", "seek"]

    for bad in ({"action": "speed", "scale": "3"}, {"action": "seek", "position": "-1"},
                {"action": "rewind"}):  # fmt: skip
        assert client.post(url, {**mine, **bad}).status_code == 400
    gone = client.post(url, {**mine, "from": recorded_at - 60, "action": "pause"})
    assert gone.status_code == 409 and gone.json()["error"]
    unnamed = client.post(url, {"from": recorded_at, "action": "pause"})
    assert unnamed.status_code == 409  # a playback is named by the viewer who started it


@pytest.mark.django_db
def test_two_viewers_of_the_same_moment_each_steer_their_own_playback(
    client, dispatcher, cameras, rig
):
    """Two dispatchers replay the same camera from the same moment: each has a dialog of
    their own with the camera, so one's pause and speed do not touch the other's
    picture, and neither may steer the other's playback."""
    other = Client()
    sign_in(other, UserFactory(role="dispatcher", region=dispatcher.region))
    recorded_at = int(time.time()) - 900
    mine = {"from": recorded_at, "playback": _start(client, cameras[0], recorded_at)}
    theirs = {"from": recorded_at, "playback": _start(other, cameras[0], recorded_at)}
    assert mine["playback"] != theirs["playback"]
    keys = [services.target_of(cameras[0], recorded_at, p["playback"]).key for p in (mine, theirs)]
    my_camera, their_camera = (_camera_stream(rig, key) for key in keys)
    assert my_camera is not their_camera  # two INVITEs over SIP, two media streams
    assert my_camera.recorded_at == their_camera.recorded_at == recorded_at
    url = reverse("video:playback", args=[cameras[0].pk])

    assert client.post(url, {**mine, "action": "pause"}).json()["state"] == "paused"
    assert other.post(url, {**theirs, "action": "speed", "scale": "4"}).json() == {
        "state": "live",
        "scale": 4.0,
    }
    assert [c.action for c in my_camera.controls] == ["pause"]
    assert [c.action for c in their_camera.controls] == ["speed"]
    assert (my_camera.speed, their_camera.speed) == (1.0, 4.0)
    assert client.get(url, mine).json() == {"state": "paused", "scale": 1.0}
    assert other.get(url, theirs).json() == {"state": "live", "scale": 4.0}

    # neither may steer (nor read) the other's playback, even knowing its name
    assert client.post(url, {**theirs, "action": "pause"}).status_code == 409
    assert other.get(url, mine).status_code == 409
    assert [c.action for c in their_camera.controls] == ["speed"]

    # the live stream stays one for every viewer
    first = client.post(reverse("video:start", args=[cameras[0].pk])).json()
    second = other.post(reverse("video:start", args=[cameras[0].pk])).json()
    assert first["playback"] == second["playback"] == ""
    live = [s for s in rig.camera_streams() if not s.recorded_at]
    assert len(live) == 1


def test_a_viewer_s_own_playback_ends_once_they_leave(rig):
    """Nobody else can join a viewer's playback, so it does not hold one of the
    device's streams for the idle delay of a shared one."""
    recorded_at = int(time.time()) - 1200
    shared = streams.Target(CAMERAS[0], NVR_ID, recorded_at, recorded_at + 600)
    own = streams.Target(CAMERAS[0], NVR_ID, recorded_at, recorded_at + 600, tag="7-0123456789ab")
    viewers = {shared.key: streams.Viewer(), own.key: streams.Viewer()}
    for target in (shared, own):
        rig.call(rig.hub.attach(target, viewers[target.key]))
        rig.call(rig.hub.detach(target.key, viewers[target.key]))
    assert rig.call(rig.hub.sweep()) == [own.key]
    assert viewers[own.key].closed_reason is None  # it had left already
    assert rig.hub.state_of(own.key) == {"state": "ended", "reason": "viewer left"}
    assert shared.key in rig.hub.sessions  # kept VIDEO_IDLE_STOP_SECONDS for others


@pytest.mark.django_db
def test_the_end_of_the_recording_is_told_and_the_dialog_closed(
    client, dispatcher, cameras, rig, monkeypatch
):
    monkeypatch.setattr(services, "PLAYBACK_SECONDS", 3)  # a 3-s file: the camera ends it
    recorded_at = int(time.time()) - 600
    playback = _start(client, cameras[1], recorded_at)
    viewer = streams.Viewer()
    target = services.target_of(cameras[1], recorded_at, playback)
    rig.call(rig.hub.attach(target, viewer))
    deadline = time.monotonic() + 15
    while viewer.get(0.3) is not None and time.monotonic() < deadline:
        pass
    assert viewer.closed_reason == "end of file"  # MediaStatus 121 from the camera
    url = reverse("video:playback", args=[cameras[1].pk])
    mine = {"from": recorded_at, "playback": playback}
    assert client.get(url, mine).json() == {"state": "ended", "reason": "end of file"}
    time.sleep(0.3)
    assert rig.server.server.dialogs.dialogs == {}  # BYE sent
    assert rig.camera_streams() == []  # the camera stopped on the BYE
    assert client.post(url, {**mine, "action": "pause"}).status_code == 409


def test_mansrtsp_info_inside_the_playback_dialog_against_sipp(start_server, tmp_path, settings):
    """A real peer reads each INFO: Application/MANSRTSP, PAUSE then PLAY (now, Scale,
    Range) with rising CSeq, inside the dialog the playback INVITE set up."""
    settings.GB28181_PLATFORM_ID = PLATFORM_ID
    server = start_server()
    outcome: dict = {}

    def device() -> None:
        outcome["sipp"] = run_sipp(
            server.port, "catalog.xml", tmp_path, ooc=str(SIPP / "playback_control.xml"),
            timeout=8.0,
        )  # fmt: skip

    thread = threading.Thread(target=device)
    thread.start()
    wait_until(lambda: server.server.registration(NVR_ID), timeout=5)
    start = int(time.time()) - 3600
    target = streams.Target(CHANNELS[0], NVR_ID, start, start + 600)
    offer = streams.offer_for(target, address="127.0.0.1", port=30000, ssrc="1371400003")
    dialogs = server.server.dialogs
    answer = server.call(
        dialogs.invite(NVR_ID, CHANNELS[0], offer, subject=f"{CHANNELS[0]}:1371400003,x:0")
    )
    commands = [
        mansrtsp.Control("pause", 1),
        mansrtsp.Control("resume", 2),
        mansrtsp.Control("speed", 3, scale=2.0),
        mansrtsp.Control("seek", 4, position=120.0),
    ]
    statuses = [
        server.call(dialogs.info(answer.dialog_id, mansrtsp.build(c), mansrtsp.CONTENT_TYPE))
        for c in commands
    ]
    assert statuses == [200, 200, 200, 200]
    server.call(dialogs.bye(answer.dialog_id))
    thread.join(15)
    assert outcome["sipp"].returncode == 0, explain(outcome["sipp"], tmp_path)
    errors = "".join(f.read_text(errors="replace") for f in tmp_path.glob("*_errors.log"))
    assert "Failed regexp" not in errors, errors  # sipp's checks of what we sent
