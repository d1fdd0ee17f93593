"""``campus-safety purge-expired``: the retention job; run it daily (cron/systemd timer)."""

from django.core.management.base import BaseCommand

from campus_safety.retention import purge_expired


class Command(BaseCommand):
    help = "Delete records past their retention period (audit log: at least 180 days)."

    def handle(self, *args, **options) -> None:
        for kind, count in purge_expired().items():
            self.stdout.write(f"{kind}: {count} removed")
