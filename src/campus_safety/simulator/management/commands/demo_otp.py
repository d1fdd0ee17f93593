"""``campus-safety demo-otp``: the demo accounts' current TOTP code (demo mode only)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campus_safety.simulator.demo_users import TOTP_SECRET, current_demo_code


class Command(BaseCommand):
    help = "Print the current second-factor code of the demo accounts (CAMPUS_SAFETY_DEMO=1)."

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("demo-otp works only in demo mode (CAMPUS_SAFETY_DEMO=1)")
        self.stdout.write(current_demo_code())
        self.stderr.write(f"(secret {TOTP_SECRET}; codes change every 30 s)")
