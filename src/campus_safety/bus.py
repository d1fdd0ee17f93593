"""The event bus: what happened, announced after it is committed.

In one process (embedded mode) subscribers are called in-process. With ``REDIS_URL``
set every event is also published on a Redis channel, and each process relays what
other processes published to its own subscribers, so a live console attached to any
web process hears every gateway. Event names live in ``EVENTS`` (and docs/events.md);
publishing an unknown name is a bug and raises.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from campus_safety import redis_relay

log = logging.getLogger(__name__)

EVENTS = {
    "device.online": "a device came online (first keepalive/registration after offline)",
    "device.offline": "a device missed its keepalive deadline",
    "device.fault": "a device reported a fault or has been offline beyond the fault limit",
    "device.flapping": "a device changed state too often; further flaps are not announced",
    "device.registered": "a GB/T 28181 device registered (or re-registered)",
    "device.pending": "an unknown device asked to register and waits for approval",
    "device.channels": "a device's catalog (its channels) was updated",
    "alarm.event": "a device alarm event was committed (deduplicated)",
    "alarm.case_opened": "an alarm event opened a new alarm case (received, or test in a drill)",
    "alarm.case_updated": "an alarm case gained an event or a person moved it a step on",
    "alarm.case_closed": "a person closed an alarm case (resolved / false alarm / test)",
    "alarm.escalated": "an alarm case went up a level (unacknowledged, or arrival overdue)",
    # Crackdown and early warning (issue #18).
    "intel.alert": "the daily scan found a space-time cluster past the threshold: an alert",
    "intel.alert_updated": "a person acknowledged, assessed or closed an early-warning alert",
    "intel.group": "group detection found a new group of linked persons (police only)",
    "hazard.reminder": "a hazard's deadline is near: its responsible party is reminded",
    "hazard.escalated": "an overdue hazard went to the responsible party's supervisor (督办)",
    "patrol.scan": "a guard-tour checkpoint scan was committed",
    "patrol.alarm": "a checkpoint was not reached in its window: a patrol alarm to the school",
    "patrol.alarm_escalated": "a patrol alarm nobody acknowledged went to the police station",
    "patrol.alarm_updated": "a person acknowledged or resolved a patrol alarm",
    "post.checked_in": "someone checked in or out at a 护学岗 gate post",
    # The gate (issue #17); a watch-list hit reaches consoles as its police-only alarm case.
    "gate.visit_checked_in": "a visitor was registered at a school gate (on campus or held)",
    "gate.visit_checked_out": "a visitor left through the gate",
    "gate.overstay": "a visitor is still inside past the expected duration or closing time",
    "gate.vehicle_passed": "a vehicle entered or left through the gate (guard or ANPR camera)",
    "gate.pickup": "a child was released at the gate, or a pick-up was refused or held",
    "gate.pickup_refused": "a refused pick-up: the class teacher and guardians were notified",
    "gate.watchlist_hit": "a watch-listed person or plate came to a gate (police only)",
    "notice.published": "a notice or safety warning was sent: one event, to its schools",
    "notice.reminder": "schools that have not confirmed, units that have not forwarded: reminded",
    "notice.receipt": "a school read or confirmed its copy of a notice (live stream)",
    "notice.relay": "a unit read or forwarded a notice passed to it (to the chain's senders)",
    # Online inspection (issue #19).
    "inspection.completed": "the daily online inspection scored every school for a day",
    "inspection.camera_fault": "video quality diagnosis found a new picture fault on a camera",
    "inspection.notice_issued": "a rectification notice went to a school (daily, patrol or VQD)",
}
CHANNEL = "campus-safety:events"
Handler = Callable[[str, dict[str, Any]], None]
Event = tuple[str, dict[str, Any]]

_subscribers: dict[str, list[Handler]] = defaultdict(list)
_in_transaction: list[Callable[[list[Event]], list[bool]]] = []
_lock = threading.Lock()
_local = threading.local()
_origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
_redis = None


class UnknownEvent(ValueError):
    pass


def subscribe(name: str, handler: Handler) -> Callable[[], None]:
    """Call ``handler(name, payload)`` for event ``name`` (or ``"*"``); returns unsubscribe."""
    if name != "*" and name not in EVENTS:
        raise UnknownEvent(name)
    with _lock:
        _subscribers[name].append(handler)
    _ensure_relay()

    def unsubscribe() -> None:
        with _lock:
            if handler in _subscribers[name]:
                _subscribers[name].remove(handler)

    return unsubscribe


def subscribe_in_transaction(handler: Callable[[list[Event]], list[bool]]) -> None:
    """Call ``handler(events)`` inside the publishing transaction (an outbox) with the
    ``(name, payload)`` pairs published together: what it writes commits or rolls back
    with the events themselves, so a crash right after the commit cannot lose them. It
    returns, per event, whether it took it; the after-commit delivery then tells
    subscribers so (``is_recorded``). One call per batch keeps a burst of alarms to a
    few statements instead of a few per alarm."""
    with _lock:
        if handler not in _in_transaction:
            _in_transaction.append(handler)


def is_recorded() -> bool:
    """True inside a handler for an event an in-transaction subscriber already wrote."""
    return getattr(_local, "recorded", False)


def _deliver(name: str, payload: dict[str, Any]) -> None:
    with _lock:
        handlers = [*_subscribers.get(name, ()), *_subscribers.get("*", ())]
    for handler in handlers:
        try:
            handler(name, payload)
        except Exception:  # one broken subscriber must not silence the others
            log.exception("bus subscriber failed on %s", name)


def _redis_client():
    global _redis
    if _redis is None and settings.REDIS_URL:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    return _redis


def publish(name: str, **payload: Any) -> None:
    """Announce now. Domain code wants ``publish_on_commit``."""
    _publish(name, payload, recorded=False)


def _publish(name: str, payload: dict[str, Any], *, recorded: bool) -> None:
    if name not in EVENTS:
        raise UnknownEvent(name)
    _local.recorded = recorded
    try:
        _deliver(name, payload)
    finally:
        _local.recorded = False
    client = _redis_client()
    if client is not None:
        message = json.dumps(
            {"origin": _origin, "name": name, "payload": payload}, default=str, ensure_ascii=False
        )
        try:
            client.publish(CHANNEL, message)
        except Exception:
            log.exception("could not publish %s to Redis", name)


def publish_on_commit(name: str, **payload: Any) -> None:
    """Announce once the current transaction commits; a rollback announces nothing."""
    publish_many_on_commit([(name, payload)])


def publish_many_on_commit(events: list[Event], *, isolated: bool = True) -> None:
    """``publish_on_commit`` for several events at once, in order.

    In-transaction subscribers run now, each in a savepoint: one that fails is logged
    and its work rolled back alone, never the caller's (an alarm is not refused because
    the live log could not be written; the after-commit path records it then).
    ``isolated=False`` saves the savepoints' round trips for a caller that redoes its
    whole transaction on any error: a subscriber's failure then propagates."""
    events = [(name, payload) for name, payload in events]
    for name, _payload in events:
        if name not in EVENTS:
            raise UnknownEvent(name)
    if not events:
        return
    recorded = [False] * len(events)
    with _lock:
        handlers = list(_in_transaction)
    for handler in handlers:
        if not isolated:
            taken = handler(events)
            recorded = [was or bool(now) for was, now in zip(recorded, taken, strict=True)]
            continue
        try:
            with transaction.atomic():
                taken = handler(events)
        except Exception:
            log.exception("in-transaction subscriber failed on %s", events[0][0])
            continue
        recorded = [was or bool(now) for was, now in zip(recorded, taken, strict=True)]

    def announce() -> None:
        for (name, payload), was_recorded in zip(events, recorded, strict=True):
            _publish(name, dict(payload), recorded=was_recorded)

    transaction.on_commit(announce)


def _ensure_relay() -> None:
    """With Redis, hear other processes' events (redis_relay: one thread, reconnecting)."""
    if settings.REDIS_URL:
        redis_relay.relay(settings.REDIS_URL).listen(CHANNEL, _relay_message)


def _relay_message(data: Any) -> None:
    try:
        message = json.loads(data)
    except (TypeError, ValueError):
        log.warning("ignoring a malformed bus message")
        return
    if (
        isinstance(message, dict)
        and message.get("origin") != _origin
        and message.get("name") in EVENTS
    ):
        _deliver(message["name"], message.get("payload") or {})


def is_relayed() -> bool:
    """True inside a handler called for another process's event (relayed from Redis), so a
    subscriber that records events can leave the writing to the publishing process."""
    return redis_relay.is_relay_thread()
