"""Maps and forms in a real browser (issue #14 items 7 and 9), headless Debian Chromium
over the uvicorn server of ``test_alarm_console.py`` (its fixtures), so the alarm banner
is live on every page as it is for a dispatcher at work.

With no tile server every map names its districts and shows the schools as context;
the map pages fill the window under the banner and never scroll sideways, on a desktop
or a 360 px phone; the wall's map fits the open case; the school picker finds a school
from part of its name and the report is filed for it; date inputs show their dates in
Chinese. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import pytest

from campus_safety import clock
from campus_safety.hazards.models import Hazard
from campus_safety.orgs.models import School
from tests.alarms.support import send_alarm
from tests.factories import CountyFactory, SchoolFactory
from tests.ui import test_alarm_console as console
from tests.ui.chromium import CHROMIUM
from tests.ui.test_alarm_banner_and_wall import DESKTOP, PHONE, keep, open_tab, overflow
from tests.ui.test_alarm_console import sign_in_as

city, asgi_server, browser = console.city, console.asgi_server, console.browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the server's threads read committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
TARGET = "德城区运河实验学校"


def square(lon: float, lat: float) -> dict:
    ring = [[lon, lat], [lon + 0.2, lat], [lon + 0.2, lat + 0.2], [lon, lat + 0.2], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def town(city, settings):
    """德城区 and 陵城区 with outlines and 70 schools (a picker's worth), no tile server,
    and the gate alarm of 德城区实验小学 waiting to be acknowledged (the banner is on)."""
    settings.MAP_TILE_URL = ""
    decheng = city.school.region
    decheng.outline = square(116.2, 37.4)
    decheng.save(update_fields=["outline"])
    lingcheng = CountyFactory(
        code="371403", name="陵城区", parent=decheng.parent, outline=square(116.4, 37.4)
    )
    for n in range(60):
        SchoolFactory(
            region=decheng,
            police_station=city.school.police_station,
            name=f"德城区第{n + 1}小学",
            longitude=116.21 + (n % 10) * 0.018,
            latitude=37.41 + (n // 10) * 0.03,
        )
    for n in range(8):
        SchoolFactory(region=lingcheng, name=f"陵城区第{n + 1}幼儿园", longitude=116.45 + n * 0.02)
    target = SchoolFactory(
        region=decheng,
        police_station=city.school.police_station,
        name=TARGET,
        longitude=116.33,
        latitude=37.52,
    )
    case = send_alarm(city.device, clock)
    return {"target": target, "case": case, "schools": School.objects.count()}


@pytest.fixture
def signed_in(city, asgi_server, browser):
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    sign_in_as(context.new_page(), asgi_server, city.user, city.totp)
    state = context.storage_state()
    context.close()
    return state


def labels(page) -> list[str]:
    return sorted(page.locator(".leaflet-tooltip.district-label").all_inner_texts())


@pytest.mark.parametrize("path", ["/map/", "/hazards/map/"])
def test_a_map_page_fills_the_window_and_never_scrolls_sideways(
    django_db_setup, city, town, asgi_server, browser, signed_in, path
):
    """The map filled 100vh minus the top bar whatever else was above it: with the alarm
    banner the page scrolled by the banner's height (and the old banner's negative
    margins pushed it 20 px sideways). Now it ends at the window's bottom edge on a
    desktop, and nothing is wider than a 360 px phone."""
    name = path.strip("/").replace("/", "-")
    for viewport in (DESKTOP, PHONE):
        context, page = open_tab(browser, signed_in, viewport)
        page.goto(f"{asgi_server.url}{path}")
        page.wait_for_selector("#alarm-banner:not([hidden])")
        page.wait_for_selector(".leaflet-container[data-loaded=true]")
        assert overflow(page) == 0, viewport
        if viewport is DESKTOP:
            root = "document.documentElement"
            scrolls = page.evaluate(f"() => {root}.scrollHeight - {root}.clientHeight")
            assert scrolls == 0
            bottom = page.eval_on_selector(
                ".leaflet-container", "e => e.getBoundingClientRect().bottom"
            )
            assert abs(bottom - DESKTOP["height"]) <= 1
        keep(page, f"map-page-{name}-{viewport['width']}")
        assert page.errors == []
        context.close()


@pytest.mark.parametrize(
    ("path", "with_context"),
    [
        ("/map/", False),  # its points are the schools themselves
        ("/hazards/map/", True),
        ("/devices/map/", True),
        ("/alarms/", True),
        ("/patrols/", True),
    ],
)
def test_every_map_names_its_districts_and_shows_the_schools_without_tiles(
    django_db_setup, city, town, asgi_server, browser, signed_in, path, with_context
):
    context, page = open_tab(browser, signed_in, DESKTOP)
    page.goto(f"{asgi_server.url}{path}")
    container = page.locator(".leaflet-container").first
    page.wait_for_selector(".leaflet-container[data-districts='2']")
    assert labels(page) == ["德城区", "陵城区"]
    assert page.locator(".leaflet-tile").count() == 0  # nothing fetched from outside
    if with_context:
        page.wait_for_selector(".leaflet-container[data-context-schools]")
        assert container.get_attribute("data-context-schools") == str(town["schools"])
    assert page.errors == []
    context.close()


def test_the_wall_map_fits_the_open_case(
    django_db_setup, city, town, asgi_server, browser, signed_in
):
    """One case open: the map is centred on it and zoomed in, not left on the districts."""
    context, page = open_tab(browser, signed_in, DESKTOP)
    page.goto(f"{asgi_server.url}/alarms/")
    page.wait_for_selector("#alarm-map[data-markers='1']")
    page.wait_for_timeout(400)  # the fit's animation
    pin = page.locator("#alarm-map .case-pin").bounding_box()
    frame = page.locator("#alarm-map").bounding_box()
    centre = (frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2)
    assert abs(pin["x"] + pin["width"] / 2 - centre[0]) <= 20
    assert abs(pin["y"] + pin["height"] / 2 - centre[1]) <= 20
    # zoomed in on the case: 陵城区's name (at its middle, 15 km east) is off the map
    east = page.locator("#alarm-map .leaflet-tooltip.district-label", has_text="陵城区")
    assert east.bounding_box()["x"] > frame["x"] + frame["width"]
    keep(page, "wall-map-fits-the-case")
    assert page.errors == []
    context.close()


def test_the_picker_finds_a_school_by_part_of_its_name_and_the_report_is_filed_for_it(
    django_db_setup, city, town, asgi_server, browser, signed_in
):
    """70 schools: a search box, not a list. Typing 运河 lists the school with its
    district and station; the keyboard chooses it; the report is the school's."""
    for viewport in (PHONE, DESKTOP):
        context, page = open_tab(browser, signed_in, viewport)
        page.goto(f"{asgi_server.url}/hazards/report/")
        assert page.locator("select#id_school option[value]:not([value=''])").count() == 0
        page.click("label[for=id_school-search]")  # the label leads to the search box
        page.keyboard.type("运河", delay=30)
        option = page.locator("#id_school-list [role=option]").first
        option.wait_for()
        assert TARGET in option.inner_text() and "德城区" in option.inner_text()
        page.keyboard.press("ArrowDown")
        active = page.get_attribute("#id_school-search", "aria-activedescendant")
        assert active == option.get_attribute("id")
        keep(page, f"school-picker-open-{viewport['width']}")
        page.keyboard.press("Enter")
        assert page.input_value("#id_school") == str(town["target"].pk)
        assert page.input_value("#id_school-search") == TARGET
        assert overflow(page) == 0
        if viewport is DESKTOP:
            page.fill("#id_title", "围墙破损")
            page.select_option("#id_key_area", "perimeter")
            page.click("#hazard-report button[type=submit]")
            page.wait_for_url("**/hazards/*/")
            assert "/report/" not in page.url
            assert Hazard.objects.get(title="围墙破损").school_id == town["target"].pk
        assert page.errors == []
        context.close()


