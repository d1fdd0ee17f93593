"""The audit log, the response statistics and the summary report in a real browser on a
360-px phone: nothing wider than the screen, the charts drawn, no script error."""

import datetime as dt

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety import clock
from campus_safety.alarms.models import AlarmCase
from campus_safety.audit.actor import Actor, acting_as
from campus_safety.audit.services import record
from tests.devices.support import DeviceFactory
from tests.factories import CountyFactory, SchoolFactory, UserFactory, city_region
from tests.ui.chromium import CHROMIUM, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the live server reads committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
PAGES = [
    ("auditor", "/audit/", "#audit-table"),
    ("dispatcher", "/alarms/statistics/", "[data-chart='chart-times'] canvas"),
    ("dispatcher", "/report/summary/", "#summary-districts"),
]


@pytest.fixture
def sessions(transactional_db):
    """Two districts with alarms and audited work; the session cookies of an auditor
    and a dispatcher who passed both factors."""
    city = city_region()
    users = {
        "auditor": UserFactory(username="auditor", role="auditor", region=city),
        "dispatcher": UserFactory(
            username="dispatcher", role="dispatcher", display_name="调度员小王", region=city
        ),
    }
    for code, name in (("371402", "德城区"), ("371403", "陵城区")):
        county = CountyFactory(code=code, name=name)
        for n in range(3):
            school = SchoolFactory(region=county, name=f"{name}第{n + 1}实验小学")
            device = DeviceFactory(school=school)
            opened = clock.now() - dt.timedelta(hours=n + 1)
            AlarmCase.objects.create(
                school=school,
                device=device,
                state=AlarmCase.State.RESOLVED if n else AlarmCase.State.FALSE_ALARM,
                opened_at=opened,
                last_event_at=opened,
                acknowledged_at=opened + dt.timedelta(seconds=15 + n),
                dispatched_at=opened + dt.timedelta(seconds=60 + n),
                arrived_at=opened + dt.timedelta(seconds=400 + 30 * n),
            )
            with acting_as(Actor(user=users["dispatcher"], source_ip="10.1.0.12", channel="ui")):
                school.students += 1
                school.save()
                record("alarm.acknowledge", school)
    cookies = {}
    for name, user in users.items():
        client = Client()
        client.force_login(user)
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        cookies[name] = client.cookies["sessionid"].value
    return cookies


@pytest.mark.parametrize(("who", "path", "ready"), PAGES)
def test_the_page_fits_a_360_px_phone(sessions, live_server, browser, who, path, ready):
    context = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 800})
    context.add_cookies([{"name": "sessionid", "value": sessions[who], "url": live_server.url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + path)
    page.wait_for_selector(ready)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    wider = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
             .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
             .map(e => e.tagName + '.' + e.className)"""
    )
    assert wider == []
    screenshot(page, f"phone-{path.strip('/').replace('/', '-')}")
    assert errors == []
    context.close()
