"""GB/T 28181 device IDs (RULES.md §5): 8-digit centre code (GB/T 2260) + 2-digit
industry + 3-digit type + 1-digit network + 6-digit serial. Pure: no Django."""

from __future__ import annotations

TYPE_CODES = {
    "111": "DVR",
    "112": "video server",
    "113": "encoder",
    "114": "decoder",
    "115": "video switch",
    "116": "audio switch",
    "117": "alarm controller",
    "118": "NVR",
    "130": "HVR",
    "131": "camera",
    "132": "IPC",
    "133": "display",
    "134": "alarm input",
    "135": "alarm output",
    "136": "voice input",
    "137": "voice output",
    "138": "mobile transmission device",
    "139": "other peripheral",
    "200": "SIP server",
    "201": "web server",
    "202": "media server",
    "203": "proxy server",
    "204": "security server",
    "205": "alarm server",
    "206": "database server",
    "207": "GIS server",
    "208": "management server",
    "209": "gateway",
    "210": "media storage server",
    "211": "signalling security gateway",
    "212": "business group",
    "215": "business group",
    "216": "virtual organisation",
}
INDUSTRY_EDUCATION = "11"


class InvalidDeviceId(ValueError):
    pass


def validate_device_id(value: str) -> str:
    """Digits only, 18 to 20 long (GB/T 28181 allows the shorter legacy forms)."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise InvalidDeviceId("a GB/T 28181 ID has digits only")
    if not 18 <= len(value) <= 20:
        raise InvalidDeviceId("a GB/T 28181 ID has 18 to 20 digits")
    return value


def type_code(device_id: str) -> str:
    """Digits 11–13 (1-based): the device type."""
    return device_id[10:13]


def type_name(device_id: str) -> str:
    return TYPE_CODES.get(type_code(device_id), "unknown")


def centre_code(device_id: str) -> str:
    return device_id[:8]


def make_device_id(
    region_code: str,
    type_code_: str,
    serial: int,
    *,
    network: str = "7",
    industry: str = INDUSTRY_EDUCATION,
    centre_suffix: str = "00",
) -> str:
    """Build a 20-digit ID: region (6) + centre suffix (2) + industry + type + net + serial."""
    device_id = f"{region_code}{centre_suffix}{industry}{type_code_}{network}{serial:06d}"
    return validate_device_id(device_id)
