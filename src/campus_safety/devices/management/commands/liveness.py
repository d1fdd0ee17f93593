"""``campus-safety liveness``: the device-state sweeper as its own process (production).

Gateways record keepalives in Redis; this process reads them, writes transitions and
flushes last-seen times. In the embedded mode ``campus-safety serve`` runs the same
loop in-process instead.
"""

from __future__ import annotations

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campus_safety.devices import liveness


class Command(BaseCommand):
    help = "Sweep device liveness (offline/online/fault) and flush last-seen times."

    def handle(self, *args, **options) -> None:
        if not settings.REDIS_URL:
            raise CommandError(
                "A separate liveness process reads last-seen times from Redis: set REDIS_URL, "
                "or let `campus-safety serve` run liveness in-process."
            )
        self.stdout.write(
            f"liveness: sweeping every {settings.LIVENESS_SWEEP_SECONDS:g} s, flushing "
            f"last-seen every {settings.LIVENESS_FLUSH_SECONDS:g} s (Ctrl-C to stop)"
        )
        asyncio.run(self._run())

    async def _run(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await liveness.run_liveness(stop)
        finally:
            liveness.default().close()
