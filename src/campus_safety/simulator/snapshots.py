"""Snapshot pictures for the simulated cameras: a small HTTP server generating a JPEG
per request (``GET /snapshots/<device_id>.jpg``) with the camera's name, its school and
the time, so the device page shows a live-looking image without any real camera."""

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


def render_snapshot(device_id: str, name: str, place: str, at: dt.datetime | None = None) -> bytes:
    """A JPEG: a dim "scene" with the camera's name, place, ID and time stamped on it."""
    from PIL import Image, ImageDraw

    at = at or dt.datetime.now()
    seed = int(device_id[-6:]) if device_id[-6:].isdigit() else 0
    image = Image.new("RGB", SIZE, (24 + seed % 40, 40 + seed % 30, 56 + seed % 50))
    draw = ImageDraw.Draw(image)
    for i in range(0, SIZE[0], 40):  # a floor grid, so it reads as a scene
        draw.line([(i, SIZE[1]), (SIZE[0] // 2, SIZE[1] // 3)], fill=(70, 80, 95), width=1)
    draw.rectangle([0, 0, SIZE[0], 34], fill=(0, 0, 0))
    draw.text((10, 6), at.strftime("%Y-%m-%d %H:%M:%S"), fill=(255, 255, 255), font=_font(20))
    draw.text((10, SIZE[1] - 64), name, fill=(255, 255, 255), font=_font(26))
    draw.text((10, SIZE[1] - 30), f"{place}  {device_id}", fill=(200, 210, 220), font=_font(16))
    # A few percent of the cameras are faulty (issue #19): camera_faults decides which.
    import numpy as np

    from campus_safety.simulator import camera_faults

    frame = np.asarray(image)[:, :, ::-1].copy()  # RGB → BGR
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
