"""Picture faults of real cameras, applied to a clean frame: what video quality
diagnosis (inspections/vqd.py) must find. One implementation for the demo's snapshot
server (a few percent of cameras are faulty), the VQD tests and bench/vqd.py (graded
strengths over real photographs).

Every function takes a BGR uint8 frame and a ``random.Random`` and returns a new frame;
``grade`` 0 is the mildest fault still worth a notice, 2 the plainest.
"""

from __future__ import annotations

import random

import cv2
import numpy as np

FRAME_SIZE = (704, 576)  # 4CIF / D1 PAL, the common snapshot size of school cameras
GRADES = (0, 1, 2)


def frame_from(
    photo: np.ndarray,
    window: tuple[float, float, float],
    rng: random.Random,
    *,
    gain: float = 1.0,
    jitter: float = 0.0,
    sensor_noise: float = 2.0,
    angle: float = 0.0,
) -> np.ndarray:
    """The camera's view of a scene: ``window`` = (x, y, width) as fractions of the
    photo (height follows the 704:576 frame), shifted by ``jitter`` pixels, lit by
    ``gain``, with sensor noise."""
    height, width = photo.shape[:2]
    x, y, w = window
    crop_w = w * width
    crop_h = crop_w * FRAME_SIZE[1] / FRAME_SIZE[0]
    dx, dy = rng.uniform(-jitter, jitter), rng.uniform(-jitter, jitter)
    scale = FRAME_SIZE[0] / crop_w
    centre = (x * width + crop_w / 2, y * height + crop_h / 2)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[0, 2] += FRAME_SIZE[0] / 2 - centre[0] + dx
    matrix[1, 2] += FRAME_SIZE[1] / 2 - centre[1] + dy
    frame = cv2.warpAffine(
        photo, matrix, FRAME_SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    return expose(frame, rng, gain=gain, sensor_noise=sensor_noise)


def expose(
    frame: np.ndarray,
    rng: random.Random,
    *,
    gain: float = 1.0,
    offset: float = 0.0,
    sensor_noise: float = 2.0,
) -> np.ndarray:
    """Light and sensor noise (seeded from ``rng``), clipped to 8 bits."""
    values = frame.astype(np.float32) * gain + offset
    if sensor_noise > 0:
        noise_rng = np.random.default_rng(rng.getrandbits(32))
        values += noise_rng.normal(0.0, sensor_noise, values.shape).astype(np.float32)
    return np.clip(values, 0, 255).astype(np.uint8)


def stamp_osd(frame: np.ndarray, text: str, name: str = "") -> np.ndarray:
    """The time (top) and the camera's name (bottom), as cameras stamp them."""
    out = frame.copy()
    cv2.putText(out, text, (12, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    if name:
        cv2.putText(out, name, (12, 560), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
    return out


def jpeg(frame: np.ndarray, quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR array
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


# --- the faults -------------------------------------------------------------------------


def blur(frame: np.ndarray, rng: random.Random, grade: int) -> np.ndarray:
    """Out of focus or a dirty dome: a Gaussian of σ 1.8 / 2.6 / 4 pixels."""
    sigma = (1.8, 2.6, 4.0)[grade] * rng.uniform(1.0, 1.15)
    return cv2.GaussianBlur(frame, (0, 0), sigma)


def dark(frame: np.ndarray, rng: random.Random, grade: int) -> np.ndarray:
    """An IR lamp out at night, an iris stuck closed: light × 0.3 / 0.2 / 0.1."""
    gain = (0.3, 0.2, 0.1)[grade] * rng.uniform(0.9, 1.0)
    return expose(frame, rng, gain=gain, sensor_noise=1.5)


def bright(frame: np.ndarray, rng: random.Random, grade: int) -> np.ndarray:
    """Sun into the lens, an iris stuck open."""
    gain, offset = ((1.7, 70.0), (2.2, 90.0), (3.0, 110.0))[grade]
    return expose(frame, rng, gain=gain * rng.uniform(1.0, 1.1), offset=offset, sensor_noise=1.0)


def color_cast(frame: np.ndarray, rng: random.Random, grade: int) -> np.ndarray:
    """A failed colour channel or white balance: one channel up, the others down."""
    channel = rng.randrange(3)
    up, down = ((1.4, 0.8), (1.65, 0.72), (2.0, 0.62))[grade]
    gains = np.full(3, down, dtype=np.float32)
    gains[channel] = up
    return np.clip(frame.astype(np.float32) * gains, 0, 255).astype(np.uint8)


def noise(frame: np.ndarray, rng: random.Random, grade: int) -> np.ndarray:
    """Interference or a failing sensor: Gaussian noise of σ 14 / 22 / 35 grey levels."""
    return expose(frame, rng, sensor_noise=(14.0, 22.0, 35.0)[grade])


def occlude(frame: np.ndarray, rng: random.Random, grade: int) -> np.ndarray:
    """Covered by a cloth, a board or spray paint: 40 / 55 / 70 % of the picture under
    a near-uniform patch from one edge (or an ellipse in the middle)."""
    share = (0.4, 0.55, 0.7)[grade] * rng.uniform(1.0, 1.08)
    height, width = frame.shape[:2]
    mask = np.zeros((height, width), dtype=np.uint8)
    if rng.random() < 0.7:
        side = rng.choice("tblr")
        if side in "tb":
            rows = int(height * share)
            mask[:rows] = 1 if side == "t" else 0
            if side == "b":
                mask[height - rows :] = 1
        else:
            cols = int(width * share)
            if side == "l":
                mask[:, :cols] = 1
            else:
                mask[:, width - cols :] = 1
    else:
        axes = (
            int(width * np.sqrt(share / np.pi) * 1.22),
            int(height * np.sqrt(share / np.pi) / 0.82),
        )
        cv2.ellipse(mask, (width // 2, height // 2), axes, rng.uniform(0, 180), 0, 360, 1, -1)
    base = np.array([rng.randrange(10, 200) for _ in range(3)], dtype=np.float32)
    ramp = np.linspace(-6, 6, width, dtype=np.float32)[None, :, None]
    patch = np.clip(base[None, None, :] + ramp, 0, 255)
    patch = np.broadcast_to(patch, frame.shape)
    patch = expose(patch.astype(np.uint8), rng, sensor_noise=1.2)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 6)[..., None]
    return (frame * (1 - soft) + patch * soft).astype(np.uint8)


def no_signal(frame: np.ndarray, rng: random.Random, grade: int) -> np.ndarray:
    """Grade 0: a blue, black or grey screen with a 'NO SIGNAL' caption; 1: colour bars;
    2: snow."""
    height, width = frame.shape[:2]
    if grade == 0:
        colour = rng.choice([(160, 40, 0), (8, 8, 8), (128, 128, 128), (200, 60, 20)])
        out = np.empty_like(frame)
        out[:] = colour
        cv2.putText(
            out,
            "NO SIGNAL",
            (width // 2 - 110, height // 2),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.2,
            (255, 255, 255),
            2,
        )
        return out
    if grade == 1:
        bars = [
            (192, 192, 192),
            (0, 192, 192),
            (192, 192, 0),
            (0, 192, 0),
            (192, 0, 192),
            (0, 0, 192),
            (192, 0, 0),
        ]
        out = np.empty_like(frame)
        step = width // len(bars) + 1
        for index, colour in enumerate(bars):
            out[:, index * step : (index + 1) * step] = colour
        out[int(height * 0.75) :] = (16, 16, 16)
        return out
    noise_rng = np.random.default_rng(rng.getrandbits(32))
    snow = noise_rng.normal(128, 55, (height, width)).astype(np.float32)
    snow += noise_rng.normal(0, 12, (height, 1)).astype(np.float32)  # line streaks
    snow = np.clip(snow, 0, 255).astype(np.uint8)
    return cv2.cvtColor(snow, cv2.COLOR_GRAY2BGR)


FAULT_MAKERS = {
    "blur": blur,
    "dark": dark,
    "bright": bright,
    "color_cast": color_cast,
    "noise": noise,
    "occluded": occlude,
    "no_signal": no_signal,
}
# frozen (the previous frame again) and moved (another window on the scene) need the
# camera, not just a frame: the callers make them with frame_from().
MOVED_SHIFT = (0.07, 0.11, 0.2)  # of the window's width


# --- the demo city's cameras ------------------------------------------------------------

# Share of the demo's cameras with each fault (a few percent in all, issue #19).
DEMO_RATES = (
    ("blur", 0.015),
    ("dark", 0.01),
    ("occluded", 0.007),
    ("frozen", 0.007),
    ("no_signal", 0.006),
    ("moved", 0.005),
    ("bright", 0.004),
    ("color_cast", 0.003),
    ("noise", 0.003),
)
_frozen: dict[str, bytes] = {}
_served: dict[str, int] = {}


def demo_fault(device_id: str) -> str | None:
    """The fault a demo camera has (deterministic by its ID), or None for most."""
    import hashlib

    value = int(hashlib.sha1(device_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF  # noqa: S324
    for fault, rate in DEMO_RATES:
        if value < rate:
            return fault
        value -= rate
    return None


_NOISE_MARGIN = 61
_noise_bank: dict[tuple[int, ...], np.ndarray] = {}


def _demo_expose(frame: np.ndarray, rng: random.Random, gain: float) -> np.ndarray:
    """``expose`` for the demo's snapshot server, a few times cheaper: the sensor noise
    (σ 2) is a window at a random offset in a field drawn once per frame size, not
    drawn afresh (drawing it was most of a snapshot's cost, and 36,000 cameras are
    swept). Consecutive snapshots still differ in their noise, as a live camera's do."""
    bank = _noise_bank.get(frame.shape)
    if bank is None:
        height, width = frame.shape[:2]
        field_rng = np.random.default_rng(19)
        field_shape = (height + _NOISE_MARGIN, width + _NOISE_MARGIN, *frame.shape[2:])
        bank = np.rint(field_rng.normal(0.0, 2.0, field_shape)).astype(np.int16)
        _noise_bank[frame.shape] = bank
    dy, dx = rng.randrange(_NOISE_MARGIN), rng.randrange(_NOISE_MARGIN)
    noise = bank[dy : dy + frame.shape[0], dx : dx + frame.shape[1]]
    lit = cv2.convertScaleAbs(frame, alpha=gain)  # saturating, like the clip below
    return np.clip(lit.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def demo_frame(device_id: str, frame: np.ndarray, fault: str | None) -> np.ndarray:
    """A demo camera's picture: the clean frame under slightly changing light with
    sensor noise, and its fault from the first picture on (the seeded history says
    since when, and seeds the camera's reference: demo_inspections.write_camera_faults)."""
    rng = random.Random(f"{device_id}-{_served.get(device_id, 0)}")
    clean = _demo_expose(frame, rng, gain=rng.uniform(0.92, 1.08))
    if fault is None or fault == "frozen":
        return clean
    grade = int(device_id[-1]) % 3 if device_id[-1:].isdigit() else 1
    if fault == "moved":
        shift = int(frame.shape[1] * MOVED_SHIFT[grade])
        return np.roll(clean, shift, axis=1)
    return FAULT_MAKERS[fault](clean, rng, grade)


def demo_snapshot(device_id: str, frame: np.ndarray, quality: int = 80) -> bytes:
    """The JPEG the demo's snapshot server answers for ``device_id``."""
    _served[device_id] = _served.get(device_id, 0) + 1
    fault = demo_fault(device_id)
    if fault == "frozen" and device_id in _frozen:
        return _frozen[device_id]
    data = jpeg(demo_frame(device_id, frame, fault), quality)
    if fault == "frozen":  # the feed stuck on its first picture
        _frozen[device_id] = data
    return data
