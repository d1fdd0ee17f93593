"""The command-centre big screen in headless Chromium over a real ASGI server: an alarm
sent during the test appears without a reload, and after the server is stopped (the
screen says it is reconnecting) and started again, the screen recovers by itself and
shows what happened while the server was down."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety import clock
from campus_safety.simulator.ports import free_port
from tests.devices.support import DeviceFactory
from tests.factories import CountyFactory, SchoolFactory, UserFactory, city_region
from tests.ui.chromium import CHROMIUM, launched, screenshot
from tests.ui.test_alarm_console import (
    directory,  # noqa: F401  (fixture: the gateway's device directory)
    one_request_at_a_time,
    press_alarm_button,
    read_uncommitted,
    wait_for_stream,
)
from tests.ui.test_browser import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


@pytest.fixture
def city(transactional_db, settings):
    settings.REPORTS_SCREEN_POLL_SECONDS = 2
    settings.REPORTS_SCREEN_STALE_SECONDS = 6
    county = CountyFactory(code="371402", name="德城区", parent=city_region())
    school = SchoolFactory(region=county, name="德城区实验小学", longitude=116.30, latitude=37.45)
    device = DeviceFactory(school=school, key_area="entrance", name="大门一键报警")
    second = DeviceFactory(school=SchoolFactory(region=county, name="德城区第二小学"))
    user = UserFactory(username="dispatcher", role="dispatcher", region=city_region())
    totp = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return SimpleNamespace(device=device, second=second, user=user, totp=totp)


class Server:
    """uvicorn serving the ASGI app on one port, stopped and started again at will."""

    def __init__(self) -> None:
        import uvicorn
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
        from django.core.asgi import get_asgi_application

        app = ASGIStaticFilesHandler(get_asgi_application())
        if connection.vendor == "sqlite":
            connection_created.connect(read_uncommitted)
            connection.ensure_connection()
            read_uncommitted(connection=connection)
            app = one_request_at_a_time(app)
        self.app, self.port, self.uvicorn = app, free_port(), uvicorn
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = self.thread = None

    def start(self) -> None:
        from campus_safety.live import fanout

        fanout.accept_streams()  # a server started anew (stop() ended the last one's)
        config = self.uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        self.server = self.uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started, "uvicorn did not start"

    def stop(self) -> None:
        from campus_safety.live import fanout

        fanout.end_streams()  # as serve does on shutdown: the browser reconnects
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def server(city, settings, monkeypatch):
    settings.ALLOWED_HOSTS = ["*"]
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    running = Server()
    running.start()
    yield running
    if running.server is not None and not running.server.should_exit:
        running.stop()
    from campus_safety.live import fanout

    fanout.accept_streams()  # this worker's later tests serve streams again
    connection_created.disconnect(read_uncommitted)


@pytest.fixture
def page(server):
    with launched() as browser:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
        tab = context.new_page()
        tab.errors = []
        tab.on("pageerror", lambda e: tab.errors.append(str(e)))
        yield tab
        context.close()
    connection.close()


def test_the_big_screen_shows_a_new_alarm_live_and_recovers_after_a_restart(
    django_db_setup,
    city,
    directory,  # noqa: F811
    server,
    page,
):
    sign_in(page, server, {"device": city.totp})
    page.goto(f"{server.url}/big-screen/")
    page.wait_for_selector("#bs-connection[data-state=live]")
    page.wait_for_selector("#bs-alarm-list li.none")
    wait_for_stream()

    started = time.perf_counter()
    press_alarm_button(city.device)
    page.wait_for_selector("#bs-alarm-list li[data-case-id]", timeout=10_000)
    latency = time.perf_counter() - started
    print(f"\nalarm on the big screen {latency * 1000:.0f} ms after ingestion")
    assert latency < 5.0  # typically well under 1 s; room for a loaded CI machine
    assert "德城区实验小学" in page.inner_text("#bs-alarm-list")
    assert page.inner_text("#bs-open-alarms") == "1"
    page.wait_for_selector("#bs-map[data-markers='1']")
    navigations = page.evaluate("performance.getEntriesByType('navigation').length")

    server.stop()
    page.wait_for_selector("#bs-connection[data-state=reconnecting]", timeout=15_000)
    press_alarm_button(city.second, event_id="second-1")  # while the server is down
    server.start()
    page.wait_for_selector("#bs-connection[data-state=live]", timeout=30_000)
    page.wait_for_function(
        "document.querySelectorAll('#bs-alarm-list li[data-case-id]').length === 2",
        timeout=30_000,
    )
    assert "德城区第二小学" in page.inner_text("#bs-alarm-list")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == navigations
    assert page.url.endswith("/big-screen/")
    assert not page.errors, page.errors
    screenshot(page, "big-screen-after-restart")


def test_the_big_screen_paints_its_figures_from_the_page_before_any_fetch_answers(
    django_db_setup, city, server, page
):
    """A screen opened on a busy city shows figures at once: the page comes with them
    (the scope's kept snapshot, the alarms counted now), and the fresh parts it then
    fetches fill in when they come — here they are held back until the figures show."""
    from campus_safety.alarms.models import AlarmCase
    from campus_safety.inspections.models import DailyResult
    from campus_safety.reports import screen_snapshot
    from campus_safety.workforce.staffing import get_rule
    from tests.reports.test_big_screen import alert_at

    now = clock.now()
    school = city.device.school
    alert_at(school, reference="YJ-1", kind="theft")
    DailyResult.objects.create(school=school, day=now.date(), ruleset="default", score=48.0)
    row = screen_snapshot.viewed(city.user, "", get_rule(), now)
    screen_snapshot.refresh(row, now)
    AlarmCase.objects.create(
        school=city.device.school, device=city.device, opened_at=now, last_event_at=now, priority=1
    )
    held = []
    page.route("**/big-screen/*.json", lambda route: held.append(route))
    sign_in(page, server, {"device": city.totp})
    started = time.perf_counter()
    page.goto(f"{server.url}/big-screen/")
    page.wait_for_selector("body[data-first=snapshot]")
    page.wait_for_selector("#bs-kpi-table tbody tr")
    print(f"\nfirst figures on the big screen {(time.perf_counter() - started) * 1000:.0f} ms")
    assert held, "the page fetched nothing"  # the fetches are there, held unanswered
    assert page.inner_text("#bs-open-alarms") == "1"  # counted when the page was made
    assert "德城区实验小学" in page.inner_text("#bs-alarm-list")
    assert "德城区" in page.inner_text("#bs-kpi-table")
    assert page.inner_text("#bs-devices-total").startswith("0 / 2")
    assert "盗窃 · 德城区实验小学" in page.inner_text("#bs-alerts")  # an open cluster
    assert "德城区实验小学\n48.0" in page.inner_text("#bs-ranking-schools")  # the lowest
    assert "德城区\n48.0" in page.inner_text("#bs-ranking-districts")
    assert page.locator(".bs-watch li.bad").count() == 2  # district and school below 60
    screenshot(page, "big-screen-first-paint-1920")
    page.set_viewport_size({"width": 3840, "height": 2160})  # a 4K wall: scaled by rem
    screenshot(page, "big-screen-first-paint-3840")
    page.set_viewport_size({"width": 1920, "height": 1080})
    for route in held:
        route.continue_()
    page.unroute("**/big-screen/*.json")
    page.wait_for_selector("#bs-connection[data-state=live]")
    assert not page.errors, page.errors
