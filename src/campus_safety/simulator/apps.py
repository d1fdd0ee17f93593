from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulatorConfig(AppConfig):
    name = "campus_safety.simulator"
    verbose_name = _("Demo and simulation")

    def ready(self) -> None:
        """A demo started at another hour (``CAMPUS_SAFETY_CLOCK_START``): every process
        of it — seed-demo, serve and its simulated devices — reads that clock. Never
        outside demo mode: a platform in service keeps the real time."""
        from zoneinfo import ZoneInfo

        from django.conf import settings

        from campus_safety import clock

        if settings.DEMO_MODE and settings.CLOCK_START:
            zone = ZoneInfo(settings.TIME_ZONE)
            clock.start_at(clock.parse_start(settings.CLOCK_START, zone))
