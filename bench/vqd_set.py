"""The labelled picture set for video quality diagnosis: cameras framed on real
photographs shipped in scikit-image's data module, each giving clean snapshots and
every fault at graded strengths (campus_safety.simulator.camera_faults).

A *camera* is a window on one photograph; its reference is the window well lit; a
clean snapshot is the same window under other light, a pixel or two of jitter and
fresh sensor noise, JPEG-encoded like a real snapshot; a *static* clean snapshot is the
hard case for the frozen test: the same window under the very same light as the
previous snapshot, no jitter, only fresh sensor noise (an empty corridor at night).
``frozen`` repeats the previous snapshot's picture (the same bytes, or the same frame
with the OSD clock moving); ``moved`` looks through a shifted and sometimes rotated
window. Used by bench/vqd.py (≥ 2,000 pictures) and by the tests (a few cameras).

The photographs are split in two (``TUNE`` and ``HELD_OUT``): thresholds are tuned on
the cameras of the first, the figures reported on the second.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from campus_safety.simulator import camera_faults as cf

PHOTOS = (
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "coins",
    "rocket",
    "clock",
    "moon",
    "stereo_motorcycle",
)
CLEAN = "clean"
TUNE = PHOTOS[0::2]  # astronaut, chelsea, coins, clock, stereo_motorcycle
HELD_OUT = PHOTOS[1::2]  # camera, coffee, rocket, moon
STATIC = 3  # the grade a clean picture of a static scene carries


@dataclass
class Sample:
    label: str  # CLEAN or a fault code
    grade: int
    camera: str
    jpeg: bytes
    reference: bytes
    previous: bytes


def load_photos(names: tuple[str, ...] = PHOTOS) -> dict[str, np.ndarray]:
    """Each photograph as a BGR uint8 array (grey ones as three equal channels)."""
    from skimage import data

    photos = {}
    for name in names:
        image = getattr(data, name)()
        if isinstance(image, tuple):
            image = image[0]
        image = np.asarray(image)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        else:
            image = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)
        photos[name] = image
    return photos


def _stamp(frame: np.ndarray, rng: random.Random) -> np.ndarray:
    day, hour, minute, second = (
        rng.randint(1, 28),
        rng.randint(0, 23),
        rng.randint(0, 59),
        rng.randint(0, 59),
    )
    text = f"2026-12-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
    return cf.stamp_osd(frame, text, "CAM")


def _snapshot(photo, window, rng, **kwargs) -> np.ndarray:
    gain = kwargs.pop("gain", rng.uniform(0.8, 1.2))
    return cf.frame_from(
        photo, window, rng, gain=gain, jitter=1.5, sensor_noise=rng.uniform(1.0, 3.0), **kwargs
    )


def camera_samples(
    name: str,
    photo: np.ndarray,
    window: tuple[float, float, float],
    rng: random.Random,
    clean_per_camera: int,
    static_per_camera: int = 2,
) -> Iterator[Sample]:
    """One camera's pictures: clean ones and every fault at every grade."""
    reference_frame = cf.frame_from(photo, window, rng, gain=1.0, sensor_noise=2.0)
    reference = cf.jpeg(_stamp(reference_frame, rng))

    def pair(frame: np.ndarray) -> tuple[bytes, bytes]:
        previous = cf.jpeg(_stamp(_snapshot(photo, window, rng), rng), rng.randint(75, 90))
        return cf.jpeg(_stamp(frame, rng), rng.randint(75, 90)), previous

    for _ in range(clean_per_camera):
        current, previous = pair(_snapshot(photo, window, rng))
        yield Sample(CLEAN, 0, name, current, reference, previous)
    for _ in range(static_per_camera):
        # A static scene: same light, no jitter, the camera's own JPEG quality; only
        # the sensor noise (faint to plain) and the clock differ between the two.
        gain, sigma, quality = rng.uniform(0.8, 1.2), rng.uniform(0.5, 3.0), rng.randint(75, 90)
        shots = [
            cf.jpeg(
                _stamp(cf.frame_from(photo, window, rng, gain=gain, sensor_noise=sigma), rng),
                quality,
            )
            for _ in range(2)
        ]
        yield Sample(CLEAN, STATIC, name, shots[0], reference, shots[1])
    for label, maker in cf.FAULT_MAKERS.items():
        for grade in cf.GRADES:
            clean = _snapshot(photo, window, rng)
            if label in {"dark", "bright", "noise"}:  # these set their own light and noise
                clean = cf.frame_from(photo, window, rng, jitter=1.5, sensor_noise=0.0)
            current, previous = pair(maker(clean, rng, grade))
            yield Sample(label, grade, name, current, reference, previous)
    for grade in cf.GRADES:
        scene = _snapshot(photo, window, rng)
        quality = rng.randint(75, 90)
        previous = cf.jpeg(_stamp(scene, rng), quality)
        # 0: the very same bytes; 1: the same frame, the OSD clock still moves; 2: the
        # last decoded picture served again with a new clock (a recorder's stuck feed).
        if grade == 0:
            current = previous
        elif grade == 1:
            current = cf.jpeg(_stamp(scene, rng), quality)
        else:
            current = cf.jpeg(
                _stamp(cv2.imdecode(np.frombuffer(previous, np.uint8), 1), rng), quality
            )
        yield Sample("frozen", grade, name, current, reference, previous)
    for grade in cf.GRADES:
        shift = cf.MOVED_SHIFT[grade] * window[2]
        angle = rng.uniform(-8, 8) if rng.random() < 0.5 else 0.0
        direction = rng.uniform(0, 2 * np.pi)
        moved = (
            window[0] + shift * np.cos(direction),
            window[1] + shift * np.sin(direction),
            window[2],
        )
        current, previous = pair(_snapshot(photo, moved, rng, angle=angle))
        yield Sample("moved", grade, name, current, reference, previous)


def generate(
    seed: int = 2026,
    windows_per_photo: int = 8,
    clean_per_camera: int = 6,
    photos: dict[str, np.ndarray] | None = None,
) -> Iterator[Sample]:
    """Every camera's samples: 9 photos × ``windows_per_photo`` cameras × (27 faulty +
    ``clean_per_camera`` clean + 2 static clean) pictures — 2,520 with the defaults."""
    rng = random.Random(seed)
    photos = photos or load_photos()
    for name, photo in photos.items():
        for index in range(windows_per_photo):
            width = rng.uniform(0.5, 0.72)
            height = width * photo.shape[1] / photo.shape[0] * cf.FRAME_SIZE[1] / cf.FRAME_SIZE[0]
            x = rng.uniform(0.14, max(0.15, 0.86 - width))
            y = rng.uniform(0.14, max(0.15, 0.86 - height))
            yield from camera_samples(
                f"{name}-{index}", photo, (x, y, width), rng, clean_per_camera
            )
