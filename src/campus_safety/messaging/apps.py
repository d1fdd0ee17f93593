from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "campus_safety.messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from campus_safety.messaging import checks  # noqa: F401 (registers the checks)
