"""An officer in a real browser (headless Chromium, Chinese): records an incident with
its persons through the form, reveals one person after stating why, imports a 110
export and plans a special operation on a phone-sized screen."""

import pytest

from campus_safety.audit.models import AuditEntry
from campus_safety.intel.models import Incident, Operation
from tests.ui.chromium import CHROMIUM, screenshot
from tests.ui.test_hazards_browser import new_tab, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
FULL_ID = "371402200801011234"


def test_officer_records_reveals_imports_and_plans(
    django_db_setup, live_server, intel_officer, browser
):
    device, schools = intel_officer
    context, page = new_tab(browser, viewport={"width": 1440, "height": 900})
    sign_in(page, live_server, "officer", device)
    page.goto(f"{live_server.url}/intel/incidents/")
    page.click("a[href='/intel/incidents/new/']")
    page.wait_for_url("**/intel/incidents/new/")
    page.select_option("#id_kind", "robbery")
    page.fill("#id_occurred_at", "2026-11-20T08:10")
    page.select_option("#id_school", str(schools[0].pk))
    page.fill("#id_summary", "两名青年在校门口拦截学生索要财物")
    page.select_option("#id_p-0-role", "suspect")
    page.fill("#id_p-0-name", "赵大勇")
    page.fill("#id_p-0-id_number", FULL_ID)
    page.select_option("#id_p-1-role", "victim")
    page.fill("#id_p-1-name", "钱小明")
    page.check("#id_p-1-is_minor")
    screenshot(page, "intel-incident-form-desktop")
    page.click("#incident-form button[type=submit]")
    page.wait_for_url("**/intel/incidents/*/")
    incident = Incident.objects.get()
    body = page.inner_text("main")
    assert "赵**" in body and FULL_ID not in body
    screenshot(page, "intel-incident-detail-desktop")

    page.click("text=查看完整信息 >> nth=0")
    page.wait_for_url("**/intel/persons/*/reveal/")
    page.fill("#id_reason", "核查嫌疑人身份")
    page.click("#reveal-form button[type=submit]")
    page.wait_for_selector("#person-revealed")
    assert FULL_ID in page.inner_text("#person-revealed")
    screenshot(page, "intel-person-revealed-desktop")
    entry = AuditEntry.objects.get(action="intel.person.reveal")
    assert entry.detail["reason"] == "核查嫌疑人身份"
    assert entry.detail["incident"] == incident.reference

    # a 110 export: its columns mapped once, one good row and one bad
    s = schools[1]
    csv_text = (
        "接警单编号,报警时间,经度,纬度,警情类别\n"
        f"J1,2026-11-19 16:20:00,{s.longitude},{s.latitude},盗窃\n"
        f"J2,不详,{s.longitude},{s.latitude},诈骗\n"
    )
    page.goto(f"{live_server.url}/intel/incidents/import/")
    page.fill("#id_new_source", "德州市110")
    for field, header in [
        ("call_number", "接警单编号"), ("received_at", "报警时间"),
        ("longitude", "经度"), ("latitude", "纬度"), ("category", "警情类别"),
    ]:  # fmt: skip
        page.fill(f"#id_col_{field}", header)
    page.set_input_files(
        "#id_file",
        {"name": "110.csv", "mimeType": "text/csv", "buffer": csv_text.encode("gb18030")},
    )
    page.click("#dispatch-import-form button[type=submit]")
    page.wait_for_selector("#import-result")
    result = page.inner_text("#import-result")
    assert "生成警情 1 条" in result and "报警时间" in result
    assert Incident.objects.filter(source="dispatch", source_ref="J1", kind="theft").exists()
    screenshot(page, "intel-dispatch-import-desktop")

    # a special operation, planned on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/intel/operations/")
    page.click("a[href='/intel/operations/new/']")
    page.fill("#id_name", "冬季护校专项")
    page.fill("#id_starts_on", "2026-11-21")
    page.fill("#id_ends_on", "2026-12-31")
    page.select_option("#id_schools", [str(schools[0].pk), str(schools[1].pk)])
    page.check("input[name=target_kinds][value=robbery]")
    screenshot(page, "intel-operation-form-phone")
    page.click("#operation-form button[type=submit]")
    page.wait_for_url("**/intel/operations/*/")
    operation = Operation.objects.get()
    assert operation.target_kinds == ["robbery"] and operation.schools.count() == 2
    assert page.errors == []
    context.close()
