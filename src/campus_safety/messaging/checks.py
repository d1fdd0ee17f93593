"""System checks for the SMS settings: a wrong backend or an unusable gateway address
stops ``campus-safety serve`` at start, not at the first refused pick-up."""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.conf import settings
from django.core import checks


@checks.register()
def check_sms_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    backend = getattr(settings, "SMS_BACKEND", "log")
    found: list[checks.CheckMessage] = []
    if backend not in {"log", "http"}:
        found.append(
            checks.Error(f"SMS_BACKEND={backend!r}: use 'log' or 'http'", id="messaging.E001")
        )
    if backend == "http":
        url = urllib.parse.urlsplit(getattr(settings, "SMS_HTTP_URL", ""))
        if url.scheme not in {"http", "https"} or not url.netloc:
            found.append(
                checks.Error("SMS_BACKEND=http needs an http(s) SMS_HTTP_URL", id="messaging.E002")
            )
        if not getattr(settings, "SMS_HTTP_SECRET", ""):
            found.append(
                checks.Error("SMS_BACKEND=http needs SMS_HTTP_SECRET", id="messaging.E003")
            )
        base = urllib.parse.urlsplit(getattr(settings, "PUBLIC_BASE_URL", "")).hostname or ""
        if base in {"", "localhost", "127.0.0.1", "::1"}:
            found.append(
                checks.Warning(
                    "PUBLIC_BASE_URL is not a public address: guardian links sent by SMS "
                    "will not open on a guardian's phone",
                    id="messaging.W001",
                )
            )
    return found
