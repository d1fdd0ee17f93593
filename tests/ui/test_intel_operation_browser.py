"""A special operation in a real browser (headless Chromium, Chinese): the officer draws
its area on the map point by point (one point undone), saves it, then records a patrol
and an arrest on its page and reads the effect explained in Chinese."""

import pytest

from campus_safety.intel.models import Operation, OperationEntry
from tests.ui.chromium import CHROMIUM, screenshot
from tests.ui.test_hazards_browser import new_tab, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


def test_officer_draws_the_area_and_records_what_the_operation_did(
    django_db_setup, live_server, intel_officer, browser
):
    device, _schools = intel_officer
    context, page = new_tab(browser, viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, "officer", device)
    page.goto(f"{live_server.url}/intel/operations/new/")
    page.wait_for_selector("#operation-draw-map.leaflet-container")
    page.fill("#id_name", "冬季校园周边清查专项")
    page.fill("#id_starts_on", "2026-11-01")
    page.fill("#id_ends_on", "2026-12-31")
    map_box = page.locator("#operation-draw-map")
    map_box.scroll_into_view_if_needed()
    for x, y in ((200, 120), (360, 140), (340, 300), (180, 280)):
        map_box.click(position={"x": x, "y": y})
    page.wait_for_selector("#operation-draw-map[data-points='4']")
    assert page.inner_text("#draw-count") == "4"
    page.click("#draw-undo")
    page.wait_for_selector("#operation-draw-map[data-points='3']")
    drawn = page.input_value("#id_polygon")
    assert drawn.startswith("[[") and drawn.count("],") == 2
    screenshot(page, "intel-operation-draw-desktop")
    page.click("#operation-form button[type=submit]")
    page.wait_for_url("**/intel/operations/*/")
    operation = Operation.objects.get()
    assert len(operation.polygon) == 3 and operation.schools.count() == 0
    page.wait_for_selector("#operation-map.leaflet-container")
    assert "效果如何计算" in page.inner_text("#operation-effect-panel")

    # what the operation did: a patrol and an arrest, entered on its page
    page.select_option("#id_kind", "patrol")
    page.fill("#id_day", "2026-11-20")
    page.fill("#id_persons", "4")
    page.fill("#id_hours", "2.5")
    page.fill("#id_place", "新湖路—校门口")
    page.click("#operation-entry-form button[type=submit]")
    page.wait_for_url("**/intel/operations/*/#operation-records")
    page.select_option("#id_kind", "arrest")
    page.fill("#id_day", "2026-11-19")
    page.fill("#id_persons", "2")
    page.click("#operation-entry-form button[type=submit]")
    page.wait_for_url("**/intel/operations/*/#operation-records")
    totals = page.inner_text("#operation-totals")
    assert "2" in totals and "10.0" in totals  # 2 arrested; 4 officers × 2.5 h
    assert OperationEntry.objects.count() == 2
    # a date outside the period: refused with the reason, nothing stored
    page.select_option("#id_kind", "arrest")
    page.fill("#id_day", "2026-10-30")
    page.fill("#id_persons", "1")
    page.click("#operation-entry-form button[type=submit]")
    page.wait_for_selector("#operation-entry-form .errorlist")
    assert "不在专项行动期间内" in page.inner_text("#operation-entry-form")
    assert OperationEntry.objects.count() == 2
    screenshot(page, "intel-operation-records-desktop")
    # the refused record is answered 400 on purpose (Chromium logs that); nothing else
    assert [e for e in page.errors if "status of 400" not in e] == []
    context.close()
