from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LinkageConfig(AppConfig):
    name = "campus_safety.linkage"
    verbose_name = _("Police-school linkage")
