"""Video quality diagnosis on generated pictures: real photographs (scikit-image's
data module) framed as cameras, every fault class at every grade (bench/vqd_set.py,
the benchmark's generator on a few cameras), plus clean snapshots and the parsers'
refusals."""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campus_safety.inspections import vqd
from campus_safety.simulator import camera_faults

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import vqd_set


@pytest.fixture(scope="module")
def outcomes():
    """Per label, the faults found on each of its pictures (3 photographs × 1 camera)."""
    photos = vqd_set.load_photos(("astronaut", "camera", "coffee"))
    found: dict[str, list[set[str]]] = defaultdict(list)
    for sample in vqd_set.generate(seed=11, windows_per_photo=1, clean_per_camera=3, photos=photos):
        reference = vqd.measure(vqd.decode(sample.reference))
        previous = vqd.measure(vqd.decode(sample.previous))
        diagnosis = vqd.diagnose(vqd.decode(sample.jpeg), reference, previous)
        found[sample.label].append(set(diagnosis.faults))
    return found


@pytest.mark.parametrize("fault", vqd.FAULTS)
def test_each_fault_class_is_found_at_every_grade(outcomes, fault):
    pictures = outcomes[fault]
    assert len(pictures) == 9  # 3 cameras × 3 grades
    hits = sum(fault in faults for faults in pictures)
    assert hits >= 8, (fault, pictures)


def test_clean_snapshots_are_not_flagged(outcomes):
    assert outcomes[vqd_set.CLEAN]
    assert all(not faults for faults in outcomes[vqd_set.CLEAN])


@pytest.fixture(scope="module")
def photos():
    return vqd_set.load_photos(("camera", "coffee", "moon", "chelsea"))


def _static_shot(photo, rng, sigma: float, clock: str, quality: int) -> bytes:
    """A live camera on a static scene: the same window and light, fresh sensor noise."""
    frame = camera_faults.frame_from(photo, (0.2, 0.2, 0.6), rng, sensor_noise=sigma)
    return camera_faults.jpeg(camera_faults.stamp_osd(frame, clock, "CAM"), quality)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0])
def test_a_live_camera_on_a_static_scene_is_not_frozen(photos, sigma):
    """Nothing moves and the light is the same: only the sensor noise changes, and that
    is what tells a live camera from a stuck one (the scene alone would read frozen)."""
    rng = random.Random(int(sigma * 10))
    for name, photo in photos.items():
        for quality in (75, 90):
            first = _static_shot(photo, rng, sigma, "2026-12-07 02:00:00", quality)
            second = _static_shot(photo, rng, sigma, "2026-12-07 02:10:00", quality)
            reference = vqd.measure(vqd.decode(first))
            diagnosis = vqd.diagnose(vqd.decode(second), reference, reference)
            assert vqd.FROZEN not in diagnosis.faults, (name, quality, diagnosis.measures)
            assert diagnosis.measures["frozen_diff"] <= 0.5  # the scene is the same …
            assert diagnosis.measures["fine_changed"] > vqd.DEFAULT_THRESHOLDS.frozen_fine_changed


def test_a_stuck_feed_on_the_same_scenes_is_frozen(photos):
    """The same bytes again, the same frame with the clock still moving, or the last
    decoded picture served again: frozen, on the very scenes above."""
    import cv2

    rng = random.Random(5)
    for name, photo in photos.items():
        frame = camera_faults.frame_from(photo, (0.2, 0.2, 0.6), rng, sensor_noise=1.0)
        previous = camera_faults.jpeg(camera_faults.stamp_osd(frame, "02:00:00", "CAM"), 80)
        decoded = cv2.imdecode(np.frombuffer(previous, np.uint8), cv2.IMREAD_COLOR)
        repeats = {
            "same bytes": previous,
            "clock moves": camera_faults.jpeg(
                camera_faults.stamp_osd(frame, "02:10:00", "CAM"), 80
            ),
            "served again": camera_faults.jpeg(camera_faults.stamp_osd(decoded, "02:10:00"), 80),
        }
        before = vqd.measure(vqd.decode(previous))
        for how, data in repeats.items():
            diagnosis = vqd.diagnose(vqd.decode(data), before, before)
            assert diagnosis.faults == [vqd.FROZEN], (name, how, diagnosis.measures)


