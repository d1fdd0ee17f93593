from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClusterConfig(AppConfig):
    name = "campus_safety.cluster"
    verbose_name = _("Cluster")
