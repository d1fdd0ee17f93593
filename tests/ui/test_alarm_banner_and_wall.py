"""The alarm banner and the alarm wall on a desktop and on a phone (issue #14).

However many alarms are open, the banner on every page of an alarm reader stays one
line (the count, the case to look at first, a link to the wall) and never covers the
work; nothing overflows a 360 px phone; a supervisor acknowledges several cases at
once from the wall, each audited on its own. Headless Debian Chromium over the same
uvicorn server as ``test_alarm_console.py`` (its fixtures), so the live stream streams.
"""

from __future__ import annotations

import datetime as dt

import pytest

from campus_safety import clock
from campus_safety.alarms import workflow
from campus_safety.alarms.models import AlarmCase
from campus_safety.audit.models import AuditEntry
from tests.alarms.support import PoliceUnitFactory, send_alarm
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory, UserFactory
from tests.ui import test_alarm_console as console
from tests.ui.chromium import ARTIFACTS, CHROMIUM, screenshot
from tests.ui.test_alarm_console import sign_in_as, wait_for_stream

# The console test's fixtures: its city and dispatcher, uvicorn, and the browser after it.
city, asgi_server, browser = console.city, console.asgi_server, console.browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the server's threads read committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 360, "height": 800}
# One line of the banner: its text (13-14 px) and a 26 px button, with padding.
ONE_LINE_PX = 44
SCHOOL_NAMES = [
    "德城区新湖街道第二实验小学",
    "德州经济技术开发区抬头寺镇中心小学",
    "陵城区第一幼儿园",
    "德城区黄河涯镇中学",
    "德州市第九中学",
]
KEY_AREAS = ["entrance", "perimeter", "dormitory", "teaching_area", "canteen"]


@pytest.fixture
def twenty_open(city):
    """Twenty open cases at twenty schools, opened a minute apart: sixteen nobody has
    acknowledged, two acknowledged, two with a unit on the way; long school names."""
    now = clock.now()
    cases = []
    for n in range(20):
        school = SchoolFactory(
            region=city.school.region,
            police_station=city.school.police_station,
            name=f"{SCHOOL_NAMES[n % len(SCHOOL_NAMES)]}{n + 1}",
            longitude=116.25 + n * 0.01,
            latitude=37.42 + (n % 4) * 0.02,
        )
        device = DeviceFactory(
            school=school,
            name=f"{'东' if n % 2 else '西'}门一键报警",
            key_area=KEY_AREAS[n % len(KEY_AREAS)],
            kind="one_key_alarm" if n % 3 else "intrusion_detector",
        )
        case = send_alarm(device, clock, priority=1 if n % 3 else 2)
        AlarmCase.objects.filter(pk=case.pk).update(opened_at=now - dt.timedelta(minutes=20 - n))
        cases.append(case)
    for name in ("巡逻三组", "城区警务室"):  # free after the two sent below
        PoliceUnitFactory(organisation=city.school.police_station, name=name)
    for case in cases[:4]:
        workflow.acknowledge_case(case.pk, by=city.user)
    for case in cases[:2]:
        workflow.dispatch_units(
            case.pk, [city.near if case is cases[0] else city.far], by=city.user
        )
    return cases


@pytest.fixture
def signed_in(city, asgi_server, browser):
    """The dispatcher's session (signed in once: an authenticator code works once)."""
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    sign_in_as(context.new_page(), asgi_server, city.user, city.totp)
    state = context.storage_state()
    context.close()
    return state


def open_tab(browser, signed_in, viewport):
    """A Chinese-language tab of the signed-in dispatcher that remembers page errors."""
    context = browser.new_context(locale="zh-CN", viewport=viewport, storage_state=signed_in)
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    return context, tab


def overflow(page) -> int:
    """How far the page is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def box(page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not displayed"
    return found


def keep(page, name: str) -> None:
    """What the window shows (not the whole page), for docs/screenshots/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def banner_is_one_line(page) -> dict:
    found = box(page, "#alarm-banner")
    assert found["height"] <= ONE_LINE_PX, found
    for part in ("#alarm-banner .ab-count", "#alarm-banner .ab-case", "#alarm-banner .ab-wall"):
        inner = box(page, part)  # every part on that one line, inside the window
        assert (
            found["y"] <= inner["y"]
            and inner["y"] + inner["height"] <= found["y"] + found["height"]
        )
        assert inner["x"] >= 0 and inner["x"] + inner["width"] <= page.viewport_size["width"]
    return found


