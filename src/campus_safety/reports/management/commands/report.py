"""``campus-safety report summary|campaign|scheduled``: reports computed from the data.

* ``summary [--json] [--rule R]`` — the city's headline figures;
* ``campaign [--region CODE] [--from DATE] [--to DATE] [--json]`` — the 护校安园 progress
  report's paragraphs (or their figures as JSON) for an area and period;
* ``scheduled [--kind weekly|monthly|term] [--region CODE]`` — make the last complete
  period's reports now (the ones ``serve`` makes on schedule) and deliver them.
"""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date

from campus_safety.reports.summary import summary


class Command(BaseCommand):
    help = "Print a report computed from the registry (kinds: summary, campaign, scheduled)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["summary", "campaign", "scheduled"])
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--rule", help="staffing rule: gbt29315_2022 or spec_2015")
        parser.add_argument("--region", help="area code: a district, or the city (default)")
        parser.add_argument("--from", dest="start", help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", help="last day, YYYY-MM-DD")
        parser.add_argument(
            "--period", choices=["weekly", "monthly", "term"], help="scheduled: one kind only"
        )

    def handle(self, *args, **options) -> None:
        if options["kind"] == "campaign":
            self.campaign(options)
            return
        if options["kind"] == "scheduled":
            self.scheduled(options)
            return
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

    def _region(self, code: str | None):
        from campus_safety.orgs.models import Region

        if not code:
            return None
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise CommandError(f"no region with code {code}")
        return region

    @staticmethod
    def _date(value: str | None, name: str):
        if not value:
            return None
        try:
            day = parse_date(value)
        except ValueError:
            day = None
        if day is None:
            raise CommandError(f"--{name} must be a date, YYYY-MM-DD")
        return day

    def campaign(self, options) -> None:
        from campus_safety.orgs.models import School
        from campus_safety.reports.campaign import campaign

        start = self._date(options["start"], "from")
        end = self._date(options["end"], "to")
        try:
            report = campaign(School.objects.all(), self._region(options["region"]), start, end)
        except ValueError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
            return
        for paragraph in report.paragraphs:
            self.stdout.write(paragraph.text())

    def scheduled(self, options) -> None:
        from django.utils import timezone

        from campus_safety import clock
        from campus_safety.reports import scheduled

        kinds = [options["period"]] if options["period"] else ["weekly", "monthly", "term"]
        region = self._region(options["region"])
        regions = [region] if region else scheduled.report_regions()
        today = timezone.localdate(clock.now())
        for kind in kinds:
            period = scheduled.last_period(kind, today)
            if period is None:
                continue
            for area in regions:
                report = scheduled.generate(kind, area, *period)
                self.stdout.write(
                    f"{kind} {area.code} {period[0]}–{period[1]}: report {report.pk}, "
                    f"{report.deliveries.count()} recipients"
                )
