"""The simulated camera draws its time machine-readably (a row of blocks under the
visible clock): encoded by FFmpeg's drawbox timeline, through libx264, read back from
the decoded picture — the time a playback or a glass-to-glass measure checks."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus_safety.simulator import video_camera

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs Debian's ffmpeg")


def _frames(command: list[str], size: str) -> list[bytes]:
    """The encoder's H.264 decoded to 8-bit grey pictures by FFmpeg (a real decoder)."""
    width, height = (int(n) for n in size.split("x"))
    encoded = subprocess.run(command, capture_output=True, timeout=60, check=True).stdout
    grey = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "h264", "-i", "-",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        input=encoded, capture_output=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    step = width * height
    return [grey[i : i + step] for i in range(0, len(grey), step)]


@pytest.mark.parametrize("size", ["640x360", "1920x1080"])
def test_a_recording_carries_its_own_time_in_every_frame(size, monkeypatch):
    monkeypatch.setattr(video_camera.OPTIONS, "size", size)
    recorded_at = 1_796_600_000
    command = video_camera.ffmpeg_command(
        "37140200001310000001", recorded_at=recorded_at, seconds=1.0, speed=8
    )
    frames = _frames(command, size)
    width, height = (int(n) for n in size.split("x"))
    read = [video_camera.read_time_code(f, width, height) for f in frames]
    assert len(read) == video_camera.FPS
    assert read == [recorded_at * 1000 + n * 1000 // video_camera.FPS for n in range(len(read))]


def test_live_frames_carry_the_wall_clock_when_they_left_the_source():
    before = time.time()
    frames = _frames(video_camera.ffmpeg_command("37140200001310000001", seconds=0.6), "640x360")
    after = time.time()
    read = [video_camera.read_time_code(f, 640, 360) for f in frames]
    assert None not in read and len(read) == 15
    assert before * 1000 <= read[0] and read[-1] <= after * 1000
    assert read == sorted(read)


def test_a_picture_without_the_row_or_with_a_flipped_bit_reads_as_nothing():
    assert video_camera.read_time_code(bytes(640 * 360), 640, 360) is None
    assert video_camera.read_time_code(b"\xff" * (640 * 360), 640, 360) is None


@given(st.integers(0, 2**video_camera.TIME_CODE_BITS - 1), st.integers(0, 43))
def test_any_value_drawn_cell_by_cell_reads_back_and_one_flip_is_caught(value, flip):
    width, height = 320, 180
    picture = bytearray(width * height)
    bits = [int(b) for b in f"{value:0{video_camera.TIME_CODE_BITS}b}"]
    cells = [1, 0, *bits, sum(bits) % 2, 1]
    row = int(height / 5 + height / 40)

    def paint(cells: list[int]) -> bytes:
        out = bytearray(picture)
        for index, on in enumerate(cells):
            out[row * width + int(width / 40 + width * index / 64 + width / 128)] = 255 * on
        return bytes(out)

    assert video_camera.read_time_code(paint(cells), width, height) == value
    broken = list(cells)
    broken[2 + flip] ^= 1  # a data or parity cell read wrong
    assert video_camera.read_time_code(paint(broken), width, height) is None
