from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntelConfig(AppConfig):
    name = "campus_safety.intel"
    verbose_name = _("Crackdown and early warning")

    def ready(self) -> None:
        """Alarm cases closed as real become incidents (intel listens; alarms, a lower
        layer, does not know it)."""
        from django.db.models.signals import post_save

        from campus_safety.alarms.models import AlarmCase
        from campus_safety.intel.from_alarms import on_case_saved

        post_save.connect(on_case_saved, sender=AlarmCase, dispatch_uid="intel.from_alarms")
