"""Video quality diagnosis (视频质量诊断, VQD): what is wrong with a camera's picture.

Pure image arithmetic (numpy + OpenCV headless), no Django: a snapshot (a JPEG, or a
decoded BGR/grey array) is measured once into a :class:`Signature` — a few numbers and
a small grey thumbnail — and judged against the camera's own reference signature (its
picture when it was known good) and its previous one. Thresholds are relative to the
reference where the camera has one, absolute otherwise, because a sharpness or colour
figure means nothing across scenes (a snowy playground vs. a dim corridor).

Faults (codes stored with every diagnosis):

``no_signal``  blue/black/grey screen, colour bars, or snow (no picture at all)
``blur``       out of focus / dirty lens
``dark``       too dark;  ``bright``: overexposed
``color_cast`` one colour dominates (a failed channel, a wrong white balance)
``noise``      heavy noise over a visible scene
``frozen``     picture repeated since the previous sweep: the same scene *and* the same
               pixels — a live sensor's temporal noise changes a share of the pixels
               even when nothing in the scene moves, a stuck feed repeats them
``occluded``   mostly covered (a cloth, a hand, a sign, spray)
``moved``      scene change: the camera points elsewhere than in its reference

All work happens on a 352×288 (CIF) grey copy plus a few full-resolution filters, so
a 704×576 snapshot costs a few milliseconds on one core (bench/vqd.py measures it).
"""

from __future__ import annotations

import base64
import io
import json
import math
import warnings
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
from PIL import Image

NO_SIGNAL = "no_signal"
BLUR = "blur"
DARK = "dark"
BRIGHT = "bright"
COLOR_CAST = "color_cast"
NOISE = "noise"
FROZEN = "frozen"
OCCLUDED = "occluded"
MOVED = "moved"
FAULTS = (NO_SIGNAL, BLUR, DARK, BRIGHT, COLOR_CAST, NOISE, FROZEN, OCCLUDED, MOVED)

WORK_SIZE = (352, 288)  # CIF: enough detail for every measure, a quarter of the pixels
THUMB_SIZE = (88, 72)  # for scene comparison (frozen, moved)
GRID = 8  # occlusion blocks per side
TILE = 16  # full-resolution tiles kept for the frozen test …
TILES = 4  # … on a 4×4 grid over the picture (a 64×64 mosaic, 4 KB)
MAX_JPEG_BYTES = 4 * 1024 * 1024
MAX_PIXELS = 4096 * 4096
# Rows of the thumbnail left out when comparing pictures: cameras stamp the time and
# their name there (OSD), which changes even when the picture is frozen.
OSD_ROWS = 9

_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


class UnreadablePicture(ValueError):
    """The bytes are not a picture we can decode (or one too large to try)."""


@dataclass
class Thresholds:
    """The rule set. Relative limits apply when the camera has a reference."""

    uniform_share: float = 0.965  # share of pixels within ±6 grey of the mode → no signal
    uniform_scene: float = 0.5  # … unless the reference scene still shows through
    bars_column_std: float = 3.2  # colour bars: columns nearly constant …
    bars_spread: float = 25.0  # … while columns differ strongly
    snow_texture_ratio: float = 0.45  # snow: the thumbnail keeps little of the detail
    snow_noise: float = 18.0
    dark_mean: float = 55.0
    dark_relative: float = 0.55
    bright_mean: float = 200.0
    bright_clipped: float = 0.30
    bright_relative_clip: float = 0.25
    bright_relative_mean: float = 160.0  # with a reference: this bright …
    bright_relative: float = 1.45  # … and this much brighter than the reference
    blur_sharpness: float = 0.9  # without a reference (Laplacian σ per unit of contrast)
    blur_relative: float = 0.7
    cast_chroma: float = 38.0  # without a reference (Lab a/b distance from neutral)
    cast_relative: float = 11.0
    noise_sigma: float = 2.5  # after JPEG, which removes much of it
    noise_relative: float = 3.0
    frozen_diff: float = 0.5  # mean |Δ| on the thumbnail, grey levels, and …
    frozen_fine_changed: float = 0.15  # … share of full-resolution pixels that changed
    frozen_fine_changed_faint: float = 0.01  # … on a dark, overexposed or blurred picture
    flat_block_std: float = 2.0
    textured_block_std: float = 7.0
    occluded_share: float = 0.3  # share of textured blocks turned flat …
    occluded_share_uniform: float = 0.15  # … or fewer, with the histogram peaking
    occluded_uniform_rise: float = 0.12
    occluded_share_all: float = 0.3  # … or this share of all blocks flat and changed
    occluded_level_change: float = 15.0  # grey levels beyond the light's change
    occluded_kept: float = 0.5  # share of the still-textured blocks keeping their shape
    occluded_contrast_kept: float = 0.6  # their contrast against the reference's
    block_correlation: float = 0.6
    moved_correlation: float = 0.9
    moved_shift: float = 2.5  # thumbnail pixels (≈ 2.8 % of the width)


