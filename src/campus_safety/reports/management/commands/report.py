"""``campus-safety report summary [--json]``: the city's figures from the data."""

import json

from django.core.management.base import BaseCommand, CommandParser

from campus_safety.reports.summary import summary


class Command(BaseCommand):
    help = "Print a report computed from the registry (kinds: summary)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["summary"])
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--rule", help="staffing rule: gbt29315_2022 or spec_2015")

    def handle(self, *args, **options) -> None:
        from campus_safety.workforce.staffing import get_rule

        data = summary(rule=get_rule(options["rule"]))
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        g = data["guards"]
        self.stdout.write(f"schools            {data['schools']:>8,}")
        self.stdout.write(f"students           {data['students']:>8,}")
        self.stdout.write(f"professional guards{g['professional']:>8,}")
        self.stdout.write(f"full-time staff    {g['full_time']:>8,}")
        self.stdout.write(f"part-time staff    {g['part_time']:>8,}")
        self.stdout.write(f"equipment pieces   {data['equipment']:>8,}")
        s = data["staffing"]
        self.stdout.write(f"guards required    {s['required']:>8,}  ({s['rule']})")
        self.stdout.write(f"schools short      {s['schools_short']:>8,}  (gap {s['gap']:,})")