def test_the_banner_is_one_line_on_a_desktop_and_a_phone_whatever_the_number_of_alarms(
    django_db_setup, city, twenty_open, asgi_server, browser, signed_in
):
    """Sixteen alarms nobody acknowledged took 515 of 900 px and a phone's whole screen;
    now one line: the count, the case to look at first (priority 1, the newest), its
    acknowledge button and the wall — sticky under the top bar on a desktop, scrolling
    away on a phone, and the same line for one alarm as for sixteen."""
    first = twenty_open[19]  # priority 1 and the newest of those still waiting
    desktop, page = open_tab(browser, signed_in, DESKTOP)
    page.goto(f"{asgi_server.url}/schools/")
    page.wait_for_selector(f"#alarm-banner[data-count='16'][data-case-id='{first.pk}']")
    page.wait_for_selector("#alarm-banner[data-rings]")  # rang (and flashed) on arrival
    banner_is_one_line(page)
    assert page.inner_text("#alarm-banner .ab-number") == "16"
    assert first.school.name in page.get_attribute("#alarm-banner .ab-case", "title")
    assert page.get_attribute("#alarm-banner .ab-wall", "href") == "/alarms/"
    assert page.locator("#alarm-banner button.banner-ack").is_visible()
    assert overflow(page) == 0
    keep(page, "banner-desktop")
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")  # to the list's end
    assert page.evaluate("() => window.scrollY") > 150  # … and the line stays under the top bar
    stuck = banner_is_one_line(page)
    assert stuck["y"] == box(page, ".topbar")["height"]
    assert page.eval_on_selector("#alarm-banner", "e => getComputedStyle(e).position") == "sticky"
    desktop.close()

    phone, page = open_tab(browser, signed_in, PHONE)
    page.goto(f"{asgi_server.url}/schools/")
    page.wait_for_selector(f"#alarm-banner[data-count='16'][data-case-id='{first.pk}']")
    banner_is_one_line(page)
    assert overflow(page) == 0
    keep(page, "banner-phone")
    page.evaluate("() => window.scrollTo(0, 600)")  # on a phone it scrolls away with the page
    assert page.evaluate("() => window.scrollY") == 600
    assert page.eval_on_selector("#alarm-banner", "e => e.getBoundingClientRect().bottom") <= 0

    for case in twenty_open[4:19]:  # colleagues acknowledge all but one, live
        workflow.acknowledge_case(case.pk, by=city.user)
    page.wait_for_selector(
        f"#alarm-banner[data-count='1'][data-case-id='{first.pk}']", state="attached"
    )
    page.evaluate("() => window.scrollTo(0, 0)")
    assert banner_is_one_line(page)["height"] == box(page, "#alarm-banner")["height"]
    page.click("#alarm-banner button.banner-ack")  # the last one, from the banner
    page.wait_for_selector("#alarm-banner", state="hidden")
    first.refresh_from_db()
    assert first.state == "acknowledged" and first.acknowledged_by == city.user
    assert overflow(page) == 0
    assert page.errors == []
    phone.close()


def fits(page, selector: str, width: int) -> None:
    found = box(page, selector)
    assert found["x"] >= 0 and found["x"] + found["width"] <= width, (selector, found)


