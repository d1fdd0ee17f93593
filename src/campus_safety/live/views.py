"""``GET /live/stream`` — the one Server-Sent Events stream of a signed-in user.

First a ``live.hello`` event naming the events the stream carries. Then frames:
``id: <LiveEvent id>`` / ``event: <bus event name>`` / ``data: <JSON>``; a comment
line every ``LIVE_HEARTBEAT_SECONDS`` keeps proxies from closing an idle stream. A
reconnecting browser sends ``Last-Event-ID`` (or ``?since=<id>``) and first receives
what it missed and may see (bounded by ``LIVE_REPLAY_MINUTES`` / ``LIVE_REPLAY_MAX``; a
``live.gap`` event says "more was missed, reload"). A stream that falls behind a storm
reads what it dropped from the log in pages and goes on, without a gap (fanout.py). A
stream ends after
``LIVE_STREAM_MAX_SECONDS`` (the browser reconnects and its scope is read again), and at
once when the server stops (``fanout.end_streams``: a last comment and ``retry:``, and
the browser reconnects to the next process); ``?once=1`` sends the replay and ends
(polling, tests).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from campus_safety import clock, scoping
from campus_safety.live import addressing, fanout, recording
from campus_safety.live.models import LiveEvent

T = TypeVar("T")


async def stream(request: HttpRequest) -> HttpResponse:
    """Parse (who, since when), then stream; anonymous → 401 (EventSource stops retrying)."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("sign in first\n", status=401, content_type="text/plain")
    since = _since(request)
    once = request.GET.get("once") in {"1", "true", "yes"}
    scope = await _read(scoping.user_scope, user)
    audience = Audience(scope, addressing.addresses_of(user))
    response = StreamingHttpResponse(
        _frames(user, audience, since, once), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass frames through as they come
    return response


async def _read(function: Callable[..., T], *args: Any) -> T:
    """Run a query on the request's thread, then give its connection back: a stream
    stays open for minutes, and a connection held all that time — one per open console
    on every page — would drain the PostgreSQL pool (Django returns it only when the
    response ends). The sign-in look-up ran on the same thread and is released too."""

    def run() -> T:
        try:
            return function(*args)
        finally:
            if not connection.in_atomic_block:  # (a test's transaction keeps its own)
                connection.close()

    return await sync_to_async(run)()


@dataclass(frozen=True)
class Audience:
    """Who a stream speaks to: the user's scope, and where an addressed event reaches
    them (addressing.py: their school, unit, themselves)."""

    scope: scoping.Scope
    addresses: frozenset[str]

    def hears(self, delivery: fanout.Delivery) -> bool:
        """The stream's filter: the scope covers the event, or it is addressed to us."""
        police_only = bool(delivery.payload.get("police_only"))
        if self.scope.covers(
            delivery.school_id,
            delivery.region_code,
            delivery.police_station_id,
            police_only=police_only,
        ):
            return True
        if not delivery.recipients or (police_only and not self.scope.police):
            return False
        return not self.addresses.isdisjoint(delivery.addressees)


def _since(request: HttpRequest) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("since") or ""
    return int(raw) if raw.strip().isdigit() else None


frame = fanout.sse_frame


def frame_of(delivery: fanout.Delivery) -> str:
    return delivery.frame


def missed_events(user: Any, since: int) -> tuple[list[fanout.Delivery], bool]:
    """What ``user`` may see after ``since``, oldest first, and whether more was cut off."""
    limit = settings.LIVE_REPLAY_MAX
    cutoff = clock.now() - dt.timedelta(minutes=settings.LIVE_REPLAY_MINUTES)
    rows = list(_replayable(user).filter(pk__gt=since, at__gte=cutoff).order_by("-pk")[: limit + 1])
    is_cut = len(rows) > limit
    return [fanout.Delivery.from_row(r) for r in reversed(rows[:limit])], is_cut


def log_after(user: Any, after: int, limit: int) -> list[fanout.Delivery]:
    """A page of what ``user`` may see after id ``after``, oldest first (a stream that
    fell behind reads the log in these pages)."""
    cutoff = clock.now() - dt.timedelta(minutes=settings.LIVE_REPLAY_MINUTES)
    rows = _replayable(user).filter(pk__gt=after, at__gte=cutoff).order_by("pk")[:limit]
    return [fanout.Delivery.from_row(r) for r in rows]


def _replayable(user: Any) -> Any:
    """The log rows ``user`` may replay: those their scope covers, and those addressed
    to them (police-only ones to police users only)."""
    addressed = LiveEvent.objects.filter(addressing.addressed_q(addressing.addresses_of(user)))
    if not scoping.is_police(user):
        addressed = addressed.filter(
            Q(payload__police_only=False) | Q(payload__police_only__isnull=True)
        )
    return LiveEvent.objects.visible_to(user) | addressed


class Sent:
    """The ids a stream has sent lately: a catch-up from the log and the queue may both
    bring one."""

    KEPT = 20_000

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.order: collections.deque[int] = collections.deque()

    def __contains__(self, event_id: int) -> bool:
        return event_id in self.ids

    def add(self, event_id: int) -> None:
        self.ids.add(event_id)
        self.order.append(event_id)
        if len(self.order) > self.KEPT:
            self.ids.discard(self.order.popleft())


BATCH_FRAMES = 200  # frames written in one send when the queue holds many


async def _frames(
    user: Any, audience: Audience, since: int | None, once: bool
) -> AsyncIterator[str]:
    """Attach first, then replay, then live: nothing falls between the two."""
    loop = asyncio.get_running_loop()
    listener = None if once else fanout.attach(loop, audience.hears)
    try:
        yield f"retry: {settings.LIVE_RETRY_MS}\n\n"
        yield frame(None, "live.hello", {"events": [*recording.carried_events(), "live.gap"]})
        sent = Sent()
        if since is not None:
            missed, is_cut = await _read(missed_events, user, since)
            if is_cut:
                yield frame(None, "live.gap", {"since": since})
            for delivery in missed:
                sent.add(delivery.id)
                yield delivery.frame
        if listener is None:
            return
        deadline = loop.time() + settings.LIVE_STREAM_MAX_SECONDS
        heartbeat = settings.LIVE_HEARTBEAT_SECONDS
        while (left := deadline - loop.time()) > 0:
            try:
                delivery = await asyncio.wait_for(listener.queue.get(), min(heartbeat, left))
            except TimeoutError:
                yield f": heartbeat {clock.now().isoformat()}\n\n"
                continue
            if delivery is None and listener.is_stopping:
                yield f": server stopping, reconnect\nretry: {settings.LIVE_RETRY_MS}\n\n"
                return
            if delivery is None:  # fell behind: what it dropped is in the log
                async for chunk in _catch_up(user, listener.resume() - 1, sent):
                    yield chunk
                continue
            chunk = _take(delivery, listener, sent)
            if chunk:
                yield chunk
    finally:
        if listener is not None:
            fanout.detach(listener)


def _take(first: fanout.Delivery, listener: fanout.Listener, sent: Sent) -> str:
    """``first`` and what else waits in the queue (up to ``BATCH_FRAMES``), as one chunk:
    a storm is written in a few sends, not one per event. A ``None`` met here is put back
    for the loop."""
    frames = []
    delivery: fanout.Delivery | None = first
    while True:
        if delivery.id not in sent:
            sent.add(delivery.id)
            frames.append(delivery.frame)
        if len(frames) >= BATCH_FRAMES or listener.queue.empty():
            break
        delivery = listener.queue.get_nowait()
        if delivery is None:
            listener.queue.put_nowait(None)  # (the queue was just emptied by one: it fits)
            break
    return "".join(frames)


async def _catch_up(user: Any, after: int, sent: Sent) -> AsyncIterator[str]:
    """Everything after ``after`` from the log, page by page, skipping what was sent."""
    limit = settings.LIVE_REPLAY_MAX
    while True:
        page = await _read(log_after, user, after, limit)
        chunk = []
        for delivery in page:
            if delivery.id not in sent:
                sent.add(delivery.id)
                chunk.append(delivery.frame)
        if chunk:
            yield "".join(chunk)
        if len(page) < limit:
            return
        after = page[-1].id
