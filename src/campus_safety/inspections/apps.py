from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "campus_safety.inspections"
    verbose_name = _("Online inspection")

    def ready(self) -> None:
        from campus_safety.devices import status_reasons
        from campus_safety.inspections.fault_words import stored_detail_in_words

        status_reasons.PICTURE_FAULT.detail_words = stored_detail_in_words