def test_the_wall_and_a_case_fit_a_phone_with_school_time_state_and_buttons_in_view(
    django_db_setup, city, twenty_open, asgi_server, browser, signed_in
):
    """At 360 px the wall's table wrapped school names one character a line and pushed
    签收/打开 off screen: now each case is a card with all of them in view, and nothing
    on the wall or a case page scrolls sideways. The banner stays hidden on the wall
    (the wall lists every case, each with its own button); the sound rings and the
    wall's unacknowledged figure flashes instead."""
    desktop, page = open_tab(browser, signed_in, DESKTOP)
    page.goto(f"{asgi_server.url}/alarms/")
    page.wait_for_selector("#alarm-map[data-loaded=true]")
    assert page.locator("#alarm-cases tr.case-row").count() == 20
    assert overflow(page) == 0
    page.wait_for_selector("#alarm-banner[data-count='16']", state="attached")
    assert page.is_hidden("#alarm-banner")
    page.wait_for_selector("#wall-cases .kpi[data-alarm-flash].flash")
    keep(page, "dispatcher-wall-desktop")
    desktop.close()

    phone, page = open_tab(browser, signed_in, PHONE)
    page.goto(f"{asgi_server.url}/alarms/")
    page.wait_for_selector("#alarm-map[data-loaded=true]")
    assert overflow(page) == 0
    assert page.is_hidden("#alarm-banner")
    keep(page, "dispatcher-wall-phone")
    for case in twenty_open:
        row = f"#alarm-cases tr.case-row[data-case-id='{case.pk}']"
        page.locator(row).scroll_into_view_if_needed()
        for part in (".c-school a", ".c-age", ".state-chip", ".c-actions a.btn"):
            fits(page, f"{row} {part}", PHONE["width"])
        # the name has the card's width: two lines at most, not a character a line
        assert box(page, f"{row} td.c-school")["width"] >= 250
        assert box(page, f"{row} .c-school a")["height"] <= 50
        if case.pk in {c.pk for c in twenty_open[4:]}:  # waiting: 签收 is there too
            fits(page, f"{row} .ack-form button", PHONE["width"])
    screenshot(page, "dispatcher-wall-phone-whole")

    waiting = twenty_open[2]  # acknowledged, nobody sent yet: the dispatch form
    page.goto(f"{asgi_server.url}/alarms/{waiting.pk}/#dispatch")
    page.wait_for_selector("#dispatch input[name=units]")
    assert overflow(page) == 0
    assert page.locator("#dispatch input[name=units]:checked").count() == 0
    fits(page, "#dispatch button[type=submit]", PHONE["width"])
    page.eval_on_selector(  # the form's heading just under the top bar
        "#dispatch", "e => window.scrollTo(0, e.getBoundingClientRect().top + scrollY - 130)"
    )
    keep(page, "dispatcher-case-phone")
    sent = twenty_open[0]  # a unit on its way: its buttons stack, in view
    page.goto(f"{asgi_server.url}/alarms/{sent.pk}/")
    page.wait_for_selector("#case-units button.arrived")
    assert overflow(page) == 0
    fits(page, "#case-units button.arrived", PHONE["width"])
    assert page.errors == []
    phone.close()


def test_a_dispatcher_ticks_cases_on_the_wall_and_acknowledges_them_at_once(
    django_db_setup, city, twenty_open, asgi_server, browser, signed_in
):
    """Ticks survive the wall's live refresh (a case a colleague acknowledged meanwhile
    loses its tick); one press acknowledges the ticked cases, each audited, and the
    report says what became of each."""
    desktop, page = open_tab(browser, signed_in, DESKTOP)
    page.goto(f"{asgi_server.url}/alarms/")
    page.wait_for_selector("#alarm-map[data-loaded=true]")
    wait_for_stream()
    assert page.is_disabled("#bulk-ack-submit")
    a, b, c, d = twenty_open[4], twenty_open[5], twenty_open[6], twenty_open[7]
    for case in (a, b, c):
        page.check(f"#alarm-cases tr[data-case-id='{case.pk}'] input.bulk-tick")
    assert page.inner_text("#bulk-ticked") == "3"

    colleague = UserFactory(role="dispatcher", region=city.user.region)
    workflow.acknowledge_case(b.pk, by=colleague)  # one of mine, and one I did not tick
    workflow.acknowledge_case(twenty_open[10].pk, by=colleague)
    page.wait_for_selector(f"#alarm-cases tr[data-case-id='{b.pk}'][data-state=acknowledged]")
    page.wait_for_selector(
        f"#alarm-cases tr[data-case-id='{twenty_open[10].pk}'][data-state=acknowledged]"
    )
    assert page.inner_text("#bulk-ticked") == "2"
    for case in (a, c):
        assert page.is_checked(f"#alarm-cases tr[data-case-id='{case.pk}'] input.bulk-tick")

    page.check("#bulk-all")
    assert page.inner_text("#bulk-ticked") == "14"
    page.uncheck("#bulk-all")
    assert page.inner_text("#bulk-ticked") == "0" and page.is_disabled("#bulk-ack-submit")
    for case in (a, c, d):
        page.check(f"#alarm-cases tr[data-case-id='{case.pk}'] input.bulk-tick")
    page.click("#bulk-ack-submit")
    page.wait_for_selector("#bulk-ack-result .bulk-ack-result[data-acknowledged='3']")
    for case in (a, c, d):
        page.wait_for_selector(
            f"#alarm-cases tr[data-case-id='{case.pk}'][data-state=acknowledged]"
        )
        case.refresh_from_db()
        assert case.state == "acknowledged" and case.acknowledged_by == city.user
    assert page.inner_text("#bulk-ticked") == "0"
    mine = AuditEntry.objects.filter(action="alarm.acknowledge", user=city.user)
    assert {int(e.object_id) for e in mine} >= {a.pk, c.pk, d.pk}
    assert "已签收 3 起" in page.inner_text("#bulk-ack-result")
    keep(page, "dispatcher-wall-bulk-acknowledged")
    assert page.errors == []
    desktop.close()
