"""Devices to and from Excel: checked row by row, NVRs before their channels, scope
respected, credentials accepted on import and never exported."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from campus_safety import spreadsheets as xl
from campus_safety.devices.models import Device
from campus_safety.imports import tasks
from campus_safety.orgs.models import Organisation
from tests.devices.support import DeviceFactory
from tests.factories import CountyFactory, OrganisationFactory, SchoolFactory, UserFactory, sign_in

HEADER = ["设备编码", "设备名称", "设备类型", "接入协议", "学校标识码", "重点部位", "上级设备编码",
          "设备密码", "签名密钥"]  # fmt: skip


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def place():
    county = CountyFactory(code="371402", name="德城区")
    school = SchoolFactory(region=county, code="1371402001")
    other = SchoolFactory(region=CountyFactory(code="371403"), code="1371403001")
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=county)
    return {"school": school, "other": other,
            "editor": UserFactory(role="education_staff", organisation=bureau)}  # fmt: skip


def rows_for(school_code: str) -> list[list]:
    return [
        HEADER,
        ["37140200111187000001", "录像机", "硬盘录像机", "GB/T 28181", school_code, "安防监控中心",
         None, "Nvr-pass-1", None],
        ["37140200111327000001", "校门口01", "摄像机", "国标", school_code, "校门",
         "37140200111187000001", None, None],
        ["37140200111347000001", "一键报警", "一键报警", "HTTP", school_code, "门卫室", None, None,
         "hmac-secret-1"],
    ]  # fmt: skip


def test_a_workbook_of_an_nvr_its_camera_and_an_alarm_box_is_imported(place):
    registry = xl.get_registry("devices")
    result = xl.import_workbook(registry, xlsx(rows_for("1371402001")), place["editor"])
    assert result.errors == [] and (result.created, result.updated) == (3, 0)
    camera = Device.objects.get(device_id="37140200111327000001")
    assert (camera.parent.device_id, camera.key_area, camera.kind) == (
        "37140200111187000001", "entrance", "camera")  # fmt: skip
    assert Device.objects.get(device_id="37140200111187000001").password == "Nvr-pass-1"
    assert Device.objects.get(device_id="37140200111347000001").secret == "hmac-secret-1"


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_written(place):
    rows = rows_for("1371402001")
    rows[1][0] = "3714020011118700000"  # 19 digits: allowed
    rows[2][6] = "37140200111327000099"  # unknown parent
    rows[3][8] = None  # HTTP without a secret
    rows.append(["37140200111327000005", "x", "一键报警", "MQTT", "1371402001", None, None, None,
                 None])  # type 132 is not an alarm input  # fmt: skip
    rows.append(["123", "x", "摄像机", "MQTT", "1371402001", None, None, None, None])
    result = xl.import_workbook(xl.get_registry("devices"), xlsx(rows), place["editor"])
    problems = {(e.row, e.column) for e in result.errors}
    assert problems == {(3, "上级设备编码"), (4, "签名密钥"), (5, "设备类型"), (6, "设备编码")}
    assert Device.objects.count() == 0


def test_a_device_of_another_scope_cannot_be_overwritten_by_import(place):
    DeviceFactory(device_id="37140300111347000001", school=place["other"])
    rows = [HEADER, ["37140300111347000001", "x", "一键报警", "MQTT", "1371402001", None, None,
                     None, None]]  # fmt: skip
    result = xl.import_workbook(xl.get_registry("devices"), xlsx(rows), place["editor"])
    assert [(e.row, e.column) for e in result.errors] == [(2, "设备编码")]


def test_export_has_no_credentials_and_the_template_downloads(client, place):
    xl.import_workbook(xl.get_registry("devices"), xlsx(rows_for("1371402001")), place["editor"])
    sign_in(client, place["editor"])
    response = client.get(reverse("devices:device_list"), {"export": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    text = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)
    assert "37140200111327000001" in text
    assert "Nvr-pass-1" not in text and "hmac-secret-1" not in text
    template = client.get(reverse("devices:import_template"))
    assert template.status_code == 200 and template.content.startswith(b"PK")


def test_the_import_page_writes_a_good_workbook(client, place):
    sign_in(client, place["editor"])
    upload = io.BytesIO(xlsx(rows_for("1371402001")))
    upload.name = "devices.xlsx"
    response = client.post(reverse("imports:upload", args=["devices"]), {"file": upload})
    assert response.status_code == 303  # queued; the import worker writes it
    assert tasks.run_once().state == "done"
    assert Device.objects.count() == 3
