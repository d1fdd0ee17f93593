"""The sender job and the messages' retention (runtime.py runs every app's ``TASKS``;
retention.py every app's ``RETENTION``).

Retention (PIPL: no longer than the purpose needs): a message — a masked recipient, an
encrypted phone, a text whose codes and links are already wiped — is kept
``SMS_RETENTION_DAYS`` (180) days, long enough to answer "was the guardian told?";
``DATA_RETENTION_DAYS["messaging_sms"]`` overrides it like every kind.
"""

from __future__ import annotations

import asyncio

from django.conf import settings

from campus_safety import clock, periodic
from campus_safety.messaging.services import send_due
from campus_safety.retention import Policy


async def run_sender_loop(stop: asyncio.Event, interval: float | None = None) -> None:
    """Send due messages every ``SMS_SEND_SECONDS`` (10 s) until ``stop``."""
    await periodic.run_every(
        stop,
        interval or float(getattr(settings, "SMS_SEND_SECONDS", 10)),
        lambda: send_due(clock.now(), should_stop=stop.is_set),
        "sms-sender",
    )


TASKS = [periodic.Task("sms-sender", run_sender_loop)]
RETENTION = [
    Policy(
        "messaging_sms",
        "messaging.OutboundMessage",
        "created_at",
        int(getattr(settings, "SMS_RETENTION_DAYS", 180)),
        1,
    )
]
