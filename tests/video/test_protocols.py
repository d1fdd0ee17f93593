"""SDP, RTP (+ RFC 4571), PS and TS: round trips and hostile input (hypothesis)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campus_safety.video import ps, rtp, sdp, ts

DEVICE_ANSWER = (
    b"v=0\r\no=34020000001320000001 0 0 IN IP4 192.168.1.64\r\ns=Play\r\n"
    b"c=IN IP4 192.168.1.64\r\nt=0 0\r\nm=video 15060 RTP/AVP 96\r\na=sendonly\r\n"
    b"a=rtpmap:96 PS/90000\r\ny=0100000001\r\nf=v/2/4///a///\r\n"
)


def test_a_hikvision_style_answer_is_read():
    answer = sdp.parse(DEVICE_ANSWER)
    assert answer.connection_address == "192.168.1.64"
    assert answer.video.port == 15060
    assert answer.video.rtpmap() == {96: "PS"}
    assert answer.ssrc_value == 100000001
    assert answer.media_description == "v/2/4///a///"
    assert not answer.video.is_tcp


def test_the_platform_offer_names_ssrc_and_tcp_passive():
    body = sdp.offer(
        platform_id="37140000002000000001",
        address="10.0.0.1",
        port=30000,
        ssrc="0100000002",
        tcp_setup="passive",
    )
    offer = sdp.parse(body)
    assert offer.session_name == "Play"
    assert offer.video.is_tcp and offer.video.setup == "passive"
    assert offer.ssrc == "0100000002"
    assert offer.video.rtpmap()[96] == "PS"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"v=1\r\n",
        b"v=0\r\no=x 0 0 IN IP4 1.2.3.4\r\ns=Play\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n",  # no m=
        DEVICE_ANSWER.replace(b"15060", b"70000"),
        DEVICE_ANSWER.replace(b"y=0100000001", b"y=12ab"),
        DEVICE_ANSWER.replace(b"RTP/AVP 96", b"SCTP 96"),
        DEVICE_ANSWER.replace(b"c=IN IP4", b"c=XX IP4"),
        b"v=0\r\n" + b"a=x\r\n" * 100,
        b"v=0\r\n" + b"x" * 5000,
        b"\xff\xfe",
    ],
)
def test_malformed_sdp_is_refused_with_a_reason(body):
    with pytest.raises(sdp.SdpError):
        sdp.parse(body)


@given(st.binary(max_size=600) | st.text(max_size=600).map(lambda t: ("v=0\n" + t).encode()))
def test_sdp_parser_never_fails_otherwise(data):
    with contextlib.suppress(sdp.SdpError):
        sdp.parse(data)


@given(
    port=st.integers(0, 65535),
    ssrc=st.from_regex(r"[01][0-9]{9}", fullmatch=True),
    tcp=st.sampled_from(["", "active", "passive"]),
    name=st.sampled_from(sdp.SESSION_NAMES),
)
def test_sdp_offer_round_trip(port, ssrc, tcp, name):
    parsed = sdp.parse(
        sdp.offer(
            platform_id="3714",
            address="10.1.2.3",
            port=port,
            ssrc=ssrc,
            tcp_setup=tcp,
            session_name=name,
        )
    )
    assert (parsed.video.port, parsed.ssrc, parsed.video.setup, parsed.session_name) == (
        port,
        ssrc,
        tcp,
        name,
    )


packets = st.builds(
    rtp.RtpPacket,
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=300),
    marker=st.booleans(),
    csrcs=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
)


@given(packets)
def test_rtp_round_trip(packet):
    assert rtp.parse(rtp.build(packet)) == packet


@given(st.binary(max_size=80))
def test_rtp_parser_refuses_garbage_cleanly(data):
    try:
        packet = rtp.parse(data)
    except rtp.RtpError:
        return
    assert len(packet.payload) <= len(data) - 12


def test_rtp_padding_and_extension_are_removed():
    head = bytes((0xB0, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3))  # P and X set
    extension = b"\xbe\xde\x00\x01" + b"\x01\x02\x03\x04"
    packet = rtp.parse(head + extension + b"data" + b"\x00\x00\x03")
    assert packet.payload == b"data"


@given(st.lists(st.binary(max_size=2000), max_size=20), st.data())
def test_rfc4571_deframing_survives_any_cut(payloads, data):
    stream = b"".join(rtp.frame_tcp(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    deframer = rtp.TcpDeframer()
    out, previous = [], 0
    for cut in [*cuts, len(stream)]:
        out.extend(deframer.feed(stream[previous:cut]))
        previous = cut
    assert out == payloads and deframer.pending == 0


def test_sequence_distance_wraps():
    assert rtp.sequence_distance(2, 0xFFFF) == 3
    assert rtp.sequence_distance(0xFFFF, 2) == -3


def _h264_frame(size: int, key: bool) -> bytes:
    sps_idr = b"\x00\x00\x00\x01\x67\x42\x00\x00\x00\x01\x65"
    nal = sps_idr if key else b"\x00\x00\x00\x01\x41"
    return nal + bytes((i * 7 + 3) % 251 for i in range(size))


frames = st.lists(st.tuples(st.integers(0, 150_000), st.booleans()), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(frames, st.data())
def test_ps_mux_demux_round_trip_however_rtp_cuts_it(spec, data):
    originals = [(_h264_frame(size, key), 3600 * i, key) for i, (size, key) in enumerate(spec)]
    stream = b"".join(ps.mux_frame(f, pts, is_key=k) for f, pts, k in originals)
    size = data.draw(st.integers(1, 3000))
    demuxer = ps.Demuxer()
    out = []
    for start in range(0, len(stream), size):
        out.extend(demuxer.feed(stream[start : start + size]))
    out.extend(demuxer.flush())
    assert [(f.data, f.pts, f.is_key) for f in out] == [(f, pts, k) for f, pts, k in originals]
    assert demuxer.stats.garbage_bytes == 0


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.binary(max_size=300))
def test_ps_garbage_is_skipped_and_the_next_frame_found(garbage, prefix):
    frame = _h264_frame(500, True)
    demuxer = ps.Demuxer()
    demuxer.feed(prefix + garbage)
    demuxer.flush()
    frames = demuxer.feed(ps.mux_frame(frame, 900, is_key=True)) + demuxer.flush()
    assert frames and frames[-1].data == frame


def test_psm_names_h265():
    demuxer = ps.Demuxer()
    frame = b"\x00\x00\x00\x01\x40\x01" + b"\x11" * 100
    out = demuxer.feed(ps.mux_frame(frame, 0, is_key=True, codec="h265")) + demuxer.flush()
    assert out[0].codec == "h265" and out[0].is_key
    assert demuxer.video_codec == "h265"


def test_ts_frames_are_whole_packets_with_tables_before_key_frames():
    muxer = ts.Muxer()
    key = muxer.frame(_h264_frame(5000, True), 9000, is_key=True)
    other = muxer.frame(_h264_frame(100, False), 12600, is_key=False)
    packets = ts.parse_packets(key + other)
    assert packets[0][0] == 0 and packets[1][0] == ts.PMT_PID
    video = [p for p in packets if p[0] == ts.VIDEO_PID]
    pes = b"".join(p[2] for p in video[: len(video) - 1])
    assert pes.startswith(b"\x00\x00\x01\xe0") and _h264_frame(5000, True) in pes
    assert ts.crc32_mpeg2(b"123456789") == 0x0376E6E7


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 4000), st.booleans(), st.integers(0, (1 << 33) - 1))
def test_ts_payload_round_trip(size, key, pts):
    frame = _h264_frame(size, key)
    packets = ts.parse_packets(ts.Muxer().frame(frame, pts, is_key=key))
    payload = b"".join(p[2] for p in packets if p[0] == ts.VIDEO_PID)
    assert payload[9 + 5 :] == frame
    assert ps._timestamp(payload, 9) == pts
