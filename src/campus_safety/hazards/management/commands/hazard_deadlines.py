"""``campus-safety hazard-deadlines``: send due reminders and escalate overdue hazards
once (the platform's own loop does this every HAZARD_SWEEP_SECONDS; cron can too)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from campus_safety.hazards.deadlines import run_hazard_deadlines


class Command(BaseCommand):
    help = "Send hazard deadline reminders and escalate overdue hazards, once."

    def handle(self, *args, **options) -> None:
        result = run_hazard_deadlines()
        self.stdout.write(
            f"{len(result.reminded)} reminders sent, {len(result.escalated)} hazards escalated."
        )