DEFAULT_THRESHOLDS = Thresholds()


@dataclass
class Signature:
    """What one snapshot measured: enough to diagnose it and to compare later ones."""

    mean: float
    contrast: float
    clipped_high: float
    uniform_share: float
    column_std: float
    column_spread: float
    sharpness: float
    noise: float
    texture_ratio: float
    chroma_a: float
    chroma_b: float
    block_std: list[float]
    thumb: np.ndarray = field(repr=False)
    patch: np.ndarray = field(repr=False)

    def to_json(self) -> str:
        """Stored with a camera's reference and last snapshot (≈ 12 KB: the thumbnail
        and the patch as base64 bytes)."""
        data = {k: v for k, v in asdict(self).items() if k not in {"thumb", "patch"}}
        data["thumb"] = base64.b64encode(self.thumb.astype(np.uint8).tobytes()).decode()
        data["patch"] = base64.b64encode(self.patch.astype(np.uint8).tobytes()).decode()
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Signature:
        data = json.loads(text)
        thumb = np.frombuffer(base64.b64decode(data.pop("thumb")), dtype=np.uint8)
        patch = np.frombuffer(base64.b64decode(data.pop("patch")), dtype=np.uint8)
        data["thumb"] = thumb.reshape(THUMB_SIZE[1], THUMB_SIZE[0]).astype(np.float32)
        side = math.isqrt(patch.size)  # older signatures kept a 48×48 patch
        data["patch"] = patch.reshape(side, side).astype(np.float32)
        return cls(**data)


@dataclass
class Diagnosis:
    faults: list[str]
    signature: Signature
    measures: dict[str, float]

    @property
    def is_ok(self) -> bool:
        return not self.faults


