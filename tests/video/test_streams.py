"""Live streams end to end without a database: the gateway's dialogs, a simulated NVR
whose cameras send FFmpeg H.264 in PS over RTP, the hub remuxing to MPEG-TS."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

import pytest

from campus_safety import clock
from campus_safety.simulator import video_camera
from campus_safety.video import rtp, streams, ts
from tests.video.support import CAMERAS, collect, probe


def test_a_viewer_gets_h264_in_mpeg_ts_from_the_first_key_frame(rig):
    viewer = streams.Viewer()
    session = rig.call(rig.hub.attach(rig.target(), viewer))
    assert session.state == "live" and session.codec == "h264"
    data = collect(viewer, 1.5)
    packets = ts.parse_packets(data)
    assert packets[0][0] == 0 and packets[1][0] == ts.PMT_PID  # starts with the tables
    assert probe(data) == "h264,640,360"  # FFmpeg reads what we remuxed: no transcoding
    assert session.stats["foreign_ssrc"] == 0 and session.stats["lost"] == 0


def test_one_device_stream_is_shared_and_a_late_viewer_starts_from_the_cached_gop(rig):
    first, second = streams.Viewer(), streams.Viewer()
    session = rig.call(rig.hub.attach(rig.target(), first))
    collect(first, 0.6)
    again = rig.call(rig.hub.attach(rig.target(), second))
    assert again is session and len(rig.camera_streams()) == 1  # one INVITE
    data = second.get(1.0)
    assert ts.parse_packets(data)[0][0] == 0  # the cached key frame at once


def test_the_stream_stops_30_s_after_the_last_viewer_left(rig):
    viewer = streams.Viewer()
    rig.call(rig.hub.attach(rig.target(), viewer))
    rig.call(rig.hub.detach(CAMERAS[0], viewer))
    now = clock.now()
    assert rig.call(rig.hub.sweep(now + dt.timedelta(seconds=29))) == []
    assert rig.call(rig.hub.sweep(now + dt.timedelta(seconds=31))) == [CAMERAS[0]]
    assert CAMERAS[0] not in rig.hub.sessions
    time.sleep(0.3)
    assert rig.server.server.dialogs.dialogs == {}  # BYE sent
    assert rig.camera_streams() == []  # the camera stopped sending


def test_a_viewer_who_comes_back_within_30_s_keeps_the_stream(rig):
    viewer = streams.Viewer()
    session = rig.call(rig.hub.attach(rig.target(), viewer))
    rig.call(rig.hub.detach(CAMERAS[0], viewer))
    rig.call(rig.hub.attach(rig.target(), streams.Viewer()))
    assert rig.call(rig.hub.sweep(clock.now() + dt.timedelta(seconds=60))) == []
    assert session.state == "live"


def test_a_device_that_never_sends_media_gets_no_media_within_5_s_and_the_dialog_closed(
    rig, settings
):
    video_camera.OPTIONS.silent_channels.add(CAMERAS[1])
    started = time.monotonic()
    with pytest.raises(streams.NoMedia, match="设备未推流"):
        rig.call(rig.hub.attach(rig.target(CAMERAS[1]), streams.Viewer()))
    assert time.monotonic() - started < 5.0 + 1.0  # the INVITE's answer plus 4 s
    time.sleep(0.2)
    assert rig.server.server.dialogs.dialogs == {}
    assert rig.camera_streams() == []


def test_limits_per_platform_and_per_stream_are_clear(rig, settings):
    settings.VIDEO_MAX_STREAMS = 1
    settings.VIDEO_MAX_VIEWERS_PER_STREAM = 1
    rig.call(rig.hub.attach(rig.target(), streams.Viewer()))
    with pytest.raises(streams.LimitReached, match="1"):
        rig.call(rig.hub.attach(rig.target(CAMERAS[2]), streams.Viewer()))
    with pytest.raises(streams.LimitReached):
        rig.call(rig.hub.attach(rig.target(), streams.Viewer()))


def test_a_refused_invite_is_a_clear_error(rig):
    video_camera.OPTIONS.refused_channels.add(CAMERAS[2])
    with pytest.raises(streams.StreamError, match="486"):
        rig.call(rig.hub.open(rig.target(CAMERAS[2])))


def test_rtp_from_another_address_or_ssrc_is_dropped(rig):
    session = rig.call(rig.hub.open(rig.target()))
    good = session.stats["packets"]
    stranger = rtp.build(rtp.RtpPacket(96, 1, 1, session.expected_ssrc ^ 1, b"\x00\x00\x01\xba"))

    async def inject() -> None:
        session.on_rtp(stranger, "127.0.0.1")
        session.on_rtp(b"\x80\x60garbage", "127.0.0.1")
        session.on_rtp(stranger, "10.9.9.9")

    rig.call(inject())
    assert session.stats["foreign_ssrc"] == 1
    assert session.stats["bad_rtp"] == 1
    assert session.stats["foreign_address"] == 1
    assert session.stats["packets"] >= good


def test_rtp_over_tcp_passive(rig, settings):
    settings.VIDEO_RTP_TRANSPORT = "tcp_passive"
    viewer = streams.Viewer()
    session = rig.call(rig.hub.attach(rig.target(), viewer))
    assert session._tcp is not None
    assert probe(collect(viewer, 1.0)) == "h264,640,360"


def test_a_stopping_process_ends_every_viewers_response(rig):
    viewer = streams.Viewer()
    rig.call(rig.hub.attach(rig.target(), viewer))

    async def stopping() -> None:
        rig.hub.end_viewers()

    rig.call(stopping())
    while (data := viewer.get(1.0)) is not None:
        assert data is not None
    assert viewer.closed_reason == "shutdown"


def test_a_refused_invite_closes_its_media_socket(rig, monkeypatch):
    made: list[streams.Session] = []

    class Recorded(streams.Session):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(streams, "Session", Recorded)
    video_camera.OPTIONS.refused_channels.add(CAMERAS[2])
    with pytest.raises(streams.StreamError):
        rig.call(rig.hub.open(rig.target(CAMERAS[2])))
    assert made[0]._transport is None or made[0]._transport.is_closing()


def test_a_viewer_who_leaves_while_the_stream_starts_neither_ends_it_nor_leaks_it(rig, settings):
    """The browser gave up (page closed) while the camera was still being asked: the
    start goes on for the others waiting, and a stream never started ends its dialog."""
    settings.VIDEO_NO_MEDIA_SECONDS = 1.5
    video_camera.OPTIONS.silent_channels.add(CAMERAS[1])

    async def leave_then_wait() -> Exception:
        leaving = asyncio.ensure_future(rig.hub.open(rig.target(CAMERAS[1])))
        staying = asyncio.ensure_future(rig.hub.open(rig.target(CAMERAS[1])))
        await asyncio.sleep(0.5)  # answered, waiting for the first key frame
        leaving.cancel()
        try:
            await staying
        except streams.StreamError as exc:
            return exc
        raise AssertionError("a silent camera started")

    error = rig.call(leave_then_wait())
    assert isinstance(error, streams.NoMedia)  # the one still waiting hears why
    time.sleep(0.3)
    assert rig.server.server.dialogs.dialogs == {}  # BYE sent
    assert rig.hub.sessions == {} and rig.camera_streams() == []


def test_a_camera_whose_rtp_sequence_restarts_keeps_streaming(rig):
    """An encoder restart numbers its packets afresh: far behind the last one is a new
    start, not 'late' (every packet dropped while the stream looked alive)."""
    session = rig.call(rig.hub.open(rig.target()))

    async def jump() -> int:
        session.last_sequence = (session.last_sequence + 20_000) & 0xFFFF
        return session.stats["frames"]

    frames = rig.call(jump())
    time.sleep(2.5)  # past the next key frame
    assert session.stats["frames"] > frames
    assert session.stats["late"] < 5


def test_a_stream_still_starting_counts_once_against_the_platform_limit(rig, settings):
    settings.VIDEO_MAX_STREAMS = 2
    settings.VIDEO_NO_MEDIA_SECONDS = 1.5
    video_camera.OPTIONS.silent_channels.add(CAMERAS[1])

    async def second_while_first_starts() -> str:
        starting = asyncio.ensure_future(rig.hub.open(rig.target(CAMERAS[1])))
        await asyncio.sleep(0.3)
        session = await rig.hub.open(rig.target(CAMERAS[2]))
        with contextlib.suppress(streams.StreamError):
            await starting
        return session.state

    assert rig.call(second_while_first_starts()) == "live"


def test_streams_ending_together_do_not_wait_for_each_others_bye(rig, monkeypatch):
    """Cameras gone dark (a school's power cut) answer no BYE: each waits its own 4 s,
    not the sum, before the sweep stops the next idle stream."""
    for camera in CAMERAS[:2]:
        rig.call(rig.hub.open(rig.target(camera)))
    dialogs = rig.server.server.dialogs

    async def unanswered_bye(dialog_id: str) -> None:
        dialogs.dialogs.pop(dialog_id, None)
        await asyncio.sleep(1.0)

    monkeypatch.setattr(dialogs, "bye", unanswered_bye)
    began = time.monotonic()
    stopped = rig.call(rig.hub.sweep(clock.now() + dt.timedelta(seconds=31)))
    assert sorted(stopped) == CAMERAS[:2]
    assert time.monotonic() - began < 1.8


def test_a_camera_that_stops_sending_mid_stream_ends_it_for_its_viewers(rig, monkeypatch):
    monkeypatch.setattr(streams, "STALL_SECONDS", 0.5)
    viewer = streams.Viewer()
    rig.call(rig.hub.attach(rig.target(), viewer))

    async def camera_goes_dark() -> None:
        for camera in rig.camera_streams():
            camera.task.cancel()  # the dialog stays, the packets stop

    rig.call(camera_goes_dark())
    collect(viewer, 3.0)  # the hub's own sweep, once a second
    assert viewer.closed_reason == "no media"
    assert CAMERAS[0] not in rig.hub.sessions
    time.sleep(0.3)
    assert rig.server.server.dialogs.dialogs == {}  # BYE sent


def test_rtp_from_a_stranger_before_and_after_the_200_ok_is_dropped_and_counted(rig, monkeypatch):
    """A camera slow to answer: RTP that comes before its 200 OK is held until the answer
    names the peer, then kept if it came from there; a stranger's (another address, the
    right SSRC) is dropped before and after the answer, and counted."""
    monkeypatch.setattr(video_camera.OPTIONS, "answer_delay", 0.6)

    async def scenario() -> tuple[streams.Session, int, bool]:
        opening = asyncio.ensure_future(rig.hub.open(rig.target(CAMERAS[2])))
        while not (rig.hub.sessions and next(iter(rig.hub.sessions.values()))._transport):
            await asyncio.sleep(0.01)
        session = next(iter(rig.hub.sessions.values()))
        port = session._transport.get_extra_info("sockname")[1]
        loop = asyncio.get_running_loop()
        peer, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        stranger, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.2", 0)
        )
        ssrc = session.expected_ssrc

        def packet(sequence: int) -> bytes:
            return rtp.build(rtp.RtpPacket(96, sequence, 1, ssrc, b"\x00\x00\x01\xba"))

        stranger.sendto(packet(1), ("127.0.0.1", port))
        peer.sendto(packet(2), ("127.0.0.1", port))
        await asyncio.sleep(0.2)
        held = len(session._early)
        answered_early = session.answered
        await opening
        stranger.sendto(packet(3), ("127.0.0.1", port))
        await asyncio.sleep(0.2)
        peer.close()
        stranger.close()
        return session, held, answered_early

    session, held, answered_early = rig.call(scenario())
    assert (held, answered_early) == (2, False)  # both held until the answer came
    assert session.state == "live"
    assert session.stats["foreign_address"] == 2  # the stranger's, before and after
    assert session.hosts == {"127.0.0.1"}


def test_a_tcp_media_connection_the_device_closes_ends_the_stream_at_once(rig, settings):
    settings.VIDEO_RTP_TRANSPORT = "tcp_passive"
    viewer = streams.Viewer()
    session = rig.call(rig.hub.attach(rig.target(), viewer))
    assert collect(viewer, 0.5)

    async def camera_hangs_up() -> None:
        for camera in rig.camera_streams():
            camera.tcp.transport.close()

    rig.call(camera_hangs_up())
    collect(viewer, 3.0)
    assert viewer.closed_reason == "connection lost"  # not the 10-s stall check
    assert session.stats["connection_lost"] == 1
    assert CAMERAS[0] not in rig.hub.sessions
    time.sleep(0.3)
    assert rig.server.server.dialogs.dialogs == {}  # BYE sent


def test_a_camera_that_starts_mid_gop_is_asked_for_a_key_frame(rig, monkeypatch):
    """Its first frames are not key frames (its encoder already ran): instead of waiting
    for the next GOP the platform sends DeviceControl IFameCmd, once, and the camera's
    encoder starts afresh on a key frame."""
    monkeypatch.setattr(video_camera.OPTIONS, "mid_gop_channels", {CAMERAS[1]})
    session = rig.call(rig.hub.open(rig.target(CAMERAS[1])))
    assert session.state == "live"
    assert session.stats["frames_skipped"] > 0  # it did begin mid-GOP
    assert session.stats["key_frame_asked"] == 1
    assert (CAMERAS[1], "IFameCmd") in video_camera.controls(rig.fleet)
    assert [s.restarts for s in rig.camera_streams()] == [1]


def test_a_camera_that_starts_on_a_key_frame_is_not_asked(rig):
    session = rig.call(rig.hub.open(rig.target(CAMERAS[2])))
    assert session.stats["key_frame_asked"] == 0
    assert video_camera.controls(rig.fleet) == []


def test_a_tcp_media_connection_from_a_stranger_before_the_200_ok_is_closed_after_it(
    rig, settings, monkeypatch
):
    """RTP over TCP, platform listening: a connection that comes before the answer is
    taken (the peer is not known yet) and closed once the answer names another peer;
    the camera's own connection then carries the stream."""
    settings.VIDEO_RTP_TRANSPORT = "tcp_passive"
    monkeypatch.setattr(video_camera.OPTIONS, "answer_delay", 0.6)

    async def scenario() -> tuple[streams.Session, bool, bytes]:
        opening = asyncio.ensure_future(rig.hub.open(rig.target(CAMERAS[2])))
        while not (rig.hub.sessions and next(iter(rig.hub.sessions.values()))._server):
            await asyncio.sleep(0.01)
        session = next(iter(rig.hub.sessions.values()))
        port = session._server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=("127.0.0.2", 0)
        )
        await asyncio.sleep(0.2)
        taken_early = session._tcp is not None and session._tcp.host == "127.0.0.2"
        await opening
        closed = await asyncio.wait_for(reader.read(), 2)  # b"": the platform hung up
        writer.close()
        return session, taken_early, closed

    session, taken_early, closed = rig.call(scenario())
    assert taken_early and closed == b""
    assert session.stats["foreign_connection"] == 1
    assert session.state == "live" and session._tcp.host == "127.0.0.1"
