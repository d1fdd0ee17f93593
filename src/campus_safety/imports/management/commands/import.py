"""``campus-safety import <kind> <file.xlsx> --user NAME``: bulk registry import.

Every row is checked first; by default nothing is written when any row is bad.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from campus_safety import spreadsheets as xl
from campus_safety.accounts.models import User
from campus_safety.accounts.roles import IMPORT, can
from campus_safety.audit.actor import Actor, acting_as
from campus_safety.imports import services


class Command(BaseCommand):
    help = "Import schools, guards or equipment from an .xlsx file (see `export --template`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help="schools, guards or equipment")
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--user", required=True, help="act as this user: their scope and role apply"
        )
        parser.add_argument(
            "--keep-good",
            action="store_true",
            help="write the good rows even when some rows are bad",
        )

    def handle(self, *args, **options) -> None:
        try:
            registry = xl.get_registry(options["kind"])
        except xl.ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None or not can(user, IMPORT, registry.kind):
            raise CommandError(f"user {options['user']!r} may not import {registry.kind}")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > xl.max_import_bytes():
            raise CommandError(f"{path}: larger than {xl.max_import_bytes() // 2**20} MB")
        with (
            tqdm(
                desc=f"import {registry.kind}",
                unit=" rows",
                file=self.stderr._out,
                disable=options["verbosity"] == 0,
            ) as bar,
            acting_as(Actor(user=user, channel="cli")),
            path.open("rb") as handle,
        ):

            def progress(read: int, expected: int | None) -> None:
                bar.total = expected
                bar.update(read - bar.n)

            try:
                # The same limits and checks as an upload (spreadsheets.py): a damaged
                # or hostile file is one line on stderr and exit status 1.
                result = services.import_workbook(
                    registry, handle, user, keep_good=options["keep_good"], progress=progress
                )
            except xl.ImportFileError as exc:
                raise CommandError(f"{path}: {exc}") from exc
        for error in result.errors[:200]:
            self.stderr.write(str(error))
        if len(result.errors) > 200:
            self.stderr.write(f"... and {len(result.errors) - 200} more errors")
        if result.errors and not options["keep_good"]:
            raise CommandError(
                f"{len(result.errors)} errors in {result.rows} rows; "
                "nothing was written (use --keep-good to write the good rows)"
            )
        self.stdout.write(
            f"{result.rows} rows: {result.created} created, "
            f"{result.updated} updated, {len(result.errors)} errors"
        )
