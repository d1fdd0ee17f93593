from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GateConfig(AppConfig):
    name = "campus_safety.gate"
    verbose_name = _("Gate")

    def ready(self) -> None:
        """Visitors', students' and pick-up persons' fields the audited reveal may show
        (roles with personal-data reveal, within their scope); never the watch-list."""
        from campus_safety.audit.reveal_views import REVEALABLE

        REVEALABLE["gate.visit"] = {"name", "document_number", "phone"}
        REVEALABLE["gate.student"] = {"name"}
        REVEALABLE["gate.pickupperson"] = {"name", "phone"}
