"""统计报表: every block of the summary on the page, in words, and the same figures in
an Excel workbook with one sheet per block."""

import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from campus_safety.alarms.models import AlarmCase
from campus_safety.audit.models import AuditEntry
from campus_safety.devices.models import Device
from campus_safety.orgs.models import School
from campus_safety.reports.summary import summary
from tests.devices.support import DeviceFactory
from tests.factories import (
    CountyFactory,
    EquipmentFactory,
    GuardFactory,
    SchoolFactory,
    UserFactory,
    sign_in,
)

pytestmark = pytest.mark.django_db
PAGE = reverse("reports:summary")
XLSX = reverse("reports:summary_xlsx")
SHEETS = [
    "学校",
    "保安员",
    "防护装备",
    "保安员配备",
    "设备与在线率",
    "报警",
    "隐患与治安乱点",
    "巡逻与护学岗",
    "分区县统计",
]


@pytest.fixture
def town(city, clock):
    """Two districts with schools, guards, equipment, devices (one offline) and alarms."""
    decheng = CountyFactory(code="371402", name="德城区")
    lingcheng = CountyFactory(code="371403", name="陵城区")
    a = SchoolFactory(region=decheng, students=600, kind=School.Kind.PRIMARY)
    b = SchoolFactory(region=decheng, students=300, kind=School.Kind.KINDERGARTEN)
    c = SchoolFactory(region=lingcheng, students=1200, kind=School.Kind.JUNIOR)
    GuardFactory.create_batch(2, school=a)
    GuardFactory(school=c, kind="part_time")
    EquipmentFactory(school=a, quantity=5)
    camera = DeviceFactory(school=a, kind=Device.Kind.CAMERA, status=Device.Status.ONLINE)
    DeviceFactory(school=b, kind=Device.Kind.CAMERA, status=Device.Status.OFFLINE)
    button = DeviceFactory(school=c, kind=Device.Kind.ONE_KEY_ALARM, status=Device.Status.ONLINE)
    opened = clock.now() - dt.timedelta(days=2)
    for device, state, ack in ((camera, "resolved", 20), (button, "false_alarm", 40)):
        AlarmCase.objects.create(
            school=device.school,
            device=device,
            state=state,
            opened_at=opened,
            last_event_at=opened,
            acknowledged_at=opened + dt.timedelta(seconds=ack),
        )
    return {"decheng": decheng, "lingcheng": lingcheng}


def _section(body: str, key: str) -> str:
    return body.split(f'id="summary-{key}"', 1)[1].split("</table>", 1)[0]


def test_the_page_has_a_section_for_every_block_of_the_summary(client, dispatcher, town):
    body = client.get(PAGE).content.decode()
    for key in (
        "schools",
        "guards",
        "equipment",
        "staffing",
        "devices",
        "alarms",
        "hazards",
        "patrols",
        "districts",
    ):
        assert f'id="summary-{key}"' in body, key
    devices = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _section(body, "devices")))
    assert "摄像机 1 1 0 0 2 50.0%" in devices  # online, offline, fault, unknown, total, rate
    assert "合计 2 1 0 0 3 66.7%" in devices
    alarms = re.sub(r"<[^>]+>", " ", _section(body, "alarms"))
    assert "真实报警" in alarms and "50.0%" in alarms and "20 秒" in alarms


def test_the_page_says_where_the_figures_come_from_in_words(client, dispatcher, town):
    body = client.get(PAGE).content.decode()
    assert "campus-safety" not in body and "--json" not in body
    assert "根据本辖区" in body


def test_the_excel_export_has_one_sheet_per_block_with_the_summarys_figures(
    client, dispatcher, town
):
    response = client.get(XLSX)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="summary-gbt29315_2022.xlsx"' in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["报表说明", *SHEETS]
    expected = summary(School.objects.all())

    def rows(name):
        return [list(r) for r in book[name].iter_rows(min_row=2, values_only=True) if any(r)]

    schools = {r[0]: r[1] for r in rows("学校")}
    assert schools == {"小学": 1, "初级中学": 1, "幼儿园": 1, "合计": expected["schools"]}
    guards = {r[0]: r[1] for r in rows("保安员")}
    assert guards["合计"] == expected["guards"]["total"] == 3
    staffing = {r[0]: r[1] for r in rows("保安员配备")}
    assert staffing["应配保安员"] == expected["staffing"]["required"]
    assert staffing["保安员缺口"] == expected["staffing"]["gap"]
    assert staffing["在校生"] == expected["students"]
    devices = {r[0]: r[1:] for r in rows("设备与在线率")}
    assert devices["合计"][-2:] == [expected["devices"]["total"], expected["devices_online_rate"]]
    assert book["设备与在线率"]["G2"].number_format == "0.0%"
    alarms = {r[0]: r[1] for r in rows("报警")}
    assert alarms["真实报警"] == expected["alarms"]["total"] == 2
    assert alarms["误报率"] == expected["alarms"]["false_alarm_rate"]
    assert alarms["签收用时中位数"] == expected["alarms"]["p50_ack_s"]
    hazards = rows("隐患与治安乱点")
    assert hazards[0][1:] == [
        expected["hazards"]["internal"][k] for k in ("found", "rectified", "open", "overdue")
    ]
    patrols = [r[1] for r in rows("巡逻与护学岗")]
    assert patrols == [
        expected["patrols"]["posts"],
        expected["patrols"]["post_coverage_rate"],
        expected["patrols"]["tour_compliance_rate"],
    ]
    districts = rows("分区县统计")
    assert [r[:4] for r in districts] == [
        [d["name"], d["code"], d["schools"], d["students"]] for d in expected["districts"]
    ] + [["合计", None, expected["schools"], expected["students"]]]


def test_the_export_covers_only_the_users_scope_and_is_audited(client, town):
    user = UserFactory(role="education_staff", region=town["decheng"])
    sign_in(client, user)
    book = load_workbook(io.BytesIO(client.get(XLSX, {"rule": "spec_2015"}).content))
    schools = {r[0]: r[1] for r in book["学校"].iter_rows(min_row=2, values_only=True)}
    assert schools["合计"] == 2
    assert [r[0] for r in book["分区县统计"].iter_rows(min_row=2, values_only=True) if r[0]] == [
        "德城区",
        "合计",
    ]
    entry = AuditEntry.objects.get(action="export.summary")
    assert entry.username == user.username and entry.detail == {"rule": "spec_2015"}


def test_an_unknown_rule_is_refused_before_anything_is_exported(client, dispatcher, town):
    assert client.get(XLSX, {"rule": "nonsense"}).status_code == 400
    assert not AuditEntry.objects.filter(action="export.summary").exists()


def test_roles_without_the_registry_get_no_report(client, city):
    sign_in(client, UserFactory(role="security_admin", region=city))
    assert client.get(PAGE).status_code == 403
    assert client.get(XLSX).status_code == 403


def test_the_page_is_in_english_when_chosen(client, dispatcher, town):
    client.post(reverse("set_language"), {"language": "en", "next": PAGE})
    body = client.get(PAGE).content.decode()
    for words in ("Devices and online rate", "Export Excel", "False-alarm rate", "By district"):
        assert words in body
    assert "设备与在线率" not in body
    book = load_workbook(io.BytesIO(client.get(XLSX).content))
    assert "Devices and online rate" in book.sheetnames
