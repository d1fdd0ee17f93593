"""Queueing and sending outbound messages — the only writers of ``OutboundMessage``.

``enqueue`` runs inside the caller's transaction: a refused pick-up that rolls back
leaves no message behind, so nothing is ever sent about an action that did not happen.
The same ``key`` enqueued twice is one message (a unique constraint, not a cache).

``send_due`` is the periodic job (``tasks.py``). Delivery is **at most one send in
flight per message, at least once across crashes, deduplicated by the gateway**:

1. due pending messages are claimed in a transaction of their own and committed as
   ``sending`` (attempt + 1) *before* any network call — ``SELECT … FOR UPDATE SKIP
   LOCKED`` on PostgreSQL, a conditional UPDATE per row on SQLite (whose writers run
   one at a time) — so two job processes never send one message at the same time;
2. the backend sends outside any transaction (a slow gateway holds no lock);
3. the outcome is written only if the row is still this claim's (``sending``, this
   attempt).

A process that dies between 1 and 3 leaves the row ``sending``; after
``SMS_SENDING_STALE_SECONDS`` it is queued again and sent with the *same*
``Idempotency-Key``. We chose this over "never resend" because a crash before the
request left would otherwise lose a pick-up refusal silently, and the gateway can
drop the duplicate of one that did leave, by its key. Each attempt counts towards
``SMS_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q

from campus_safety import clock, personal_data
from campus_safety.messaging.backends import Backend, Delivery, Outcome, configured_backend
from campus_safety.messaging.models import TEXT_MAX_LENGTH, OutboundMessage

log = logging.getLogger(__name__)
State = OutboundMessage.State
Purpose = OutboundMessage.Purpose


def max_attempts() -> int:
    return max(1, int(getattr(settings, "SMS_MAX_ATTEMPTS", 5)))


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff after the ``attempts``-th failed try: base, 2×, 4× … ≤ 1 h."""
    base = float(getattr(settings, "SMS_RETRY_SECONDS", 30))
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600.0))


def stale_seconds() -> float:
    return float(getattr(settings, "SMS_SENDING_STALE_SECONDS", 300))


def mobile_number(phone: str) -> str:
    """The phone as an 11-digit mainland mobile number (what an SMS can reach), or ""."""
    number = personal_data.normalise(phone or "").removeprefix("+86")
    return number if number.isdigit() and len(number) == 11 and number[0] == "1" else ""


def signed(text: str) -> str:
    """The text with the platform's SMS signature (【…】) in front, as carriers require."""
    name = getattr(settings, "SMS_SIGNATURE", "")
    return f"【{name}】{text}" if name else text


