"""``campus-safety intel scan --prm FILE.prm [--json]``: SaTScan's analysis here.

``campus-safety intel daily-scan`` runs today's early-warning scan on the platform's
incidents (what ``serve`` runs daily)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Crackdown and early warning: the space-time scan (SaTScan files or today's data)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        scan = sub.add_parser("scan", help="run a SaTScan parameter file")
        scan.add_argument("--prm", required=True, help="SaTScan parameter file (.prm)")
        scan.add_argument("--json", action="store_true", help="JSON instead of text")
        scan.add_argument("--replications", type=int, default=None, help="override MonteCarloReps")
        sub.add_parser("daily-scan", help="scan today's incidents and raise alerts")

    def handle(self, *args, **options) -> None:
        if options["action"] == "scan":
            from campus_safety.intel.scan.satscan import (
                SatscanError,
                results_json,
                results_text,
                run_prm,
            )

            try:
                analysis = run_prm(options["prm"], replications=options["replications"])
            except (SatscanError, OSError) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(results_json(analysis) if options["json"] else results_text(analysis))
            return
        from campus_safety.intel.early_warning import run_daily_scan

        summary = run_daily_scan()
        self.stdout.write(str(summary))
