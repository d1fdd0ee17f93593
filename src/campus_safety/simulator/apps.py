from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulatorConfig(AppConfig):
    name = "campus_safety.simulator"
    verbose_name = _("Demo and simulation")
