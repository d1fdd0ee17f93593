"""The registries' lists on a 360-px phone (issue #14 item 2): the hazard, device, guard
and school tables become one card per row, so nothing scrolls sideways, not even inside
the table's frame."""

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.devices.support import DeviceFactory
from tests.factories import (
    CountyFactory,
    GuardFactory,
    SchoolFactory,
    UserFactory,
    city_region,
)
from tests.hazards.support import internal
from tests.ui.chromium import CHROMIUM, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the live server reads committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
LISTS = [
    ("/hazards/", "#hazards"),
    ("/devices/", "#devices"),
    ("/workforce/", "#guards"),
    ("/schools/", "#schools"),
]


@pytest.fixture
def dispatcher_cookie(transactional_db) -> str:
    """A district with long names in every column, and a dispatcher who passed both
    factors."""
    city = city_region()
    county = CountyFactory(code="371402", name="德城区")
    admin = None
    for n in range(3):
        school = SchoolFactory(region=county, name=f"德城区新湖街道第{n + 1}实验小学附属幼儿园")
        admin = admin or UserFactory(username="head", role="school_admin", school=school)
        DeviceFactory(school=school, name=f"南门门卫室一键报警按钮{n + 1}号")
        GuardFactory(school=school, name=f"张保安{n + 1}")
        internal(admin, school)
    user = UserFactory(username="dispatcher", role="dispatcher", region=city)
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client.cookies["sessionid"].value


@pytest.mark.parametrize(("path", "table"), LISTS)
def test_the_list_is_cards_on_a_360_px_phone(dispatcher_cookie, live_server, browser, path, table):
    context = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 800})
    context.add_cookies([{"name": "sessionid", "value": dispatcher_cookie, "url": live_server.url}])
    page = context.new_page()
    page.goto(live_server.url + path)
    page.wait_for_selector(f"{table} tbody tr td")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    frames = page.evaluate(
        """() => [...document.querySelectorAll('main .table-wrap')]
             .filter(e => e.scrollWidth > e.clientWidth + 1)
             .map(e => e.querySelector('table')?.id)"""
    )
    assert frames == [], "a table scrolls sideways inside its frame"
    wider = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
             .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
             .map(e => e.tagName + '.' + e.className)"""
    )
    assert wider == []
    # A card: the row's name on top, each value beside its column's name.
    assert page.evaluate(f"getComputedStyle(document.querySelector('{table} thead')).display") == (
        "none"
    )
    screenshot(page, f"phone-360-{path.strip('/')}")
    context.close()


SHOTS = {
    "/hazards/": "hazards-list",
    "/devices/": "devices-list",
    "/workforce/": "workforce-guards",
    "/schools/": "schools-list",
}


@pytest.mark.parametrize(("path", "table"), LISTS)
def test_the_list_stays_a_table_on_a_desktop(dispatcher_cookie, live_server, browser, path, table):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": dispatcher_cookie, "url": live_server.url}])
    page = context.new_page()
    page.goto(live_server.url + path)
    page.wait_for_selector(f"{table} tbody tr td")
    display = f"getComputedStyle(document.querySelector('{table} thead')).display"
    assert page.evaluate(display) == "table-header-group"
    screenshot(page, f"{SHOTS[path]}-desktop")
    context.close()
