"""``campus-safety patrol-sweep``: create today's rounds, evaluate open rounds (raising
patrol alarms for missed checkpoints) and escalate unacknowledged alarms — what the
runtime does every PATROL_SWEEP_SECONDS — once, or for a whole past day."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campus_safety import clock
from campus_safety.patrols import services
from campus_safety.patrols.models import TourRound


class Command(BaseCommand):
    help = "Evaluate guard-tour rounds and raise/escalate patrol alarms (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--day", help="evaluate every round of this past day (YYYY-MM-DD), e.g. a re-run"
        )

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        if options["day"]:
            try:
                day = dt.date.fromisoformat(options["day"])
            except ValueError as exc:
                raise CommandError("--day must be a date like 2026-03-02") from exc
            created = services.ensure_rounds(day)
            results = services.evaluate_rounds(TourRound.objects.filter(day=day), clock.now())
            counts = {"rounds_created": created, "rounds_evaluated": len(results)}
        else:
            counts = services.sweep()
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items())
        self.stdout.write(f"Patrol sweep: {summary} in {elapsed:.2f} s.")
