"""``campus-safety token create|list|revoke``: personal API tokens from the shell."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campus_safety.accounts.models import ApiToken, User
from campus_safety.accounts.tokens import create_token, revoke_token


class Command(BaseCommand):
    help = "Create (printed once), list or revoke a user's API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", default="cli")
        create.add_argument("--days", type=int, default=None)
        listing = sub.add_parser("list", help="list a user's tokens")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        return user

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "create":
            try:
                row, token = create_token(
                    self._user(options["username"]), options["name"], options["days"]
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stderr.write(
                f"token {row.prefix} expires {row.expires_at:%Y-%m-%d}; it is shown only now:"
            )
            self.stdout.write(token)
        elif action == "list":
            for row in self._user(options["username"]).api_tokens.all():
                state = "revoked" if row.revoked_at else f"expires {row.expires_at:%Y-%m-%d}"
                self.stdout.write(f"{row.prefix}  {row.name}  {state}")
        else:
            row = ApiToken.objects.filter(prefix=options["prefix"], revoked_at=None).first()
            if row is None:
                raise CommandError(f"no active token {options['prefix']!r}")
            revoke_token(row)
            self.stdout.write(f"revoked {row.prefix}")
