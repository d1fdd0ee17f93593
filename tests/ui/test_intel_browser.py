"""Early warning in a real browser (headless Chromium against a live server): an analyst
opens today's alert, sees the cluster on the map, acknowledges it and starts a special
operation from it. With DOCS_SCREENSHOTS=1 the pages are also kept for docs/screenshots."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety import clock
from campus_safety.intel.models import Alert, IncidentKind, Operation
from campus_safety.intel.services import record_incident
from campus_safety.orgs.models import School
from campus_safety.simulator.demo_intel import fill_intel
from tests.alarms.support import station_chain
from tests.factories import CountyFactory, UserFactory
from tests.intel.support import at, schools_grid
from tests.ui.chromium import CHROMIUM, screenshot
from tests.ui.test_hazards_browser import new_tab, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def keep(page, name):
    screenshot(page, name)
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=False)


@pytest.fixture
def analyst(transactional_db, clock):
    county = CountyFactory(code="371402", name="德城区")
    station = station_chain(county)
    for school in schools_grid(county, station, n=4, spacing_km=2.0):
        school.students = 1200
        school.save()
    clock.start_at(at(dt.date(2026, 11, 20), 15))
    fill_intel(replications=199)
    user = UserFactory(
        username="analyst", role="police_officer", organisation=station, display_name="研判员"
    )
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return device


def test_analyst_acknowledges_todays_alert_and_starts_an_operation(
    django_db_setup, live_server, analyst, browser
):
    assert Alert.objects.filter(status="open").exists()
    context, page = new_tab(browser, viewport={"width": 1440, "height": 900})
    sign_in(page, live_server, "analyst", analyst)
    page.goto(f"{live_server.url}/intel/")
    page.wait_for_selector("#intel-map[data-circles]")
    assert int(page.get_attribute("#intel-map", "data-circles")) >= 1
    assert int(page.get_attribute("#intel-map", "data-cells")) > 10  # the density layer
    keep(page, "intel-home-desktop")
    page.click("a.alert-link >> nth=0")
    page.wait_for_url("**/intel/alerts/*/")
    page.wait_for_selector("#intel-map[data-circles='1']")
    assert page.locator("#intel-map canvas").count() >= 1  # the circle, drawn on canvas
    reference = page.title().split(" ")[0]
    keep(page, "intel-alert-desktop")
    page.click("#acknowledge")
    page.wait_for_url("**/intel/alerts/*/")
    assert page.inner_text("#alert-status") == "已签收"
    page.click("#start-operation")
    page.wait_for_url("**/intel/operations/*/")
    assert reference in page.inner_text("#operation-name")
    assert Operation.objects.filter(alert__reference=reference).exists()
    assert Alert.objects.get(reference=reference).status == "acknowledged"
    assert page.errors == []
    keep(page, "intel-operation-desktop")

    # the same analyst on a phone-sized screen (a second sign-in would replay the code)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/intel/")
    page.wait_for_selector("#intel-map[data-circles]")
    keep(page, "intel-home-phone")
    page.click("a.alert-link >> nth=0")
    page.wait_for_selector("#intel-map[data-circles='1']")
    keep(page, "intel-alert-phone")
    page.goto(f"{live_server.url}/intel/risk/")
    keep(page, "intel-risk-phone")
    assert page.errors == []

    # the incident list's pager swaps its panel in place and keeps the address
    school = School.objects.order_by("pk").first()
    for n in range(51):
        record_incident(
            kind=IncidentKind.values[0],
            occurred_at=clock.now() - dt.timedelta(hours=n + 1),
            latitude=school.latitude,
            longitude=school.longitude,
            source="police",
            summary=f"翻页{n}",
        )
    page.goto(f"{live_server.url}/intel/incidents/")
    page.click("#intel-incidents .pagination a >> text='2'")
    page.wait_for_selector("#intel-incidents .pagination [aria-current='page'] >> text='2'")
    assert "page=2" in page.url and page.locator("#intel-incidents").count() == 1
    assert page.errors == []
    context.close()
