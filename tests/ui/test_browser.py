"""The pages in a real browser: headless Chromium against a live server.

Signs in through the login form and the second-factor form, filters the school list
(htmx swaps the table), opens a school, and checks the map and the charts draw. Each
page is saved as a screenshot in ``test-artifacts/`` for a person to look at.
"""

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety.accounts.landing import landing_url
from campus_safety.orgs.models import School
from tests.factories import (
    PASSWORD,
    CountyFactory,
    GuardFactory,
    SchoolFactory,
    UserFactory,
    city_region,
)
from tests.ui.chromium import CHROMIUM, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the live server reads committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
# Fixture order matters: the test database is set up before the live server (and
# dropped after it), and the data is written before Playwright starts, so the same
# database connection that wrote it flushes it afterwards and none is left open.


def square(lon: float, lat: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + 0.2, lat], [lon + 0.2, lat + 0.2], [lon, lat + 0.2], [lon, lat]]
        ],
    }


@pytest.fixture
def town(transactional_db):
    """德城区 with 30 primary schools, 陵城区 with 12 kindergartens; some short of guards."""
    city = city_region()
    decheng = CountyFactory(code="371402", name="德城区", parent=city, outline=square(116.2, 37.4))
    lingcheng = CountyFactory(
        code="371403", name="陵城区", parent=city, outline=square(116.4, 37.4)
    )
    for n in range(30):
        school = SchoolFactory(
            region=decheng,
            name=f"德城区第{n + 1}实验小学",
            principal_phone=f"138000000{n:02d}",
            students=600,
            longitude=116.21 + n * 0.006,
            latitude=37.45,
        )
        GuardFactory.create_batch(n % 3, school=school)
    for n in range(12):
        SchoolFactory(
            region=lingcheng,
            name=f"陵城区第{n + 1}幼儿园",
            students=150,
            kind=School.Kind.KINDERGARTEN,
            longitude=116.41 + n * 0.01,
            latitude=37.5,
        )
    user = UserFactory(
        username="dispatcher", role="dispatcher", display_name="调度员小王", region=city
    )
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return {"user": user, "device": device}


@pytest.fixture
def page(browser):
    """A Chinese-language tab that remembers every console error."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    yield tab
    context.close()


def sign_in(page, live_server, town) -> None:
    """Both steps, as a person does: password, then the authenticator code."""
    page.goto(f"{live_server.url}/accounts/login/")
    screenshot(page, "login")
    page.fill("#id_username", "dispatcher")
    page.fill("#id_password", PASSWORD)
    page.click(".login-card button[type=submit]")
    page.wait_for_url("**/accounts/2fa/verify/**")
    device = town["device"]
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page.fill("input[name=code]", f"{totp.token():06d}")
    page.click("#otp-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{landing_url(town['device'].user)}")  # the wall


def table_names(page) -> list[str]:
    return page.locator("#school-table tbody td:nth-child(2) a").all_inner_texts()


def test_a_user_signs_in_filters_the_school_list_and_opens_a_school(
    django_db_setup, live_server, town, page
):
    sign_in(page, live_server, town)
    assert "调度员小王" in page.inner_text(".topbar")
    page.goto(f"{live_server.url}/schools/")
    assert len(table_names(page)) == 42
    screenshot(page, "school-list")

    page.fill("#id_q", "实验小学")  # htmx: swaps the table, pushes the URL
    page.wait_for_function("() => location.search.includes('q=')")
    page.wait_for_function(
        "() => document.querySelectorAll('#school-table tbody tr').length === 30"
    )
    assert all("实验小学" in name for name in table_names(page))

    page.select_option("#id_region", "371402")
    page.fill("#id_q", "第2")
    page.wait_for_function(
        "() => location.search.includes('region=371402')"
        " && document.querySelectorAll('#school-table tbody tr').length < 30"
    )
    assert set(table_names(page)) == {
        "德城区第2实验小学",
        "德城区第20实验小学",
        "德城区第21实验小学",
        "德城区第22实验小学",
        "德城区第23实验小学",
        "德城区第24实验小学",
        "德城区第25实验小学",
        "德城区第26实验小学",
        "德城区第27实验小学",
        "德城区第28实验小学",
        "德城区第29实验小学",
    }
    assert "q=" in page.url and "kind=" not in page.url  # empty fields left out
    screenshot(page, "school-list-filtered")

    page.click("text=德城区第22实验小学")
    page.wait_for_selector("#school-location-map[data-loaded=true]")
    assert page.inner_text("h1") == "德城区第22实验小学"
    staffing = page.inner_text(".status")
    assert "缺 2 名保安员" in staffing  # 600 students need 2; it has 21 % 3 = 0 guards
    assert "保安员配备" in page.inner_text("body")
    assert "138****0021" in page.inner_text("table.props")
    page.click("table.props .reveal")  # htmx POST: needs the CSRF header from <body>
    page.wait_for_selector("table.props .revealed")
    assert page.inner_text("table.props .revealed") == "13800000021"
    screenshot(page, "school-detail")
    assert page.errors == []


def test_the_map_draws_every_school_and_filters_by_district(
    django_db_setup, live_server, town, page
):
    sign_in(page, live_server, town)
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("#school-map[data-loaded=true]")
    assert page.get_attribute("#school-map", "data-markers") == "42"
    assert page.locator("#school-map canvas").count() >= 1
    assert page.inner_text("#map-count") == "42"
    screenshot(page, "map")

    page.select_option("#id_region", "371403")
    page.wait_for_function("() => document.getElementById('school-map').dataset.markers === '12'")
    assert "region=371403" in page.url
    assert page.errors == []


def test_the_overview_draws_its_charts(django_db_setup, live_server, town, page):
    sign_in(page, live_server, town)
    page.goto(f"{live_server.url}/overview/")  # a dispatcher lands on the alarm wall
    page.wait_for_selector("[data-chart='chart-guards'] canvas")
    assert page.locator("[data-chart] canvas").count() == 3
    assert page.inner_text("[data-figure=schools]") == "42"
    screenshot(page, "overview")
    page.goto(f"{live_server.url}/workforce/staffing/")
    page.wait_for_selector("[data-chart='staffing-chart'] canvas")
    screenshot(page, "staffing")
    page.goto(f"{live_server.url}/report/summary/")
    screenshot(page, "summary-report")
    page.click(".langswitch button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert "Campus safety summary report" in page.inner_text("h1")
    assert page.url.endswith("/report/summary/")
    page.click(".topbar button:has-text('Log out')")  # a POST form with the CSRF token
    page.wait_for_url("**/accounts/login/")
    assert page.errors == []


def test_five_wrong_passwords_lock_the_sign_in_even_for_the_right_one(
    django_db_setup, live_server, town, page
):
    page.goto(f"{live_server.url}/accounts/login/")
    for _ in range(5):
        page.fill("#id_username", "dispatcher")
        page.fill("#id_password", "not-the-password")
        page.click(".login-card button[type=submit]")
        page.wait_for_load_state()
    assert page.locator("#locked").is_visible()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "dispatcher")
    page.fill("#id_password", PASSWORD)
    page.click(".login-card button[type=submit]")
    page.wait_for_load_state()
    screenshot(page, "locked")
    assert page.locator("#locked").is_visible()
    assert "15" in page.locator("#locked").inner_text()
    assert "/accounts/2fa/" not in page.url
