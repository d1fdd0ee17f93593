"""``POST /api/v1/ingest``: a signed batch of events from one device (ARCHITECTURE.md §5).

Headers: ``X-Device-Id``; ``X-Timestamp`` (Unix seconds or RFC 3339); ``X-Signature`` =
hex HMAC-SHA256 with the device's secret over ``timestamp + "\\n" + raw body``. A request
older or newer than the replay window is refused, and a replay inside it only finds
its events already stored (deduplicated on (device, event_id)). The answer comes after
the commit and lists the fate of every event: 200 when all were stored (now or
before), 207 when some were rejected — the good ones are kept either way.

``handle`` does the work and knows nothing of the transport: ``serve`` answers this path
with the lean ASGI app in ``http_asgi.py`` (no sessions, CSRF or sign-in middleware on a
device's hot path); the Django view below serves it everywhere else (tests, WSGI).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from campus_safety import clock
from campus_safety.audit.actor import client_ip
from campus_safety.gateway import committer, credentials, ingest
from campus_safety.gateway.contract import signature_matches

log = logging.getLogger(__name__)

UNIX_SECONDS = re.compile(r"^\d{9,11}(\.\d{1,6})?$")
CHALLENGE = {"WWW-Authenticate": 'HMAC-SHA256 realm="campus-safety ingest"'}
# (status, JSON answer, extra headers): what any transport sends back.
Answer = tuple[int, dict[str, Any], dict[str, str]]


def refuse(status: int, reason: str) -> Answer:
    return status, {"error": reason}, CHALLENGE if status == 401 else {}


def parse_request_time(value: str) -> dt.datetime | None:
    """``X-Timestamp``: Unix seconds or RFC 3339 with an offset; None if neither."""
    value = value.strip()
    if UNIX_SECONDS.match(value):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    try:
        return ingest.parse_timestamp(value, "X-Timestamp")
    except ingest.InvalidEvent:
        return None


def _secret(device_id: str) -> str | None:
    """An approved device's signing secret, read once and then kept in memory."""
    known = credentials.cached(device_id)
    if known is credentials.MISSING:
        known = credentials.load(device_id)
    return _secret_in(known)


def _secret_in(known: object) -> str | None:
    return None if known is None else cast("credentials.Credentials", known).secret


def _authenticate(
    headers: Mapping[str, str], body: bytes, secret_of: Callable[[str], str | None]
) -> tuple[str, Answer | None]:
    """The device ID, or a 401 answer saying why not."""
    device_id = headers.get("x-device-id", "").strip()
    timestamp = headers.get("x-timestamp", "")
    sent = headers.get("x-signature", "").strip().lower()
    if not device_id or not timestamp or not sent:
        return device_id, refuse(401, "X-Device-Id, X-Timestamp and X-Signature are required")
    at = parse_request_time(timestamp)
    if at is None:
        return device_id, refuse(401, "X-Timestamp is neither Unix seconds nor RFC 3339")
    window = settings.INGEST_HTTP_REPLAY_WINDOW_SECONDS
    if abs((clock.now() - at).total_seconds()) > window:
        return device_id, refuse(401, f"X-Timestamp is outside the {window} s replay window")
    secret = secret_of(device_id)
    if secret is None:
        return device_id, refuse(401, "unknown or unapproved device")
    if not secret:
        return device_id, refuse(401, "device has no signing secret")
    if not signature_matches(secret, timestamp, body, sent):
        return device_id, refuse(401, "bad signature")
    return device_id, None


def _events(data: Any, device_id: str) -> list[Any] | Answer:
    if not isinstance(data, dict):
        return refuse(400, "body must be a JSON object")
    if data.get("device_id") != device_id:
        return refuse(400, "device_id in the body must match X-Device-Id")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        return refuse(400, "events must be a non-empty list")
    if len(events) > settings.INGEST_HTTP_MAX_EVENTS:
        return refuse(400, f"at most {settings.INGEST_HTTP_MAX_EVENTS} events per batch")
    return events


@dataclass
class Batch:
    """An authenticated, parsed request: its events, and the messages to store."""

    device_id: str
    events: list[Any]
    messages: list[ingest.DeviceMessage]
    positions: list[int]  # each message's index in ``events``
    results: list[ingest.Result | None]  # filled for events refused before storing


