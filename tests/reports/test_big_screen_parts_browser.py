"""A big screen opened on a scope with nothing kept yet (no snapshot) paints what is
ready: the alarms the page came with at once, then each part it fetches on its own as
it comes — here the devices part and the 4×100% board are held back, and the alarms,
the 护学岗 staffing and the hazards are on the screen all the same."""

from __future__ import annotations

import pytest

from campus_safety import clock
from campus_safety.alarms.models import AlarmCase
from tests.ui.chromium import CHROMIUM, screenshot
from tests.ui.test_big_screen_browser import city, page, server  # noqa: F401  (fixtures)
from tests.ui.test_browser import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


def test_a_cold_screen_draws_each_part_as_it_comes(django_db_setup, city, server, page):  # noqa: F811
    now = clock.now()
    AlarmCase.objects.create(
        school=city.device.school, device=city.device, opened_at=now, last_event_at=now, priority=1
    )
    held = []

    def slow(url: str) -> bool:
        return "part=devices" in url or "/big-screen/kpi.json" in url

    page.route(slow, lambda route: held.append(route))
    sign_in(page, server, {"device": city.totp})
    page.goto(f"{server.url}/big-screen/")
    page.wait_for_selector("body[data-first=alarms]")
    assert page.inner_text("#bs-open-alarms") == "1"  # with the page: no fetch needed
    assert "德城区实验小学" in page.inner_text("#bs-alarm-list")
    page.wait_for_selector("body[data-parts~=posts]")
    page.wait_for_selector("body[data-parts~=hazards]")
    assert page.inner_text("#bs-hazards") == "0 / 0"
    assert page.inner_text("#bs-posts") == "—"  # no post: nothing to staff
    assert held and page.locator("#bs-device-kinds div").count() == 0  # still coming
    assert page.locator("#bs-kpi-table tbody tr").count() == 0
    screenshot(page, "big-screen-cold-partial")
    for route in held:
        route.continue_()
    page.unroute(slow)
    page.wait_for_selector("#bs-device-kinds div")
    page.wait_for_selector("#bs-kpi-table tbody tr")
    page.wait_for_selector("#bs-connection[data-state=live]")
    assert page.inner_text("#bs-devices-total").startswith("0 / 2")
    assert not page.errors, page.errors
