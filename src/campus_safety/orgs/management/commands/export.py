"""``campus-safety export <kind> <file.xlsx> --user NAME [--template]``."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campus_safety import spreadsheets as xl
from campus_safety.accounts.models import User
from campus_safety.accounts.roles import EXPORT, REVEAL, can
from campus_safety.audit.actor import Actor, acting_as
from campus_safety.audit.services import record


class Command(BaseCommand):
    help = "Export schools, guards or equipment in the user's scope to .xlsx."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help="schools, guards or equipment")
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", help="act as this user (required unless --template)")
        parser.add_argument(
            "--template", action="store_true", help="write the empty import template instead"
        )

    def handle(self, *args, **options) -> None:
        try:
            registry = xl.get_registry(options["kind"])
        except xl.ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        if options["template"]:
            options["file"].write_bytes(xl.template_bytes(registry.title, registry.columns))
            self.stdout.write(f"template written to {options['file']}")
            return
        user = User.objects.filter(username=options["user"] or "", is_active=True).first()
        if user is None or not can(user, EXPORT, registry.kind):
            raise CommandError(f"user {options['user']!r} may not export {registry.kind}")
        reveal = can(user, REVEAL, "personal_data")
        with acting_as(Actor(user=user, channel="cli")):
            queryset = registry.queryset(user)
            options["file"].write_bytes(xl.export_bytes(registry, queryset, reveal=reveal))
            record(
                f"export.{registry.kind}",
                user=user,
                detail={"rows": queryset.count(), "personal_data": reveal},
            )
        self.stdout.write(f"{registry.kind} written to {options['file']}")
