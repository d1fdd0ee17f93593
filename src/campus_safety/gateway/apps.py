from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatewayConfig(AppConfig):
    """Installed only so ``campus-safety mqtt`` (and other adapter commands) are found."""

    name = "campus_safety.gateway"
    verbose_name = _("Device gateway")
