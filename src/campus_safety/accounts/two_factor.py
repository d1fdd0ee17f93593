"""Second factor (等保2.0 level 3: two factors, one cryptographic): TOTP + recovery codes.

Devices are django-otp's; this module decides who must have one and wraps enrolment,
so views stay thin. Recovery codes are single-use static tokens, shown once.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10


def required_for(user: Any) -> bool:
    """Staff roles and superusers need a second factor; guards and volunteers do not."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser or user.is_staff:
        return True
    return getattr(user, "role", "") not in settings.TWO_FACTOR_EXEMPT_ROLES


def confirmed_totp(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_device(user: Any) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def pending_totp(user: Any) -> TOTPDevice:
    """The unconfirmed device being enrolled (one at a time; a new secret each start)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="totp", confirmed=False)


def secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG, drawn here (no third-party QR service)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def confirm_totp(device: TOTPDevice, code: str) -> bool:
    if not device.verify_token(code.strip()):
        return False
    TOTPDevice.objects.filter(user=device.user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save()
    return True


def new_recovery_codes(user: Any) -> list[str]:
    """Replace the user's recovery codes; return the plain codes to show once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="recovery", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def verify(user: Any, code: str):
    """The device that accepts ``code`` (TOTP first, then a recovery code), or None."""
    code = code.strip().replace(" ", "")
    if not code or len(code) > 16:
        return None
    for device in devices_for_user(user, confirmed=True):
        if device.verify_is_allowed()[0] and device.verify_token(code):
            return device
    return None