@pytest.mark.parametrize("level", [12, 235])
def test_a_black_or_white_cloth_is_a_cover_not_the_light(photos, level):
    """Most of the picture under a dark (or white) cloth is dark (or bright) on
    average, but what is left uncovered keeps its contrast: a cover."""
    rng = random.Random(level)
    for name, photo in photos.items():
        window = (0.2, 0.2, 0.6)
        reference = camera_faults.frame_from(photo, window, rng, sensor_noise=1.5)
        frame = camera_faults.frame_from(photo, window, rng, sensor_noise=1.5)
        cloth = np.full_like(frame, level)
        frame[: int(frame.shape[0] * 0.7)] = camera_faults.expose(cloth, rng, sensor_noise=1.0)[
            : int(frame.shape[0] * 0.7)
        ]
        before = vqd.measure(vqd.decode(camera_faults.jpeg(reference)))
        diagnosis = vqd.diagnose_jpeg(camera_faults.jpeg(frame), before, before)
        assert vqd.OCCLUDED in diagnosis.faults, (name, diagnosis.faults, diagnosis.measures)
        assert not {vqd.DARK, vqd.BRIGHT} & set(diagnosis.faults), (name, diagnosis.faults)


def test_a_failed_light_is_dark_not_covered(photos):
    rng = random.Random(9)
    for name, photo in photos.items():
        reference = camera_faults.frame_from(photo, (0.2, 0.2, 0.6), rng, sensor_noise=1.5)
        dim = camera_faults.dark(reference, rng, grade=1)
        before = vqd.measure(vqd.decode(camera_faults.jpeg(reference)))
        diagnosis = vqd.diagnose_jpeg(camera_faults.jpeg(dim), before, before)
        assert diagnosis.faults == [vqd.DARK], (name, diagnosis.measures)


def test_a_dark_live_camera_is_dark_not_frozen_and_a_dark_stuck_one_is_both(photos):
    """Darkness hides most of the sensor's noise: a live dark camera changes few pixels,
    so only a near-exact repeat counts as frozen then."""
    rng = random.Random(4)
    for name, photo in photos.items():
        reference = camera_faults.frame_from(photo, (0.2, 0.2, 0.6), rng, sensor_noise=2.0)
        before = vqd.measure(vqd.decode(camera_faults.jpeg(reference, 70)))
        shots = [
            camera_faults.jpeg(camera_faults.dark(reference, rng, grade=2), 70) for _ in range(2)
        ]
        previous = vqd.measure_jpeg(shots[0])
        assert vqd.diagnose_jpeg(shots[1], before, previous).faults == [vqd.DARK], name
        assert vqd.diagnose_jpeg(shots[0], before, previous).faults == [vqd.DARK, vqd.FROZEN]


def test_an_older_stored_signature_is_still_read():
    """Signatures stored before the frozen test kept a 48×48 centre patch: they load,
    and a comparison with them does not guess "frozen" from the scene alone."""
    image = np.random.default_rng(2).integers(0, 255, (576, 704, 3), dtype=np.uint8)
    signature = vqd.measure(image)
    signature.patch = signature.patch[:48, :48]
    old = vqd.Signature.from_json(signature.to_json())
    assert old.patch.shape == (48, 48)
    assert vqd.FROZEN not in vqd.diagnose(image, old, old).faults


def test_no_reference_still_finds_a_blank_screen_and_bars():
    blank = np.zeros((576, 704, 3), np.uint8)
    blank[:] = (160, 40, 0)
    assert vqd.diagnose(blank).faults == [vqd.NO_SIGNAL]
    bars = camera_faults.no_signal(blank, random.Random(1), grade=1)
    assert vqd.diagnose(bars).faults == [vqd.NO_SIGNAL]


def test_signature_survives_storage():
    image = np.random.default_rng(1).integers(0, 255, (576, 704, 3), dtype=np.uint8)
    signature = vqd.measure(image)
    again = vqd.Signature.from_json(signature.to_json())
    assert again.mean == signature.mean
    assert np.array_equal(again.thumb, signature.thumb)
    assert np.array_equal(again.patch, signature.patch)


def test_refuses_what_is_not_a_picture():
    with pytest.raises(vqd.UnreadablePicture):
        vqd.decode(b"")
    with pytest.raises(vqd.UnreadablePicture):
        vqd.decode(b"GIF89a not really")
    with pytest.raises(vqd.UnreadablePicture):
        vqd.decode(b"\xff" * (vqd.MAX_JPEG_BYTES + 1))


def test_refuses_a_small_file_declaring_a_huge_picture_before_decoding_it():
    """A hostile camera's 600 bytes declaring 30000×30000 pixels: refused from the
    header (decoding it would take gigabytes and half a minute)."""
    small = camera_faults.jpeg(np.zeros((16, 16, 3), np.uint8))
    header = bytearray(small)
    sof = header.find(b"\xff\xc0")
    header[sof + 5 : sof + 9] = (30000).to_bytes(2, "big") * 2
    with pytest.raises(vqd.UnreadablePicture, match="larger than"):
        vqd.decode(bytes(header))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2048))
def test_decode_never_crashes_on_arbitrary_bytes(data):
    try:
        image = vqd.decode(data)
    except vqd.UnreadablePicture:
        return
    vqd.diagnose(image)  # whatever decoded is diagnosable