def test_a_campaign_adds_every_school_of_a_district_at_once(
    django_db_setup, city, town, asgi_server, browser, signed_in
):
    """A campaign for a whole district: one search, "add every match", one school more."""
    from campus_safety.hazards.models import Campaign

    context, page = open_tab(browser, signed_in, DESKTOP)
    page.goto(f"{asgi_server.url}/hazards/campaigns/")
    page.fill("#id_name", "德城区校园安全检查")
    page.click("#id_schools-search")
    page.keyboard.type("德城区", delay=30)
    page.click("#id_schools-option-all")
    decheng = School.objects.filter(region__name="德城区").count()
    page.wait_for_selector(f".sp-summary:has-text('{decheng}')")
    page.keyboard.type("陵城区第3", delay=30)
    page.wait_for_selector("#id_schools-option-0")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector(f".sp-summary:has-text('{decheng + 1}')")
    assert page.locator(".sp-chip").count() == decheng + 1
    page.click("form:has(#id_schools) button[type=submit]")
    page.wait_for_url("**/hazards/campaigns/*/")
    campaign = Campaign.objects.get(name="德城区校园安全检查")
    assert campaign.checklists.count() == decheng + 1
    assert page.errors == []
    context.close()


def test_date_inputs_show_their_dates_in_chinese(
    django_db_setup, city, town, asgi_server, browser, signed_in
):
    """The campaign form's dates came as 2026/12/07 and the browser showed empty boxes."""
    context, page = open_tab(browser, signed_in, DESKTOP)
    page.goto(f"{asgi_server.url}/hazards/campaigns/")
    today = clock.now().date()
    assert page.input_value("#id_starts_on") == today.isoformat()
    assert page.eval_on_selector("#id_due_on", "e => e.valueAsDate !== null")
    context.close()
