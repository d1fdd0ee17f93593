"""``campus-safety inspect [--date YYYY-MM-DD]``: run the daily online inspection."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Score every school for one day (default: today so far) and rank them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--date", help="the day to inspect, YYYY-MM-DD")

    def handle(self, *args, **options) -> None:
        from campus_safety.inspections.daily import run_daily_inspection

        day = None
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(f"--date: {exc}") from exc
        summary = run_daily_inspection(day)
        self.stdout.write(
            f"{summary.day}: {summary.schools} schools, mean score {summary.mean_score}, "
            f"{summary.below_pass} below 60, {summary.notices} notices issued, "
            f"{summary.seconds} s"
        )
