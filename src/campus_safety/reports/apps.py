from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "campus_safety.reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from campus_safety.reports import gate_register, targets

        if gate_register.schools_with_entries not in targets.GATE_REGISTER_SOURCES:
            targets.GATE_REGISTER_SOURCES.append(gate_register.schools_with_entries)
