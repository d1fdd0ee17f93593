import threading

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

from tests.ui.chromium import launched


@pytest.fixture
def browser():
    with launched() as browser:
        yield browser


@pytest.fixture(autouse=True)
def short_live_streams(request, settings):
    """Pages open the live stream. pytest-django's live server is WSGI: it sends a stream
    only when it ends (LIVE_STREAM_MAX_SECONDS, minutes), and until then the request's
    thread keeps the database connection it signed the user in with. Every page load
    would hold one more, until PostgreSQL's pool (DATABASE_POOL_SIZE) runs dry and
    pages wait 10 s and fail. Streams there end after a second; the browser reconnects.
    (The alarm-console test serves ASGI with uvicorn, where streams stream.)"""
    if "live_server" in request.fixturenames:
        settings.LIVE_STREAM_MAX_SECONDS = 1


def one_request_at_a_time(app):
    """Serve requests one by one. The live stream (which lasts minutes) takes its turn to
    start and to finish (view, middleware, session, request_finished), not while it
    streams: its frames need no database unless the browser reconnects."""
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            response = app(environ, start_response)
            if not environ.get("PATH_INFO", "").startswith("/live/"):
                try:
                    return [b"".join(response)]
                finally:
                    if hasattr(response, "close"):
                        response.close()
        return Streaming(response, lock)

    return serialised


class Streaming:
    """A response body iterated without the lock, closed under it."""

    def __init__(self, response, lock: threading.Lock) -> None:
        self.response, self.lock = response, lock

    def __iter__(self):
        return iter(self.response)

    def close(self) -> None:
        if hasattr(self.response, "close"):
            with self.lock:
                self.response.close()


class SharedConnectionServer(ThreadedWSGIServer):
    """The live server (pytest-django's ``live_server``) for SQLite's in-memory test
    database. There Django hands the test's one database connection to every request
    thread, and one sqlite3 connection cannot run two requests' transactions at once:
    a browser loading a page fetches several URLs in parallel, and one of them fails
    ("cannot start a transaction within a transaction"), more often the busier the
    machine. So requests take turns; on PostgreSQL (no shared connection) they do not."""

    def set_app(self, application):
        if self.connections_override:
            application = one_request_at_a_time(application)
        super().set_app(application)


LiveServerThread.server_class = SharedConnectionServer


@pytest.fixture
def intel_officer(transactional_db, clock):
    """A police officer of a 德城区 station with a confirmed TOTP device, and two of its
    schools 2 km apart, on 2026-11-20 15:00 (the intel browser tests)."""
    import datetime as dt

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.alarms.support import station_chain
    from tests.factories import CountyFactory, UserFactory
    from tests.intel.support import at, schools_grid

    county = CountyFactory(code="371402", name="德城区")
    station = station_chain(county)
    schools = schools_grid(county, station, n=2, spacing_km=2.0)
    clock.start_at(at(dt.date(2026, 11, 20), 15))
    user = UserFactory(
        username="officer", role="police_officer", organisation=station, display_name="民警"
    )
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True), schools
