"""``campus-safety seed-demo``: fill an empty database with the synthetic 德州市.

Refuses to touch a database that already has schools unless told: ``--if-empty`` (for
``make demo``) does nothing then, ``--force`` deletes the demo city and seeds it anew.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.db.models import ProtectedError
from tqdm import tqdm

from campus_safety.simulator import demo_day, demo_hazards, demo_users, loading, patrol_demo
from campus_safety.simulator.city import DEFAULT_SEED, TOTAL_SCHOOLS, build_city


class Command(BaseCommand):
    help = (
        "Seed the demo city (synthetic 德州市, 2,029 schools and their 38,500 devices) "
        "deterministically from a seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"random seed (default {DEFAULT_SEED}); same seed, same city",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when schools already exist"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="delete the demo city first when the database is not empty",
        )
        parser.add_argument("--schools", type=int, default=TOTAL_SCHOOLS,
                            help="build a scaled-down city with this many schools")  # fmt: skip

    def handle(self, *args, **options) -> None:
        if loading.has_schools():
            if options["if_empty"]:
                self.stdout.write("The demo city is already there (schools exist); nothing to do.")
                return
            if not options["force"]:
                raise CommandError(
                    "The database already has schools. Use --if-empty to keep them or "
                    "--force to delete the demo city and seed it again."
                )
            try:
                loading.delete_demo_city()
            except (ProtectedError, IntegrityError) as error:
                raise CommandError(f"Cannot delete the demo city: {error.args[0]}") from error

        started = time.perf_counter()
        city = build_city(options["seed"], schools=options["schools"])
        with tqdm(
            total=city.row_count + len(demo_users.DEMO_USERS), desc="seed-demo", unit=" rows",
            file=sys.stderr, disable=options["verbosity"] == 0, leave=False,
        ) as bar:  # fmt: skip
            counts = loading.write_city(city, progress=bar.update)
        patrols = patrol_demo.write_patrols(city.seed)
        counts["hazards"] = demo_hazards.seed_city(city.seed, loading.CITY_PREFIX)
        patrols.update(demo_day.make_today(is_fresh=True))
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Seeded 德州市 (seed {city.seed}): {counts['schools']:,} schools, "
            f"{counts['organisations']:,} organisations, {counts['guards']:,} guards, "
            f"{counts['equipment']:,} pieces of equipment, {counts['devices']:,} devices "
            f"({counts['cameras']:,} cameras, {counts['one_key_alarms']:,} one-key alarms), "
            f"{counts['police_units']:,} police units, {counts['alarm_cases']:,} past alarm cases, "
            f"{counts['hazards']:,} hazards and trouble spots, "
            f"{patrols['posts']:,} 护学岗 posts ({patrols['roster_entries']:,} roster entries, "
            f"{patrols['post_check_ins']:,} check-ins), {patrols['tour_rounds']:,} guard-tour "
            f"rounds ({patrols['tour_scans']:,} scans), "
            f"{counts['users']} demo users in {elapsed:.1f} s."
        )
        if options["verbosity"] >= 1:
            for line in demo_users.login_lines():
                self.stdout.write(f"  {line}")
