from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "campus_safety.live"
    verbose_name = _("Live events")

    def ready(self) -> None:
        """Record every console event this process publishes (see recording.py)."""
        from campus_safety.live import recording

        recording.start()
