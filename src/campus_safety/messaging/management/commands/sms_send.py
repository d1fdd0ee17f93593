"""``campus-safety sms-send``: send the due SMS once, or keep sending (a worker)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand

from campus_safety import clock
from campus_safety.messaging.services import send_due
from campus_safety.messaging.tasks import run_sender_loop


class Command(BaseCommand):
    help = "Send the queued SMS that are due (pick-up refusals, codes, guardian links)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true", help="keep sending until stopped")

    def handle(self, *args: Any, loop: bool = False, **options: Any) -> None:
        if not loop:
            counts = send_due(clock.now())
            self.stdout.write(", ".join(f"{state}: {n}" for state, n in counts.items()))
            return

        async def main() -> None:
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            await run_sender_loop(stop)

        asyncio.run(main())
