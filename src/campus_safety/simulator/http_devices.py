"""Emulated HTTP devices: signed batches to ``POST /api/v1/ingest`` (ARCHITECTURE.md §5).

The signature is computed here as a device would from the documented contract
(HMAC-SHA256 with the device's secret over ``X-Timestamp + "\\n" + body``), on a bare
asyncio HTTP/1.1 client: no library, no thread per request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from campus_safety import clock
from campus_safety.gateway.contract import signature


@dataclass
class HttpDevice:
    device_id: str
    secret: str
    kind: str = ""


class HttpFleet:
    """Posts signed event batches for many devices to one platform."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self.stats: Counter[str] = Counter()
        self._events = itertools.count(1)
        self._run = secrets.token_hex(3)

    def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        now = clock.device_time().isoformat(timespec="milliseconds")
        return {"kind": kind, "event_id": f"sim-{self._run}-{next(self._events)}", "ts": now,
                **fields}  # fmt: skip

    async def post(self, device: HttpDevice, events: list[dict[str, Any]]) -> tuple[int, dict]:
        """One signed batch; returns (HTTP status, JSON answer). Status 0 = no answer."""
        body = json.dumps({"device_id": device.device_id, "events": events}).encode()
        timestamp = str(int(clock.timestamp()))
        head = (
            f"POST /api/v1/ingest HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Device-Id: {device.device_id}\r\nX-Timestamp: {timestamp}\r\n"
            f"X-Signature: {signature(device.secret, timestamp, body)}\r\nConnection: close\r\n\r\n"
        )
        self.stats["posted"] += 1
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                try:
                    writer.write(head.encode() + body)
                    await writer.drain()
                    raw = await reader.read()
                finally:
                    writer.close()
        except (OSError, TimeoutError):
            self.stats["failed"] += 1
            return 0, {}
        header, _, payload = raw.partition(b"\r\n\r\n")
        try:
            status = int(header.split(b" ", 2)[1])
            answer = json.loads(payload or b"{}")
        except (IndexError, ValueError):
            self.stats["failed"] += 1
            return 0, {}
        self.stats[f"status_{status}"] += 1
        return status, answer

    async def heartbeat(self, device: HttpDevice) -> int:
        status, _ = await self.post(device, [{"kind": "heartbeat"}])
        return status

    async def alarm(self, device: HttpDevice, description: str = "一键报警") -> int:
        status, _ = await self.post(
            device, [self.event("alarm", priority=1, method=2, description=description)]
        )
        return status

    async def patrol_scan(self, device: HttpDevice, card_id: str) -> int:
        status, _ = await self.post(
            device,
            [self.event("patrol", checkpoint_id=device.device_id[-6:], card_id=card_id),
             {"kind": "heartbeat"}],
        )  # fmt: skip
        return status
