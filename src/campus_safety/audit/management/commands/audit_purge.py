"""``campus-safety audit-purge``: the retention job (keeps ≥180 days, refuses less)."""

from django.core.management.base import BaseCommand

from campus_safety.audit.services import purge_expired, retention_days


class Command(BaseCommand):
    help = "Delete audit entries older than AUDIT_RETENTION_DAYS (at least 180)."

    def handle(self, *args, **options) -> None:
        days = retention_days()
        removed = purge_expired()
        self.stdout.write(f"removed {removed} audit entries older than {days} days")
