from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HazardsConfig(AppConfig):
    name = "campus_safety.hazards"
    verbose_name = _("Hazards and trouble spots")
