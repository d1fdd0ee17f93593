"""H.265 end to end (issue #16 item 1: "H.264 and H.265"): a simulated camera channel
encodes with libx265 and sends it in PS (stream type 0x24) over RTP to the real
gateway; the platform relays it as MPEG-TS with the HEVC stream type, every access unit
byte for byte what the camera sent (nothing decoded, nothing transcoded), and FFmpeg —
a real decoder — reads and decodes it. A clip of an H.265 recording is saved as MP4
tagged ``hvc1``. Whether a browser shows it is the player's business
(tests/video/test_browser_h265.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from campus_safety.simulator import video_camera
from campus_safety.video import ps, streams, ts
from tests.video.support import CAMERAS, collect, probe

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs Debian's ffmpeg")
H265_CAMERA = CAMERAS[2]


@pytest.fixture
def sent(rig, monkeypatch) -> list[bytes]:
    """The H.265 camera on; the access units its streams send, as they leave it."""
    monkeypatch.setattr(video_camera.OPTIONS, "h265_channels", {H265_CAMERA})
    units: list[bytes] = []
    send_unit = video_camera.CameraStream._send_unit

    def recorded(self, unit: bytes, sequence: int, pts: int) -> tuple[int, int]:
        units.append(unit)
        return send_unit(self, unit, sequence, pts)

    monkeypatch.setattr(video_camera.CameraStream, "_send_unit", recorded)
    return units


def _video_stream_type(data: bytes) -> int:
    """The stream type the PMT gives the video PID."""
    for pid, _start, payload in ts.parse_packets(data):
        if pid == ts.PMT_PID:
            section = payload[1 + payload[0] :]
            info_length = (section[10] & 0x0F) << 8 | section[11]
            return section[12 + info_length]
    raise AssertionError("no PMT")


def _access_units(data: bytes) -> list[bytes]:
    """The video PES payloads (one access unit each) of these TS packets."""
    pes: list[bytearray] = []
    for pid, start, payload in ts.parse_packets(data):
        if pid != ts.VIDEO_PID:
            continue
        if start:
            pes.append(bytearray())
        if pes:
            pes[-1] += payload
    return [bytes(p[9 + p[8] :]) for p in pes]


def _slices(annex_b: bytes) -> list[bytes]:
    """The coded slices (NAL types 0–21) of an H.265 Annex B stream, start codes and
    trailing zeros removed: the picture data a remux must not touch."""
    nals = [n.rstrip(b"\x00") for n in annex_b.split(b"\x00\x00\x01")[1:]]
    return [n for n in nals if n and (n[0] >> 1) & 0x3F <= 21]


def _decode(data: bytes, *output: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-v", "error", "-f", "mpegts", "-i", "-", *output],
        input=data, capture_output=True, timeout=60, check=False,
    )  # fmt: skip


def test_an_h265_camera_is_relayed_as_hevc_byte_for_byte(rig, sent):
    viewer = streams.Viewer()
    session = rig.call(rig.hub.attach(rig.target(H265_CAMERA), viewer))
    assert session.codec == "h265"
    assert [s.codec for s in rig.camera_streams()] == ["h265"]
    data = collect(viewer, 2.5)

    assert _video_stream_type(data) == ps.STREAM_H265 == 0x24
    assert probe(data) == "hevc,640,360"
    units = _access_units(data)
    assert len(units) >= 25
    first = ps.nal_types(units[0], "h265")
    assert first[0] == 35 and {32, 33, 34} <= set(first)  # AUD, VPS, SPS, PPS
    assert {19, 20} & set(first)  # and an IDR picture: a viewer starts on a key frame
    # not transcoded: the units are the camera's own, in order, none changed or lost
    begin = sent.index(units[0])
    assert units == sent[begin : begin + len(units)]
    assert session.stats["lost"] == 0 and session.stats["foreign_ssrc"] == 0

    # a real decoder decodes every frame without a complaint (framecrc: a line each)
    decoded = _decode(data, "-map", "0:v", "-f", "framecrc", "-")
    assert decoded.returncode == 0 and decoded.stderr == b"", decoded.stderr[-500:]
    crcs = [line for line in decoded.stdout.decode().splitlines() if not line.startswith("#")]
    assert len(crcs) == len(units)
    # and the picture is the camera's: the wall-clock time it drew is read back
    grey = _decode(data, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-").stdout
    drawn = video_camera.read_time_code(grey[: 640 * 360], 640, 360)
    assert drawn is not None and abs(drawn / 1000 - time.time()) < 10


@pytest.mark.django_db
def test_the_start_call_tells_the_player_the_stream_is_h265(client, dispatcher, cameras, sent):
    answer = client.post(reverse("video:start", args=[cameras[2].pk]))
    assert answer.status_code == 200, answer.content
    assert answer.json()["codec"] == "h265"
    other = client.post(reverse("video:start", args=[cameras[0].pk]))
    assert other.json()["codec"] == "h264"  # the NVR's other channels are unchanged


async def _read_all(chunks) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def _wait_for(client, url: str, seconds: float = 60.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        state = client.get(url).json()
        if state["state"] != "running" or time.monotonic() > deadline:
            return state
        time.sleep(0.3)


@pytest.mark.django_db
def test_a_clip_of_an_h265_recording_is_an_hvc1_mp4_without_transcoding(
    client, dispatcher, cameras, sent, settings, tmp_path
):
    settings.VIDEO_DOWNLOAD_DIR = str(tmp_path)
    begin = int(time.time()) - 3600
    answer = client.post(
        reverse("video:download_start", args=[cameras[2].pk]),
        {"from": begin, "to": begin + 6, "reason": "核查 H.265 录像"},
    )
    assert answer.status_code == 202, answer.content
    state = _wait_for(client, answer.json()["url"])
    assert state["state"] == "done", state
    response = client.get(answer.json()["url"], {"file": "1"})
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    saved = Path(tmp_path) / "clip.mp4"
    saved.write_bytes(async_to_sync(_read_all)(response.streaming_content))
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "format=format_name:stream=codec_name,codec_tag_string,width,height,nb_read_frames",
         "-of", "json", str(saved)],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    found = json.loads(result.stdout)
    assert "mp4" in found["format"]["format_name"]
    [stream] = found["streams"]
    assert (stream["codec_name"], stream["codec_tag_string"]) == ("hevc", "hvc1")
    assert (stream["width"], stream["height"]) == (640, 360)
    # every frame decodes, and the clip holds the span's frames (6 s at 25 fps)
    assert 5 * video_camera.FPS <= int(stream["nb_read_frames"]) <= 7 * video_camera.FPS
    # the MP4's samples are the camera's access units (FFmpeg's -c copy; in MP4 each
    # NAL unit is length-prefixed instead of start-coded, so compare the slice data)
    copied = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(saved), "-c", "copy", "-bsf:v", "hevc_mp4toannexb",
         "-f", "hevc", "-"],
        capture_output=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    slices = _slices(copied)
    camera_slices = {s for unit in sent for s in _slices(unit)}
    assert len(slices) >= 5 * video_camera.FPS and set(slices) <= camera_slices