def handle(headers: Mapping[str, str], body: bytes | None, remote: str) -> Answer:
    """Authenticate, parse, ingest, answer per event — after the commit. ``headers`` has
    lower-case names; ``body`` is None when it was larger than the limit."""
    batch = accept(headers, body, remote, _secret)
    if not isinstance(batch, Batch):
        return batch
    try:
        stored = committer.commit(batch.messages, timeout=settings.INGEST_HTTP_COMMIT_TIMEOUT)
    except (DatabaseError, TimeoutError, RuntimeError) as exc:
        return not_committed(batch, exc)
    return answer(batch, stored)


async def handle_async(headers: Mapping[str, str], body: bytes | None, remote: str) -> Answer:
    """``handle`` for the event loop (the lean ASGI route): the signing secret comes
    from memory and the loop waits for the writer thread's commit — no worker thread,
    and no query unless a device's secret is not cached yet."""
    device_id = headers.get("x-device-id", "").strip()
    known = credentials.cached(device_id)
    if known is credentials.MISSING:
        known = await sync_to_async(_load_credentials, thread_sensitive=False)(device_id)
    secret = _secret_in(known)
    batch = accept(headers, body, remote, lambda _device_id: secret)
    if not isinstance(batch, Batch):
        return batch
    try:
        stored = await asyncio.wait_for(
            committer.commit_async(batch.messages), settings.INGEST_HTTP_COMMIT_TIMEOUT
        )
    except (DatabaseError, TimeoutError, RuntimeError) as exc:
        return not_committed(batch, exc)
    return answer(batch, stored)


def _load_credentials(device_id: str) -> credentials.Credentials | None:
    try:
        return credentials.load(device_id)
    finally:
        if not connection.in_atomic_block:  # (a test's transaction keeps its own)
            connection.close()  # a pool thread must not keep a connection between requests


def not_committed(batch: Batch, exc: Exception) -> Answer:
    """Not committed (or not known to be): the device keeps the batch and resends it;
    what did get stored meanwhile comes back as duplicate."""
    log.warning("HTTP ingest from %s not committed: %s", batch.device_id, exc)
    return refuse(503, "events not stored yet; send the batch again")


def accept(
    headers: Mapping[str, str],
    body: bytes | None,
    remote: str,
    secret_of: Callable[[str], str | None],
) -> Batch | Answer:
    """Everything before the commit: size, signature, JSON, each event's shape."""
    if body is None:
        return refuse(413, f"body larger than {settings.INGEST_HTTP_MAX_BYTES} bytes")
    device_id, refusal = _authenticate(headers, body, secret_of)
    if refusal is not None:
        return refusal
    try:
        data = ingest.load_json(body, settings.INGEST_HTTP_MAX_BYTES)
    except ingest.InvalidEvent as exc:
        return refuse(400, exc.reason)
    events = _events(data, device_id)
    if isinstance(events, tuple):
        return events
    results: list[ingest.Result | None] = [None] * len(events)
    messages, positions = [], []
    for index, item in enumerate(events):
        try:
            kind = item.get("kind") if isinstance(item, dict) else None
            messages.append(ingest.event_from_dict(device_id, kind, item, "http", remote))
            positions.append(index)
        except ingest.InvalidEvent as exc:
            results[index] = ingest.Result(ingest.REJECTED, exc.reason)
    return Batch(device_id, events, messages, positions, results)


def answer(batch: Batch, stored: list[ingest.Result]) -> Answer:
    """The answer per event, once its messages are committed."""
    results = list(batch.results)
    for index, result in zip(batch.positions, stored, strict=True):
        results[index] = result
    answer = []
    for index, (item, result) in enumerate(zip(batch.events, results, strict=True)):
        event_id = item.get("event_id") if isinstance(item, dict) else None
        echoed = isinstance(event_id, str | int) and not isinstance(event_id, bool)
        answer.append(
            {
                "index": index,
                "event_id": event_id if echoed else None,  # as sent: the device matches it
                "outcome": result.outcome,
                "reason": result.reason,
            }
        )
    counts = {o: sum(1 for r in answer if r["outcome"] == o) for o in ingest.OUTCOMES}
    status = 207 if counts[ingest.REJECTED] else 200
    return status, {"device_id": batch.device_id, **counts, "results": answer}, {}


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or None when it is larger than ``limit`` (read no further)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt
@require_POST
def ingest_batch(request: HttpRequest) -> JsonResponse:
    """The Django view of ``handle``."""
    body = _read_body(request, settings.INGEST_HTTP_MAX_BYTES)
    headers = {name.lower(): value for name, value in request.headers.items()}
    status, answer, extra = handle(headers, body, client_ip(request) or "")
    response = JsonResponse(answer, status=status)
    for name, value in extra.items():
        response[name] = value
    return response