def enqueue(
    *,
    purpose: str,
    phone: str,
    text: str,
    recipient: str,
    key: str,
    school: Any = None,
    now: dt.datetime | None = None,
) -> OutboundMessage | None:
    """Queue an SMS to ``phone`` in the caller's transaction; sent by ``send_due`` once
    it commits. None when ``phone`` is no mobile number (nothing can be sent); the
    message already queued under ``key``, if there is one."""
    if not connection.in_atomic_block:
        raise RuntimeError("enqueue() belongs inside the transaction of the action it reports")
    if purpose not in Purpose.values:
        raise ValueError(f"unknown message purpose {purpose!r}")
    text = signed(text)
    if not text or len(text) > TEXT_MAX_LENGTH:
        raise ValueError(f"an SMS text is 1 to {TEXT_MAX_LENGTH} characters")
    number = mobile_number(phone)
    if not number:
        return None
    existing = OutboundMessage.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    now = now or clock.now()
    message = OutboundMessage(
        purpose=purpose,
        school=school,
        recipient=recipient[:64],
        phone=number,
        text=text,
        idempotency_key=key,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin leaves ours intact
            message.save()
    except IntegrityError:
        return OutboundMessage.objects.get(idempotency_key=key)
    return message


def requeue_stale(now: dt.datetime) -> int:
    """Messages left ``sending`` by a process that died go back to the queue (or fail,
    when their attempts are spent); the gateway drops a duplicate by its key."""
    cutoff = now - dt.timedelta(seconds=stale_seconds())
    stale = OutboundMessage.objects.filter(state=State.SENDING, claimed_at__lt=cutoff)
    spent = stale.filter(attempts__gte=max_attempts())
    failed = _finish(spent, State.FAILED, error="interrupted while sending", now=now)
    queued = stale.filter(attempts__lt=max_attempts()).update(
        state=State.PENDING, next_attempt_at=now, claimed_at=None
    )
    if failed or queued:
        log.warning("SMS: %s interrupted message(s) queued again, %s given up", queued, failed)
    return failed + queued


def claim_due(now: dt.datetime, limit: int) -> list[OutboundMessage]:
    """Take up to ``limit`` due pending messages for this process, committed as
    ``sending`` (attempt + 1) before anything is sent."""
    with transaction.atomic():
        due = OutboundMessage.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
        due = due.order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        claimed = [
            pk
            for pk in ids
            if OutboundMessage.objects.filter(pk=pk, state=State.PENDING).update(
                state=State.SENDING, attempts=F("attempts") + 1, claimed_at=now
            )
        ]
    return list(OutboundMessage.objects.filter(pk__in=claimed).order_by("next_attempt_at", "pk"))


def _finish(rows: Any, state: str, *, now: dt.datetime, error: str = "", **fields: Any) -> int:
    """Write a final state; a code's or a link's text goes with it."""
    count = rows.filter(~Q(purpose__in=OutboundMessage.SECRET_PURPOSES)).update(
        state=state, last_error=error, claimed_at=None, **fields
    )
    count += rows.filter(purpose__in=OutboundMessage.SECRET_PURPOSES).update(
        state=state, last_error=error, claimed_at=None, text="", **fields
    )
    return count


def record_outcome(message: OutboundMessage, outcome: Outcome, now: dt.datetime) -> str:
    """Write how the attempt went, if the row is still this claim's; returns the state
    written ("" when the claim was lost)."""
    mine = OutboundMessage.objects.filter(
        pk=message.pk, state=State.SENDING, attempts=message.attempts
    )
    if outcome.kind == "sent":
        done = _finish(mine, State.SENT, now=now, sent_at=now, provider_id=outcome.provider_id)
        return State.SENT if done else ""
    if outcome.kind == "retry" and message.attempts < max_attempts():
        done = mine.update(
            state=State.PENDING,
            claimed_at=None,
            last_error=outcome.error,
            next_attempt_at=now + retry_delay(message.attempts),
        )
        return State.PENDING if done else ""
    error = outcome.error
    if outcome.kind == "retry":
        error = f"gave up after {message.attempts} attempts: {error}"[:200]
    return State.FAILED if _finish(mine, State.FAILED, now=now, error=error) else ""


def send_one(message: OutboundMessage, backend: Backend) -> Outcome:
    delivery = Delivery(
        message_id=message.pk,
        phone=message.phone,
        text=message.text,
        purpose=message.purpose,
        idempotency_key=message.idempotency_key,
    )
    try:
        return backend.send(delivery)
    except Exception as error:  # a backend's bug must not leave the row "sending"
        log.exception("SMS %s: the backend failed", message.pk)
        return Outcome.retry(f"{type(error).__name__}: {error}")


def send_due(
    now: dt.datetime | None = None,
    *,
    backend: Backend | None = None,
    batch: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Send every message due at ``now``; returns how many ended in each state."""
    now = now or clock.now()
    backend = backend or configured_backend()
    batch = batch or int(getattr(settings, "SMS_BATCH", 50))
    counts = {State.SENT: 0, State.PENDING: 0, State.FAILED: 0}
    requeue_stale(now)
    while not should_stop():
        claimed = claim_due(now, batch)
        if not claimed:
            break
        for message in claimed:
            outcome = send_one(message, backend)
            state = record_outcome(message, outcome, clock.now())
            if state:
                counts[state] += 1
            if state == State.FAILED:
                log.warning("SMS %s failed: %s", message.pk, outcome.error)
    return {str(k): v for k, v in counts.items()}
