from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkforceConfig(AppConfig):
    name = "campus_safety.workforce"
    verbose_name = _("Security force")
