"""``campus-safety alarm-timers``: fire due escalation deadlines once, or keep running."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand

from campus_safety import clock
from campus_safety.alarms.escalation import run_alarm_timers
from campus_safety.alarms.tasks import run_alarm_timers_loop


class Command(BaseCommand):
    help = "Escalate unacknowledged alarm cases and flag missed response circles."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true", help="run every second until stopped")

    def handle(self, *args: Any, loop: bool = False, **options: Any) -> None:
        if not loop:
            rows = run_alarm_timers(clock.now())
            self.stdout.write(f"{len(rows)} escalation(s)")
            return

        async def main() -> None:
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            await run_alarm_timers_loop(stop)

        asyncio.run(main())
