"""``POST /api/v1/ingest`` as a lean ASGI app in front of Django (``serve`` uses it).

A device's signed batch needs none of what a person's request goes through — session,
CSRF, sign-in, 2FA, locale and audit middleware, and a thread per request — which cost
more than storing the alarm itself. This app reads the size-limited body, checks the
signature with the device's secret from memory and waits for the ingestion writer's
commit, all on the event loop (``http_ingest.handle_async``; the checks are the Django
view's own); every other path goes to Django unchanged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

from campus_safety.audit.actor import peer_address
from campus_safety.gateway import http_ingest

log = logging.getLogger(__name__)

PATH = "/api/v1/ingest"
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class Disconnected(Exception):
    """The device hung up before its body arrived: nothing to answer."""


def with_ingest(django: App) -> App:
    """The ASGI application: the ingest path here, everything else to ``django``."""

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            await ingest(scope, receive, send)
        else:
            await django(scope, receive, send)

    return application


async def ingest(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["method"] != "POST":
        await _answer(send, (405, {"error": "use POST"}, {"Allow": "POST"}))
        return
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    try:
        body = await read_body(receive, headers, settings.INGEST_HTTP_MAX_BYTES)
    except Disconnected:
        return
    client = scope.get("client")
    remote = peer_address(headers.get("x-forwarded-for", ""), client[0] if client else None)
    try:
        answer = await http_ingest.handle_async(headers, body, remote or "")
    except Exception:
        log.exception("HTTP ingest failed")
        answer = (500, {"error": "internal error; send the batch again"}, {})
    await _answer(send, answer)


async def read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``limit`` (read no further)."""
    try:
        if int(headers.get("content-length") or 0) > limit:
            return None
    except ValueError:
        pass
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, answer: http_ingest.Answer) -> None:
    status, data, extra = answer
    body = json.dumps(data, ensure_ascii=False).encode()
    headers = [
        *HEADERS,
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
