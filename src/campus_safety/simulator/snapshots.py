"""Snapshot pictures for the simulated cameras: a small HTTP server generating a JPEG
per request (``GET /snapshots/<device_id>.jpg``) — a school yard in daylight with the
camera's name, its school and the time — so the device page shows a live-looking image
and video quality diagnosis judges it as a real camera's (healthy unless the camera is
one of the few percent given a fault, camera_faults.DEMO_RATES)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

SIZE = (640, 360)
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


@lru_cache(maxsize=4)
def _font(size: int):
    from PIL import ImageFont

    for path in FONT_CANDIDATES:
        if Path(path).exists():
            try:
                return ImageFont.truetype(path, size)
            except OSError:
                continue
    return ImageFont.load_default(size)


# The scenes: a bank of school yards drawn once (a sky, buildings with windows, trees,
# a textured court with its lines, a few people), each camera a window on one of them.
# A real camera's picture is lit and textured everywhere: the platform's video quality
# diagnosis judges a camera by its first picture before it has a reference, and a dim,
# plain drawing read as "too dark" or "covered" on every camera (issue #19 review).
SCENES = 48
SCENE_MARGIN = 160  # the bank's scenes are this much wider than a picture
SHIFT_STEP = 20  # cameras on the same scene look at it from windows this far apart


def _noise_field(rng, shape: tuple[int, int], cell: int):
    import cv2
    import numpy as np

    height, width = shape
    small = rng.normal(0, 1, (height // cell + 2, width // cell + 2)).astype(np.float32)
    field = cv2.resize(small, (width + 2 * cell, height + 2 * cell), interpolation=cv2.INTER_CUBIC)
    return field[cell : cell + height, cell : cell + width]


def _texture(rng, shape: tuple[int, int], cells=(48, 16, 6, 3), weights=(1.0, 0.6, 0.45, 0.3)):
    """Noise over several scales (concrete, clouds, leaves), about unit amplitude."""
    import numpy as np

    out = np.zeros(shape, np.float32)
    for cell, weight in zip(cells, weights, strict=True):
        out += weight * _noise_field(rng, shape, cell)
    return out / sum(weights)


def _pick(rng, choices):
    import numpy as np

    return np.array(choices[int(rng.integers(len(choices)))], np.float32)


@lru_cache(maxsize=SCENES)
def school_scene(index: int):
    """Scene ``index`` of the bank (BGR, SIZE[1] × SIZE[0] + SCENE_MARGIN), drawn once."""
    import cv2
    import numpy as np

    width, height = SIZE[0] + SCENE_MARGIN, SIZE[1]
    rng = np.random.default_rng(1900 + index)
    image = np.zeros((height, width, 3), np.float32)
    horizon = int(height * rng.uniform(0.30, 0.45))
    sky = _pick(rng, [(200, 170, 140), (190, 185, 175), (210, 190, 160)])
    gradient = np.linspace(0.85, 1.05, horizon, dtype=np.float32)[:, None, None]
    image[:horizon] = (
        sky * gradient + 14 * _texture(rng, (horizon, width), (40, 12), (1, 0.6))[..., None]
    )
    ground = _pick(rng, [(105, 110, 115), (90, 120, 150), (95, 135, 110)])
    image[horizon:] = ground + 22 * _texture(rng, (height - horizon, width))[..., None]
    vanishing = width * rng.uniform(0.3, 0.7)
    for i in range(-7, 8):  # court lines in perspective
        start = (int(vanishing + i * 18), horizon)
        end = (int(vanishing + i * width * 0.2), height)
        cv2.line(image, start, end, (225, 230, 230), 2, cv2.LINE_AA)
    x = int(-rng.uniform(0, 60))
    while x < width:  # teaching blocks along the horizon, with their windows
        block_w, block_h = int(rng.uniform(90, 220)), int(rng.uniform(0.35, 0.9) * horizon)
        top = horizon - block_h
        x0, x1 = max(x, 0), min(x + block_w, width)
        if x1 > x0:
            wall = _pick(rng, [(70, 90, 160), (150, 175, 200), (160, 160, 165), (120, 140, 190)])
            grain = 10 * _texture(rng, (block_h, x1 - x0), (12, 4), (1, 0.6))
            image[top:horizon, x0:x1] = wall + grain[..., None]
            for wy in range(top + 8, horizon - 12, 22):
                for wx in range(x + 8, x + block_w - 14, 26):
                    if wx >= 0 and wx + 14 < width:
                        shade = float(rng.uniform(40, 90))
                        cv2.rectangle(
                            image, (wx, wy), (wx + 14, wy + 12), (shade + 20, shade + 10, shade), -1
                        )
                        cv2.rectangle(image, (wx, wy), (wx + 14, wy + 12), (215, 215, 210), 1)
        x += block_w + int(rng.uniform(0, 30))
    for _ in range(int(rng.integers(3, 9))):  # trees
        cx, cy = int(rng.uniform(0, width)), int(horizon + rng.uniform(-10, 30))
        radius = int(rng.uniform(18, 45))
        mask = np.zeros((height, width), np.uint8)
        cv2.circle(mask, (cx, cy - radius), radius, 1, -1)
        leaves = np.empty_like(image)
        leaves[:] = (40, 95, 60)
        leaves += 30 * _texture(rng, (height, width), (8, 3, 2), (1, 0.7, 0.5))[..., None]
        image = np.where(mask[..., None] > 0, leaves, image)
        cv2.rectangle(image, (cx - 3, cy - 2), (cx + 3, cy + 25), (40, 60, 80), -1)
    for _ in range(int(rng.integers(4, 12))):  # people and benches
        px, py = int(rng.uniform(0, width)), int(rng.uniform(horizon + 10, height - 20))
        size = int(4 + (py - horizon) / (height - horizon) * 14)
        colour = tuple(float(v) for v in rng.uniform(20, 200, 3))
        cv2.rectangle(image, (px, py - 2 * size), (px + size, py), colour, -1)
    return np.clip(image, 0, 255).astype(np.uint8)


def camera_view(device_id: str):
    """The camera's window on its scene (BGR, SIZE), the same for every picture."""
    seed = int(device_id[-6:]) if device_id[-6:].isdigit() else sum(device_id.encode())
    scene = school_scene(seed % SCENES)
    offset = (seed // SCENES) % (SCENE_MARGIN // SHIFT_STEP + 1) * SHIFT_STEP
    return scene[:, offset : offset + SIZE[0]]


def render_snapshot(
    device_id: str, name: str, place: str, at: dt.datetime | None = None, *, clean: bool = False
) -> bytes:
    """A JPEG: the camera's view of a school yard in daylight, with the time, its name,
    place and ID stamped on it as cameras do (white text with a dark shadow); with its
    demo fault unless ``clean`` (the picture as installed, for a seeded reference)."""
    import cv2
    import numpy as np
    from PIL import Image, ImageDraw

    from campus_safety.simulator import camera_faults

    at = at or dt.datetime.now()
    image = Image.fromarray(cv2.cvtColor(camera_view(device_id), cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(image)
    # White text with a dark shadow (a stroked outline costs twice the whole picture).
    for (x, y), text, size in (
        ((10, 6), at.strftime("%Y-%m-%d %H:%M:%S"), 20),
        ((10, SIZE[1] - 64), name, 26),
        ((10, SIZE[1] - 30), f"{place}  {device_id}", 16),
    ):
        draw.text((x + 1, y + 1), text, fill=(0, 0, 0), font=_font(size))
        draw.text((x, y), text, fill=(255, 255, 255), font=_font(size))
    # A few percent of the cameras are faulty (issue #19): camera_faults decides which.
    frame = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)
    if clean:
        return camera_faults.jpeg(frame, 70)
    return camera_faults.demo_snapshot(device_id, frame, quality=70)


class SnapshotServer:
    """``GET <prefix><device_id>.jpg`` → a fresh JPEG; anything else → 404."""

    def __init__(self, cameras: Mapping[str, tuple[str, str]], prefix: str = "/snapshots/") -> None:
        self.cameras = cameras  # device_id → (name, place)
        self.prefix = prefix
        self.served = 0
        self.server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._handle, host, port)
        return self.server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            parts = request.split(b" ", 2)
            path = parts[1].decode("ascii", "replace") if len(parts) > 1 else ""
            device_id = path.removeprefix(self.prefix).removesuffix(".jpg")
            camera = self.cameras.get(device_id) if path.startswith(self.prefix) else None
            if camera is None:
                writer.write(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            else:
                body = await asyncio.to_thread(render_snapshot, device_id, *camera)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nCache-Control: no-store\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                self.served += 1
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()
