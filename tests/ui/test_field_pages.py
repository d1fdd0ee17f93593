"""The write paths on pages, in headless Debian Chromium (issue #14 item 8).

A police officer records a patrol on a 360 px phone: the browser's (faked) location
moves, the page keeps the track through a reload mid-patrol, and one patrol with every
point reaches the platform; then a field stop with the phone's position. A school
administrator adds a checkpoint on the set-up pages. No page scrolls sideways at
360 px, everything is in Chinese; window screenshots go to ``test-artifacts/`` (copied
to docs/screenshots/)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from campus_safety.patrols.models import Checkpoint, FieldStop, GridRoute, PatrolLog
from tests.factories import OrganisationFactory, SchoolFactory, UserFactory, sign_in
from tests.patrols.support import GATE, metres_north, tour
from tests.ui.chromium import ARTIFACTS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the server's threads read committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 360, "height": 800}


@pytest.fixture
def beat(transactional_db):
    """A station and its school by the gate, a grid route, an officer, the school's
    administrator and its guard tour."""
    station = OrganisationFactory(name="新华派出所")
    school = SchoolFactory(
        name="德城区实验小学", police_station=station, region=station.region,
        longitude=GATE[0] + 0.001, latitude=GATE[1],
    )  # fmt: skip
    route = GridRoute.objects.create(organisation=station, name="新华路巡逻线")
    route.schools.add(school)
    tour(school, codes=("N-01", "N-02"))
    police = UserFactory(
        username="officer", role="police_officer", organisation=station, display_name="民警老李"
    )
    head = UserFactory(username="head", role="school_admin", school=school, display_name="王校长")
    return {"school": school, "route": route, "police": police, "head": head}


def tab(browser, live_server, user, viewport, **options):
    """A Chinese-language tab signed in as ``user`` (both factors passed), which
    remembers page errors."""
    client = Client()
    sign_in(client, user)
    context = browser.new_context(locale="zh-CN", viewport=viewport, **options)
    context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }])  # fmt: skip
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return context, page


def overflow(page) -> int:
    """How far the page is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def too_wide(page) -> list[str]:
    """The elements that reach past the window's right edge (what to fix when a page
    scrolls sideways)."""
    return page.evaluate(
        """() => [...document.querySelectorAll("body *")]
          .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
          .slice(0, 8).map(e => e.tagName + "#" + e.id + "." + e.className)"""
    )


def done(context, page) -> None:
    """Leave the page before closing the tab, so the server sees its live stream end
    instead of a socket cut while it writes."""
    page.goto("about:blank")
    context.close()


def keep(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def points(page, n: int) -> None:
    page.wait_for_function(
        f"() => document.getElementById('patrol-points').textContent === '{n}'", timeout=10_000
    )


def test_an_officer_records_a_patrol_and_a_field_stop_on_a_phone(
    django_db_setup, live_server, beat, browser
):
    start = {"longitude": GATE[0], "latitude": GATE[1], "accuracy": 8}
    context, page = tab(
        browser, live_server, beat["police"], PHONE,
        geolocation=start, permissions=["geolocation"],
    )  # fmt: skip
    url = f"{live_server.url}/patrols/grid/record/"
    page.goto(url)
    assert page.locator("h1").inner_text() == "记录巡逻"
    assert "新华路巡逻线" in page.locator("#id_route").inner_text()
    assert overflow(page) == 0
    page.select_option("#id_route", label="新华路巡逻线")
    page.click("#patrol-start")
    points(page, 1)
    for n, metres in ((2, 120), (3, 240)):
        lon, lat = metres_north(metres)
        context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 8})
        points(page, n)

    page.reload()  # the phone reloads mid-patrol: the track so far is still there
    points(page, 3)
    assert "巡逻已恢复" in page.locator("#patrol-state").inner_text()
    assert page.locator("#id_route").input_value() == str(beat["route"].pk)
    lon, lat = metres_north(360)
    context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 8})
    points(page, 4)
    assert overflow(page) == 0
    keep(page, "officer-patrol-record-phone")

    page.click("#patrol-stop")
    page.wait_for_url("**/patrols/grid/record/?recorded=*")
    log = PatrolLog.objects.get()
    assert (log.officer, log.route, len(log.track)) == (beat["police"], beat["route"], 4)
    assert 340 < log.distance_m < 380
    assert "已记录巡逻" in page.locator(".messages").inner_text()
    assert page.evaluate("() => localStorage.length") == 0  # confirmed: the phone lets go
    assert page.locator("#patrol-start").is_visible()
    assert overflow(page) == 0

    context.set_geolocation(start)
    page.goto(f"{live_server.url}/patrols/field-stops/new/")
    page.wait_for_function("() => document.getElementById('id_longitude').value !== ''")
    page.fill("#id_place", "校门东侧路口")
    page.fill("#id_subject", "可疑男子，约40岁")
    page.select_option("#id_outcome", "warned")
    page.fill("#id_note", "已劝离，通知学校保安注意")
    assert overflow(page) == 0
    keep(page, "officer-field-stop-phone")
    page.click("#record-stop")
    page.wait_for_url("**/patrols/field-stops/")
    stop = FieldStop.objects.get()
    assert (stop.nearest_school, stop.outcome) == (beat["school"], "warned")
    assert "校门东侧路口" in page.locator("#field-stops").inner_text()
    assert overflow(page) == 0
    page.goto(f"{live_server.url}/patrols/grid/")
    assert overflow(page) == 0
    assert page.errors == []
    done(context, page)

    context, page = tab(
        browser, live_server, beat["police"], DESKTOP,
        geolocation=start, permissions=["geolocation"],
    )  # fmt: skip
    page.goto(url)
    page.click("#patrol-start")
    points(page, 1)
    keep(page, "officer-patrol-record-desktop")
    assert page.errors == []
    done(context, page)


def test_a_school_administrator_adds_a_checkpoint_on_a_phone_and_a_desktop(
    django_db_setup, live_server, beat, browser
):
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context, page = tab(browser, live_server, beat["head"], viewport)
        page.goto(f"{live_server.url}/patrols/setup/checkpoints/")
        assert page.locator("h1").inner_text() == "巡更与护学岗设置"
        assert "N-01" in page.locator("#setup-checkpoints").inner_text()
        assert overflow(page) == 0
        keep(page, f"school-admin-checkpoints-{name}")
        page.click("a.btn.primary")  # 添加巡更点
        page.wait_for_url("**/patrols/setup/checkpoints/new/**")
        code = f"GATE-{name}"
        page.fill("#id_name", "西门")
        page.fill("#id_code", code)
        page.select_option("#id_key_area", "entrance")
        assert overflow(page) == 0
        keep(page, f"school-admin-checkpoint-form-{name}")
        page.click("#setup-form button[type=submit]")
        page.wait_for_url("**/patrols/setup/checkpoints/?school=*")
        assert Checkpoint.objects.filter(school=beat["school"], code=code).exists()
        assert "西门" in page.locator("#setup-checkpoints").inner_text()
        page.goto(f"{live_server.url}/patrols/setup/routes/new/")
        rows = 3 if name == "phone" else 4  # the school's checkpoints, with those just added
        assert page.locator("#route-stops tbody tr").count() == rows
        assert overflow(page) == 0, too_wide(page)
        assert page.errors == []
        done(context, page)