def _checked_size(data: bytes) -> tuple[int, int]:
    """The picture's width and height from its header, refusing oversize input before
    decoding: a few hundred bytes from a hostile camera can declare 30000×30000 pixels
    and OpenCV would allocate gigabytes to decode them."""
    if not data or len(data) > MAX_JPEG_BYTES:
        raise UnreadablePicture("empty or larger than 4 MiB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as header:
                width, height = header.size
    except Image.DecompressionBombError:
        raise UnreadablePicture("picture larger than 4096×4096") from None
    except (OSError, SyntaxError, ValueError):  # what Pillow raises on a bad header
        raise UnreadablePicture("not a JPEG or PNG picture") from None
    if width * height > MAX_PIXELS:
        raise UnreadablePicture("picture larger than 4096×4096")
    return width, height


def decode(data: bytes) -> np.ndarray:
    """A JPEG/PNG snapshot → BGR array (the size checked in the header first)."""
    _checked_size(data)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadablePicture("not a JPEG or PNG picture")
    return image


def decode_for_measure(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A snapshot as what :func:`measure` works on, decoded the cheap way: the colour
    picture at half size straight from the JPEG's DCT (a 704×576 snapshot comes out at
    the 352×288 work size, no full-size colour picture, no resize) and the grey picture
    at full size (the luma plane as stored: no colour conversion) for the noise and the
    frozen test. About half the time of decoding in colour and measuring that."""
    width, height = _checked_size(data)
    buffer = np.frombuffer(data, dtype=np.uint8)
    halve = width >= 2 * WORK_SIZE[0] and height >= 2 * WORK_SIZE[1]
    colour = cv2.imdecode(buffer, cv2.IMREAD_REDUCED_COLOR_2 if halve else cv2.IMREAD_COLOR)
    grey = cv2.imdecode(buffer, cv2.IMREAD_GRAYSCALE) if colour is not None else None
    if colour is None or grey is None:
        raise UnreadablePicture("not a JPEG or PNG picture")
    return colour, grey


def measure_jpeg(data: bytes) -> Signature:
    """Measure a snapshot's bytes (what the sweep does): see :func:`decode_for_measure`."""
    colour, grey = decode_for_measure(data)
    return measure_decoded(colour, grey)


def diagnose_jpeg(
    data: bytes,
    reference: Signature | None = None,
    previous: Signature | None = None,
    limits: Thresholds | None = None,
) -> Diagnosis:
    """Faults in a snapshot's bytes (raises :class:`UnreadablePicture`)."""
    return judge(measure_jpeg(data), reference, previous, limits or DEFAULT_THRESHOLDS)


def measure(image: np.ndarray) -> Signature:
    """Measure a BGR (or grey) picture of any size into a signature."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return measure_decoded(image, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))


def measure_decoded(image: np.ndarray, full_grey: np.ndarray) -> Signature:
    """The measures, from a BGR picture (any size; the work size saves a resize) and
    the full-resolution grey picture."""
    if image.shape[1::-1] == WORK_SIZE:
        small = image
    else:
        small = cv2.resize(image, WORK_SIZE, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    greyf = grey.astype(np.float32)
    mean, std = cv2.meanStdDev(greyf)
    mean, contrast = float(mean[0, 0]), float(std[0, 0])

    hist = cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel()
    total = float(grey.size)
    clipped_high = float(hist[248:].sum()) / total
    window = np.convolve(hist, np.ones(13, dtype=np.float32), mode="same")
    uniform_share = float(window.max()) / total

    column_mean = greyf.mean(axis=0)
    column_std = float(greyf[: grey.shape[0] * 2 // 3].std(axis=0).mean())
    column_spread = float(column_mean.std())

    # Sharpness: Laplacian energy per unit of contrast (light and gain cancel out; a
    # blurred edge keeps its total variation but loses its energy).
    band = grey.shape[0] // 10  # OSD rows (time, camera name) left out
    laplacian = cv2.Laplacian(greyf[band:-band], cv2.CV_32F, ksize=3)
    sharpness = float(cv2.meanStdDev(laplacian)[1][0, 0]) / (contrast + 2.0)

    # Noise: the median absolute response of a kernel blind to planes and edges-ish
    # (Immerkær 1996), on the full-resolution grey picture, from a histogram.
    full_band = full_grey.shape[0] // 10
    response = cv2.filter2D(full_grey[full_band:-full_band].astype(np.float32), -1, _NOISE_KERNEL)
    response = np.abs(response)
    rhist = np.cumsum(cv2.calcHist([response], [0], None, [1024], [0, 512]).ravel())
    median = float(np.searchsorted(rhist, rhist[-1] / 2)) / 2.0
    noise = median / (0.6745 * 6.0)

    patch = _fine_mosaic(full_grey)

    thumb = cv2.resize(greyf, THUMB_SIZE, interpolation=cv2.INTER_AREA)
    texture_ratio = float(thumb.std()) / (contrast + 1e-3)

    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB)
    a_mean, b_mean = (float(v) - 128.0 for v in cv2.mean(lab)[1:3])

    block_h, block_w = grey.shape[0] // GRID, grey.shape[1] // GRID
    blocks = greyf[: block_h * GRID, : block_w * GRID].reshape(GRID, block_h, GRID, block_w)
    block_std = blocks.std(axis=(1, 3)).ravel().round(2).tolist()

    return Signature(
        mean=round(mean, 3),
        contrast=round(contrast, 3),
        clipped_high=round(clipped_high, 4),
        uniform_share=round(uniform_share, 4),
        column_std=round(column_std, 3),
        column_spread=round(column_spread, 3),
        sharpness=round(sharpness, 5),
        noise=round(noise, 3),
        texture_ratio=round(texture_ratio, 4),
        chroma_a=round(a_mean, 3),
        chroma_b=round(b_mean, 3),
        block_std=block_std,
        thumb=np.round(thumb).astype(np.float32),
        patch=patch.astype(np.float32),
    )


def _fine_mosaic(grey: np.ndarray) -> np.ndarray:
    """Full-resolution tiles from a grid over the picture (OSD rows left out), on the
    JPEG 8×8 block grid: a live camera's sensor noise changes some of their pixels from
    one snapshot to the next even in a static scene; a repeated picture (the same bytes,
    or the same frame stamped with a new clock) changes none. Spread over the picture
    so that a flat centre (a wall, the sky), where JPEG erases faint noise, is not all
    the test sees."""
    h, w = grey.shape
    band = h // 10
    side = TILES * TILE * 5 // 4  # a tiny picture is enlarged to hold the tiles
    if h < side or w < side:
        grey = cv2.resize(grey, (max(w, side), max(h, side)))
        h, w = grey.shape
        band = h // 10
    rows = []
    for i in range(TILES):
        y = max(band, (band + (h - 2 * band) * (2 * i + 1) // (2 * TILES)) // 8 * 8 - TILE // 2)
        y = min(y, h - band - TILE)
        tiles = []
        for j in range(TILES):
            x = min(max(0, (w * (2 * j + 1) // (2 * TILES)) // 8 * 8 - TILE // 2), w - TILE)
            tiles.append(grey[y : y + TILE, x : x + TILE])
        rows.append(np.hstack(tiles))
    return np.vstack(rows)


def _blocks(
    sig: Signature,
    reference: Signature,
    flat: np.ndarray,
    had_texture: np.ndarray,
    t: Thresholds,
) -> dict[str, float]:
    """The 8×8 grid against the reference, from the thumbnails (block means and shapes)
    and the block contrasts: how much of the picture is covered counting plain areas
    that changed level, and how well the rest keeps the reference scene."""
    rows, cols = THUMB_SIZE[1] // GRID, THUMB_SIZE[0] // GRID
    now = sig.thumb[: rows * GRID, : cols * GRID].reshape(GRID, rows, GRID, cols)
    ref = reference.thumb[: rows * GRID, : cols * GRID].reshape(GRID, rows, GRID, cols)
    now = now.transpose(0, 2, 1, 3).reshape(GRID * GRID, rows * cols)
    ref = ref.transpose(0, 2, 1, 3).reshape(GRID * GRID, rows * cols)
    mean_now, mean_ref = now.mean(axis=1), ref.mean(axis=1)
    std_now = np.asarray(sig.block_std, dtype=np.float32)
    std_ref = np.asarray(reference.block_std, dtype=np.float32)
    # The OSD (time, name) sits in the top and bottom rows and keeps its contrast
    # whatever happens to the picture: those rows tell nothing about the scene.
    scene = np.ones((GRID, GRID), dtype=bool)
    scene[0] = scene[-1] = False
    scene = scene.ravel()
    live = ~flat & scene  # blocks still showing something: they tell the light's change
    if live.sum() >= 4:  # light as gain and offset (a cast or a gain moves both)
        gain, offset = np.polyfit(mean_ref[live], mean_now[live], 1)
    else:
        gain, offset = 1.0, 0.0
    changed = np.abs(mean_now - (gain * mean_ref + offset)) >= t.occluded_level_change
    covered_all = float((flat & (had_texture | changed)).mean())
    # Shape kept: the block's pattern correlates with the reference's.
    a = now - mean_now[:, None]
    b = ref - mean_ref[:, None]
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1)) + 1e-6
    correlation = (a * b).sum(axis=1) / denominator
    visible = live & had_texture & scene
    kept = float((correlation[visible] >= t.block_correlation).mean()) if visible.any() else 0.0
    contrast = float(np.median(std_now[visible] / std_ref[visible])) if visible.any() else 0.0
    # Flat because clipped (white or black): overexposure or darkness, not a cloth.
    turned = flat & (had_texture | changed) & scene
    clipped = (mean_now >= 245) | (mean_now <= 6)
    clipped_share = float((turned & clipped).sum()) / max(1, int(turned.sum()))
    return {
        "covered_all": covered_all,
        "kept": kept,
        "contrast_kept": contrast,
        "covered_clipped": clipped_share,
    }


def _compare(current: np.ndarray, other: np.ndarray) -> tuple[float, float, float]:
    """Mean |Δ|, normalised correlation and the shift (phase correlation) between two
    thumbnails, leaving out the OSD rows at top and bottom."""
    a = current[OSD_ROWS:-OSD_ROWS]
    b = other[OSD_ROWS:-OSD_ROWS]
    diff = float(np.abs(a - b).mean())
    az, bz = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((az * az).sum() * (bz * bz).sum())) + 1e-6
    correlation = float((az * bz).sum()) / denominator
    (dx, dy), _response = cv2.phaseCorrelate(az, bz)
    return diff, correlation, float(np.hypot(dx, dy))


def diagnose(
    image: np.ndarray,
    reference: Signature | None = None,
    previous: Signature | None = None,
    limits: Thresholds = DEFAULT_THRESHOLDS,
) -> Diagnosis:
    """Faults in ``image`` (BGR or grey array) given the camera's reference and previous
    signatures (either may be missing: the checks needing them are skipped)."""
    sig = measure(image)
    return judge(sig, reference, previous, limits)


def judge(
    sig: Signature,
    reference: Signature | None = None,
    previous: Signature | None = None,
    limits: Thresholds = DEFAULT_THRESHOLDS,
) -> Diagnosis:
    """The rules over measured signatures (split out so stored ones can be re-judged)."""
    t = limits
    measures: dict[str, float] = {}
    faults: list[str] = []

    # 1. No picture at all: the rest would only describe the test card.
    is_uniform = sig.uniform_share >= t.uniform_share and sig.mean < 240
    if is_uniform and reference is not None:
        is_uniform = _compare(sig.thumb, reference.thumb)[1] < t.uniform_scene
    is_bars = sig.column_std <= t.bars_column_std and sig.column_spread >= t.bars_spread
    is_snow = sig.texture_ratio <= t.snow_texture_ratio and sig.noise >= t.snow_noise
    if is_uniform or is_bars or is_snow:
        return Diagnosis([NO_SIGNAL], sig, {"uniform_share": sig.uniform_share})

    # 2. Exposure.
    ref_mean = reference.mean if reference else None
    is_dark = sig.mean <= t.dark_mean and (
        ref_mean is None or sig.mean <= t.dark_relative * ref_mean
    )
    ref_clip = reference.clipped_high if reference else 0.0
    is_bright = (sig.mean >= t.bright_mean or sig.clipped_high >= t.bright_clipped) and (
        sig.clipped_high - ref_clip >= t.bright_relative_clip or sig.mean >= 235
    )
    if ref_mean is not None and sig.mean >= t.bright_relative_mean:
        is_bright = is_bright or sig.mean >= t.bright_relative * ref_mean
    if is_dark:
        faults.append(DARK)
    if is_bright:
        faults.append(BRIGHT)

    # 3. Occlusion: blocks that had texture and lost it.
    flat = np.asarray(sig.block_std) <= t.flat_block_std
    if reference is not None:
        had_texture = np.asarray(reference.block_std) > t.textured_block_std
        covered = float((flat & had_texture).sum()) / max(1, int(had_texture.sum()))
        rise = sig.uniform_share - reference.uniform_share
        blocks = _blocks(sig, reference, flat, had_texture, t)
        measures.update({k: round(v, 3) for k, v in blocks.items()})
    else:  # without a reference a plain wall is not a cover: only most of the picture
        covered, rise, blocks = float(flat.mean()) / 2, 1.0, {}
    measures["covered"] = round(covered, 3)
    is_occluded = covered >= t.occluded_share
    if blocks:
        # Weaker signs (the histogram peaking, a plain wall covered: blocks turned flat
        # at another level) count when the part left uncovered still shows the
        # reference scene — not when the camera moved and shows another one.
        scene_kept = blocks["kept"] >= t.occluded_kept
        is_occluded = is_occluded or (
            scene_kept
            and (
                (covered >= t.occluded_share_uniform and rise >= t.occluded_uniform_rise)
                or blocks["covered_all"] >= t.occluded_share_all
            )
        )
        # A dark or white cloth darkens or whitens the picture, but the part left
        # uncovered keeps its contrast — a failed light takes it everywhere.
        if (
            is_occluded
            and blocks["contrast_kept"] >= t.occluded_contrast_kept
            and blocks["covered_clipped"] < 0.5
        ):
            is_dark = is_bright = False
            faults = [f for f in faults if f not in (DARK, BRIGHT)]
    else:
        is_occluded = is_occluded or (
            covered >= t.occluded_share_uniform and rise >= t.occluded_uniform_rise
        )
    is_occluded = is_occluded and not (is_dark or is_bright)
    if is_occluded:
        faults.append(OCCLUDED)

    # 4. Noise and blur (meaningless on a clipped or covered picture).
    exposure_ok = not (is_dark or is_bright or is_occluded)
    ref_noise = reference.noise if reference else None
    is_noisy = sig.noise >= t.noise_sigma and (
        ref_noise is None or sig.noise >= t.noise_relative * max(ref_noise, 1.0)
    )
    if exposure_ok and is_noisy:
        faults.append(NOISE)
    if reference is not None:
        relative = sig.sharpness / max(reference.sharpness, 1e-6)
        measures["sharpness_ratio"] = round(relative, 3)
        is_blurred = relative <= t.blur_relative
    else:
        is_blurred = sig.sharpness <= t.blur_sharpness
    if exposure_ok and not is_noisy and is_blurred:
        faults.append(BLUR)

    # 5. Colour cast: the picture's mean chroma moved (or is far from neutral).
    if reference is not None:
        shift = float(
            np.hypot(sig.chroma_a - reference.chroma_a, sig.chroma_b - reference.chroma_b)
        )
        is_cast = shift >= t.cast_relative
    else:
        shift = float(np.hypot(sig.chroma_a, sig.chroma_b))
        is_cast = shift >= t.cast_chroma
    measures["chroma_shift"] = round(shift, 2)
    if is_cast and not (is_dark or is_bright or is_occluded):
        faults.append(COLOR_CAST)

    # 6. Frozen: the previous sweep's picture again — the same scene, and at full
    # resolution the same pixels. The scene alone is not enough: a live camera on a
    # static scene (an empty corridor at night) shows the same scene every sweep, but
    # its sensor noise still changes a share of the pixels.
    if previous is not None:
        diff, _corr, _shift = _compare(sig.thumb, previous.thumb)
        measures["frozen_diff"] = round(diff, 3)
        if diff <= t.frozen_diff and sig.patch.shape == previous.patch.shape:
            changed = float((sig.patch != previous.patch).mean())
            measures["fine_changed"] = round(changed, 4)
            # A dark, washed-out or blurred picture shows little of the sensor's noise
            # even live: only a near-exact repeat is a stuck feed then.
            faint = is_dark or is_bright or BLUR in faults
            if changed <= (t.frozen_fine_changed_faint if faint else t.frozen_fine_changed):
                faults.append(FROZEN)

    # 7. Moved: the scene is no longer the reference scene.
    if reference is not None and not (is_dark or is_bright or is_occluded):
        _diff, correlation, shift_px = _compare(sig.thumb, reference.thumb)
        measures["scene_correlation"] = round(correlation, 3)
        measures["scene_shift"] = round(shift_px, 2)
        if correlation <= t.moved_correlation or shift_px >= t.moved_shift:
            faults.append(MOVED)
    return Diagnosis(faults, sig, measures)
