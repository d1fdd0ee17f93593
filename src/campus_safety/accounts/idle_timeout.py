"""Idle timeout without a database write on every request.

The session lives ``SESSION_COOKIE_AGE`` (the idle timeout) after it was last saved.
Saving it on every request (``SESSION_SAVE_EVERY_REQUEST``) wrote a row per page, per
htmx poll and per map layer, and a page's parallel requests then raced for the session
row (on SQLite one of them lost and answered 400). Refreshing it once a minute ends an
idle session between ``IDLE_TIMEOUT_MINUTES`` - 1 and ``IDLE_TIMEOUT_MINUTES`` after the
last request, with one write a minute per active user.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

TOUCHED_KEY = "_touched"
REFRESH_SECONDS = 60


class IdleTimeoutMiddleware:
    """Sits after SessionMiddleware: marks a live session modified once a minute."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.modified or session.is_empty():
            return response
        now = int(time.time())
        if now - int(session.get(TOUCHED_KEY, 0)) >= REFRESH_SECONDS:
            session[TOUCHED_KEY] = now  # SessionMiddleware saves it and renews the cookie
        return response
