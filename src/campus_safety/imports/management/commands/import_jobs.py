"""``campus-safety import-jobs``: run the queued imports once, or keep running."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand

from campus_safety.imports.tasks import run_import_jobs_loop, run_pending


class Command(BaseCommand):
    help = "Run the imports uploaded on the import pages (a worker; several may run)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true", help="look every second until stopped")

    def handle(self, *args: Any, loop: bool = False, **options: Any) -> None:
        if not loop:
            self.stdout.write(f"{run_pending()} import(s) run")
            return

        async def main() -> None:
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            await run_import_jobs_loop(stop)

        asyncio.run(main())
