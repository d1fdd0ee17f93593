"""How a message leaves the platform, chosen by ``SMS_BACKEND``:

* ``log`` (the embedded demo's default): the message goes to the log with the phone
  masked and counts as sent — nothing leaves the machine;
* ``http``: the operator's SMS gateway. A JSON ``{id, phone, text, purpose}`` POSTed to
  ``SMS_HTTP_URL``, signed (``signing.py``) with ``SMS_HTTP_SECRET``, with the
  message's ``Idempotency-Key``, within ``SMS_HTTP_TIMEOUT`` seconds. A 2xx is sent (the
  gateway's message ID from its JSON answer, if any); a 4xx is refused for good, with
  the gateway's reason (but 408/425/429 are "later"); a 5xx, a timeout, a refused or
  dropped connection is tried again later (``services.send_due``).

The SMS gateway is the outside world, not a device, so this one HTTP client lives with
the messages it sends rather than in ``gateway/`` (which takes devices' traffic in).
Backends see a ``Delivery``, never a model: they do I/O and say how it went.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from campus_safety.messaging import signing
from campus_safety.personal_data import mask_phone

log = logging.getLogger(__name__)

ANSWER_MAX_BYTES = 64 * 1024  # a gateway's answer is a small JSON object
REASON_MAX_CHARS = 200
TRANSIENT_CLIENT_ERRORS = frozenset({408, 425, 429})  # the gateway asks to come back


@dataclass(frozen=True)
class Delivery:
    """What a backend needs to send one message."""

    message_id: int
    phone: str
    text: str
    purpose: str
    idempotency_key: str


@dataclass(frozen=True)
class Outcome:
    """``sent``, ``retry`` (worth trying again) or ``failed`` (never will be)."""

    kind: str
    provider_id: str = ""
    error: str = ""

    @classmethod
    def sent(cls, provider_id: str = "") -> Outcome:
        return cls("sent", provider_id=provider_id[:100])

    @classmethod
    def retry(cls, error: str) -> Outcome:
        return cls("retry", error=_masked(error)[:REASON_MAX_CHARS])

    @classmethod
    def failed(cls, error: str) -> Outcome:
        return cls("failed", error=_masked(error)[:REASON_MAX_CHARS])


MOBILE_NUMBER = re.compile(r"(?<!\d)1\d{10}(?!\d)")


def _masked(reason: str) -> str:
    """A gateway's reason may quote the number ("invalid phone 139…"): the reason is
    shown on the SMS page and logged, so any mobile number in it is masked."""
    return MOBILE_NUMBER.sub(lambda found: mask_phone(found.group()), reason)


class Backend(Protocol):
    def send(self, delivery: Delivery) -> Outcome: ...


class LogBackend:
    """Writes the message to the log (phone masked) and calls it sent."""

    def send(self, delivery: Delivery) -> Outcome:
        log.info(
            "SMS %s (%s) to %s: %s",
            delivery.message_id,
            delivery.purpose,
            mask_phone(delivery.phone),
            delivery.text if delivery.purpose == "pickup_refused" else "[text withheld]",
        )
        return Outcome.sent(f"log-{delivery.message_id}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the 3xx it is: the signed body goes to the URL
    configured, nowhere else."""

    def redirect_request(self, *args, **kwargs):
        return None


class HttpBackend:
    """POSTs each message to the operator's SMS gateway (see the module docstring)."""

    def __init__(self, url: str, secret: str, timeout: float) -> None:
        if urllib.parse.urlsplit(url).scheme not in {"http", "https"} or not secret:
            raise ImproperlyConfigured(
                "SMS_BACKEND=http needs SMS_HTTP_URL (http:// or https://) and SMS_HTTP_SECRET"
            )
        self.url, self.secret, self.timeout = url, secret.encode(), timeout
        self.opener = urllib.request.build_opener(_NoRedirects)

    def request(self, delivery: Delivery, timestamp: str) -> urllib.request.Request:
        body = json.dumps(
            {
                "id": delivery.message_id,
                "phone": delivery.phone,
                "text": delivery.text,
                "purpose": delivery.purpose,
            },
            ensure_ascii=False,
        ).encode()
        return urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": delivery.idempotency_key,
                signing.TIMESTAMP_HEADER: timestamp,
                signing.SIGNATURE_HEADER: signing.signature(self.secret, timestamp, body),
            },
        )

    def send(self, delivery: Delivery) -> Outcome:
        # the wall clock, not clock.now(): the gateway checks it against its own (a demo
        # started at another hour would otherwise sign with a stale timestamp)
        request = self.request(delivery, str(int(time.time())))
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                answer = response.read(ANSWER_MAX_BYTES)
        except urllib.error.HTTPError as error:
            reason = _reason(error)
            error.close()
            if error.code >= 500 or error.code in TRANSIENT_CLIENT_ERRORS:
                return Outcome.retry(f"HTTP {error.code}: {reason}")
            return Outcome.failed(f"HTTP {error.code}: {reason}")
        except (TimeoutError, urllib.error.URLError, OSError) as error:  # also a reset
            return Outcome.retry(f"{type(error).__name__}: {getattr(error, 'reason', error)}")
        return Outcome.sent(_provider_id(answer))


def _reason(error: urllib.error.HTTPError) -> str:
    """The gateway's reason for a refusal: its JSON ``error``/``message``, its text, or
    the status line's phrase; one line, bounded."""
    try:
        raw = error.read(ANSWER_MAX_BYTES)
    except OSError:
        raw = b""
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            text = str(data.get("error") or data.get("message") or text)
    except ValueError:
        pass
    return " ".join((text or str(error.reason)).split())[:REASON_MAX_CHARS]


def _provider_id(answer: bytes) -> str:
    try:
        data = json.loads(answer or b"{}")
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    value = data.get("id") or data.get("message_id") or ""
    return str(value)[:100] if isinstance(value, str | int) else ""


def configured_backend() -> Backend:
    """The backend ``SMS_BACKEND`` names."""
    name = getattr(settings, "SMS_BACKEND", "log")
    if name == "log":
        return LogBackend()
    if name == "http":
        return HttpBackend(
            getattr(settings, "SMS_HTTP_URL", ""),
            getattr(settings, "SMS_HTTP_SECRET", ""),
            float(getattr(settings, "SMS_HTTP_TIMEOUT", 5)),
        )
    raise ImproperlyConfigured(f"SMS_BACKEND={name!r}: use 'log' or 'http'")
