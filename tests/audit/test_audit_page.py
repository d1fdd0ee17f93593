"""The audit log page speaks the reader's language: who (name and account), which role,
did what (a phrase, not a code), to which object (a name, linked to its page), in
local time; the action filter is a list; the export keeps the raw codes too."""

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.apps import apps
from openpyxl import load_workbook

from campus_safety.accounts.signals import announce
from campus_safety.alarms import drills
from campus_safety.audit import labels
from campus_safety.audit.actor import Actor, acting_as
from campus_safety.audit.models import AuditEntry
from campus_safety.audit.services import record
from campus_safety.audit.signals import AUDITED_APPS
from tests.factories import SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db
SRC = Path(__file__).resolve().parents[2] / "src" / "campus_safety"


@pytest.fixture
def auditor(client, city):
    user = UserFactory(role="auditor", region=city, display_name="审计员甲")
    sign_in(client, user)
    return user


@pytest.fixture
def school_admin(city):
    school = SchoolFactory(name="德州市第一实验小学")
    return UserFactory(role="school_admin", school=school, username="wang.li", display_name="王丽")


def _rows(body: str) -> list[str]:
    """The table's body rows as text, tags stripped."""
    table = body.split('id="audit-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def test_an_entry_reads_as_who_in_which_role_did_what_to_what(client, auditor, school_admin):
    with acting_as(Actor(user=school_admin, source_ip="10.0.0.8", channel="ui")):
        announce("auth.second_factor", school_admin)
    body = client.get("/audit/").content.decode()
    [row] = [r for r in _rows(body) if "双因素验证" in r]
    for words in ("王丽", "wang.li", "学校管理员", "双因素验证", "用户 王丽", "成功", "网页"):
        assert words in row, (words, row)
    assert "10.0.0.8" in row
    for raw in ("school_admin", "auth.second_factor", "accounts.user", " ui "):
        assert raw not in f" {row} ", (raw, row)


def test_times_are_local_in_the_time_column_and_in_the_object_text(
    client, auditor, school_admin, clock
):
    """A drill window from 08:00 to 09:00 Beijing time (00:00–01:00 UTC) reads so."""
    start = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
    clock.advance(seconds=(start - dt.timedelta(hours=1) - clock.now()).total_seconds())
    drills.schedule_test_window(
        school_admin,
        school=school_admin.school,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        reason="月度测试",
    )
    rows = [r for r in _rows(client.get("/audit/").content.decode()) if "安排报警测试" in r]
    assert rows and "2026-03-02 07:00" in rows[0]  # written an hour before, local
    assert "月度测试 (2026-03-02 08:00–2026-03-02 09:00)" in rows[0]
    assert "2026-03-02 00:00" not in rows[0] and "2026-03-02 01:00" not in rows[0]


def test_objects_link_to_their_page_while_they_exist(client, auditor, school_admin):
    school = SchoolFactory(name="德州市第二中学")
    gone = SchoolFactory(name="已撤并学校")
    gone.delete()
    with acting_as(Actor(user=school_admin, channel="api")):
        school.students = 700
        school.save()
    body = client.get("/audit/").content.decode()
    assert f'href="/schools/{school.pk}/"' in body
    assert f'href="/schools/{gone.pk}/"' not in body
    [deleted] = [r for r in _rows(body) if "删除学校" in r]
    assert "学校 已撤并学校" in deleted
    [updated] = [r for r in _rows(body) if "修改学校" in r]
    assert "学校 德州市第二中学" in updated and "接口" in updated


def test_a_user_object_links_to_what_that_person_did(client, auditor, school_admin):
    announce("auth.second_factor_enrolled", school_admin)
    body = client.get("/audit/").content.decode()
    assert 'href="?user=wang.li"' in body


def test_the_action_filter_is_a_list_of_phrases_grouped_by_kind(client, auditor):
    body = client.get("/audit/").content.decode()
    select = body.split('<select name="action"', 1)[1].split("</select>", 1)[0]
    assert '<optgroup label="报警处置">' in select
    assert re.search(r'<option value="alarm.acknowledge"[^>]*>签收警情</option>', select)
    assert re.search(r'<option value="school.update"[^>]*>修改学校</option>', select)
    assert re.search(r'<option value="alarms"[^>]*>报警处置（全部）</option>', select)


def test_filtering_by_an_action_or_a_group_of_actions(client, auditor, school_admin):
    record("alarm.acknowledge", user=school_admin)
    record("alarm.close", user=school_admin)
    record("hazard.report", user=school_admin)
    one = client.get("/audit/", {"action": "alarm.acknowledge"}).context["page"]
    assert [e.action for e in one] == ["alarm.acknowledge"]
    group = client.get("/audit/", {"action": "alarms"}).context["page"]
    assert sorted(e.action for e in group) == ["alarm.acknowledge", "alarm.close"]
    body = client.get("/audit/", {"action": "alarms"}).content.decode()
    assert re.search(r'<option value="alarms"[^>]*selected', body)


def test_every_action_code_the_platform_writes_has_a_phrase():
    """Literal codes in ``record(...)``/``announce(...)`` calls, the computed families,
    and create/update/delete of every audited model."""
    codes = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        codes.update(re.findall(r"\b(?:record|announce)\(\s*\"([a-z_]+\.[a-z_.]+)\"", text))
    codes |= {f"hazard.{step}" for step in ("assigned", "reassigned")}
    codes |= {f"device.query.{what}" for what in ("status", "info", "catalog")}
    codes |= {f"import.{kind}" for kind in labels.IMPORT_KINDS}
    codes |= {f"export.{kind}" for kind in labels.EXPORT_KINDS}
    for model in apps.get_models():
        if model._meta.app_label in AUDITED_APPS:
            codes |= {f"{model._meta.model_name}.{op}" for op in ("create", "update", "delete")}
    assert len(codes) > 100
    missing = sorted(code for code in codes if not labels.is_known(code))
    assert missing == []
    assert all(labels.action_label(code) != code for code in codes)


def test_an_unknown_code_is_shown_as_it_is():
    assert labels.action_label("future.thing") == "future.thing"
    assert not labels.is_known("future.thing")


def test_the_export_keeps_the_raw_codes_beside_the_words(client, auditor, school_admin):
    with acting_as(Actor(user=school_admin, source_ip="10.0.0.8", channel="ui")):
        announce("auth.second_factor", school_admin)
    response = client.get("/audit/export.xlsx", {"action": "auth.second_factor"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    [row] = rows
    entry = dict(zip(header, row, strict=True))
    assert entry["操作代码"] == "auth.second_factor" and entry["操作"] == "双因素验证"
    assert entry["角色代码"] == "school_admin" and entry["角色"] == "学校管理员"
    assert entry["对象类型"] == "accounts.user" and entry["对象编号"] == str(school_admin.pk)
    assert entry["渠道代码"] == "ui" and entry["来源"] == "网页"
    assert entry["结果代码"] == "success" and entry["结果"] == "成功"
    assert entry["用户名"] == "wang.li" and entry["姓名"] == "王丽"
    assert entry["时间"].endswith("+08:00")


def test_the_page_is_in_english_when_chosen(client, auditor, school_admin):
    with acting_as(Actor(user=school_admin, channel="ui")):
        announce("auth.second_factor", school_admin)
    client.post("/i18n/setlang/", {"language": "en", "next": "/audit/"})
    body = client.get("/audit/").content.decode()
    assert "Two-factor verification" in body and "School administrator" in body
    assert "双因素验证" not in body


def test_the_page_takes_a_bounded_number_of_queries(
    client, auditor, school_admin, django_assert_max_num_queries
):
    for n in range(30):
        school = SchoolFactory(name=f"学校{n}")
        with acting_as(Actor(user=school_admin, channel="ui")):
            record("school.update", school)
            announce("auth.second_factor", school_admin)
    with django_assert_max_num_queries(14):
        assert client.get("/audit/").status_code == 200


def test_entries_written_by_the_system_name_no_person(client, auditor):
    record("demo.seed", detail={"seed": 1})
    row = next(r for r in _rows(client.get("/audit/").content.decode()) if "生成演示数据" in r)
    assert "系统" in row


def test_nobody_but_auditors_reads_the_log(client, city):
    sign_in(client, UserFactory(role="security_admin", region=city))
    assert client.get("/audit/").status_code == 403
    assert AuditEntry.objects.visible_to(UserFactory(role="school_admin")).count() == 0


def test_a_hazard_step_is_named_in_words_not_as_its_code(client, auditor, school_admin):
    from tests.hazards.support import internal

    hazard = internal(school_admin, school_admin.school)
    rows = [r for r in _rows(client.get("/audit/").content.decode()) if "新建隐患处置记录" in r]
    assert any(f"隐患处置记录 {hazard.pk} 已交办 " in row for row in rows), rows
    assert not any(" reported " in row or " assigned " in row for row in rows)
