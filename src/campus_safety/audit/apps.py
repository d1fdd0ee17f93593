from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "campus_safety.audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from campus_safety.audit import signals

        signals.connect()
