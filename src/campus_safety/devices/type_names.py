"""GB/T 28181 device types (设备类型, digits 11–13 of an ID) in the reader's words.

``identifiers.TYPE_CODES`` keeps the English names, pure and stable, for the API and
the logs; pages show these, which follow GB/T 28181-2016 appendix D.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campus_safety.devices import identifiers

TYPE_NAMES: dict[str, Promise] = {
    "111": pgettext_lazy("device type", "DVR"),
    "112": pgettext_lazy("device type", "video server"),
    "113": pgettext_lazy("device type", "encoder"),
    "114": pgettext_lazy("device type", "decoder"),
    "115": pgettext_lazy("device type", "video switch"),
    "116": pgettext_lazy("device type", "audio switch"),
    "117": pgettext_lazy("device type", "alarm controller"),
    "118": pgettext_lazy("device type", "NVR"),
    "130": pgettext_lazy("device type", "HVR"),
    "131": pgettext_lazy("device type", "camera"),
    "132": pgettext_lazy("device type", "IPC"),
    "133": pgettext_lazy("device type", "display"),
    "134": pgettext_lazy("device type", "alarm input"),
    "135": pgettext_lazy("device type", "alarm output"),
    "136": pgettext_lazy("device type", "voice input"),
    "137": pgettext_lazy("device type", "voice output"),
    "138": pgettext_lazy("device type", "mobile transmission device"),
    "139": pgettext_lazy("device type", "other peripheral"),
    "200": pgettext_lazy("device type", "SIP server"),
    "201": pgettext_lazy("device type", "web server"),
    "202": pgettext_lazy("device type", "media server"),
    "203": pgettext_lazy("device type", "proxy server"),
    "204": pgettext_lazy("device type", "security server"),
    "205": pgettext_lazy("device type", "alarm server"),
    "206": pgettext_lazy("device type", "database server"),
    "207": pgettext_lazy("device type", "GIS server"),
    "208": pgettext_lazy("device type", "management server"),
    "209": pgettext_lazy("device type", "gateway"),
    "210": pgettext_lazy("device type", "media storage server"),
    "211": pgettext_lazy("device type", "signalling security gateway"),
    "212": pgettext_lazy("device type", "business group"),
    "215": pgettext_lazy("device type", "business group"),
    "216": pgettext_lazy("device type", "virtual organisation"),
}
UNKNOWN = _("unknown type")


def type_name(device_id: str) -> str:
    """The type an ID's digits 11–13 name, in the reader's language."""
    return str(TYPE_NAMES.get(identifiers.type_code(device_id), UNKNOWN))
