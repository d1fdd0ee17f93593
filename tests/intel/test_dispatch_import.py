"""110 dispatch import: a saved column mapping per source, row-level errors, call numbers
deduplicated (within a file and across imports), scope checked per row, police only."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from openpyxl import Workbook

from campus_safety.audit.models import AuditEntry
from campus_safety.intel.dispatch_import import kind_of, parse_time
from campus_safety.intel.models import DispatchSource, Incident
from tests.factories import sign_in

pytestmark = pytest.mark.django_db

HEADER = [
    "接警单编号",
    "报警时间",
    "经度",
    "纬度",
    "警情类别",
    "案发地址",
    "简要警情",
    "处理结果",
    "接警员",
]
MAPPING = {
    "col_call_number": "接警单编号", "col_received_at": "报警时间", "col_longitude": "经度",
    "col_latitude": "纬度", "col_category": "警情类别", "col_address": "案发地址",
    "col_summary": "简要警情", "col_outcome": "处理结果",
}  # fmt: skip


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _csv(rows, encoding="gb18030"):
    text = "\n".join(",".join(str(v) for v in row) for row in [HEADER, *rows]) + "\n"
    return text.encode(encoding)


def _rows(world):
    s, o = world["school"], world["other"]
    return [
        [
            "J2026050100001",
            "2026-05-01 14:30:00",
            s.longitude,
            s.latitude,
            "盗窃案件",
            "长江路1号",
            "学生自行车被盗",
            "已立案",
            "张",
        ],
        [
            "J2026050100002",
            "2026/05/02 08:05",
            s.longitude,
            s.latitude + 0.002,
            "校园滋扰",
            "",
            "",
            "",
            "李",
        ],
        [
            "J2026050100003",
            "昨天下午",
            s.longitude,
            s.latitude,
            "盗窃",
            "",
            "",
            "",
            "王",
        ],  # bad time
        ["", "2026-05-02 09:00:00", s.longitude, s.latitude, "诈骗", "", "", "", "王"],  # no number
        [
            "J2026050100005",
            "2026-05-02 10:00:00",
            s.longitude,
            95,
            "诈骗",
            "",
            "",
            "",
            "王",
        ],  # bad lat
        [
            "J2026050100006",
            "2026-05-02 11:00:00",
            o.longitude,
            o.latitude,
            "抢劫",
            "",
            "",
            "",
            "王",
        ],  # other area
        [
            "J2026050100001",
            "2026-05-01 14:30:00",
            s.longitude,
            s.latitude,
            "盗窃案件",
            "",
            "",
            "",
            "张",
        ],  # dup in file
        [
            "J2026050100008",
            "20260503193000",
            s.longitude,
            s.latitude,
            "抢劫学生财物",
            "",
            "",
            "",
            "赵",
        ],
    ]


def _post(client, data, **extra):
    return client.post("/intel/incidents/import/", {**MAPPING, **extra, "file": data})


def test_import_with_mapping_row_errors_and_dedup(client, world):
    sign_in(client, world["officer"])
    assert client.get("/intel/incidents/import/").status_code == 200
    upload = SimpleUploadedFile("110导出.csv", _csv(_rows(world)), content_type="text/csv")
    response = _post(client, upload, new_source="德州市110指挥中心", kind_map="校园滋扰=harassment")
    page = response.content.decode()
    assert response.status_code == 200, page[:3000]
    result = response.context["result"]
    assert (result.rows, result.created, result.duplicates) == (8, 3, 1)
    assert [(e.row, e.column) for e in result.errors] == [
        (4, "报警时间"), (5, "接警单编号"), (6, "纬度"), (7, "纬度"),
    ]  # fmt: skip
    assert "outside your area" in result.errors[-1].reason
    by_call = {i.source_ref: i for i in Incident.objects.all()}
    assert set(by_call) == {"J2026050100001", "J2026050100002", "J2026050100008"}
    first = by_call["J2026050100001"]
    assert first.source == Incident.Source.DISPATCH and first.kind == "theft"
    assert first.outcome == "已立案" and first.address == "长江路1号"
    assert timezone.localtime(first.occurred_at).replace(tzinfo=None) == dt.datetime(
        2026, 5, 1, 14, 30
    )
    assert first.school == world["school"] and first.created_by == world["officer"]
    assert by_call["J2026050100002"].kind == "harassment"  # the source's own table
    assert by_call["J2026050100008"].kind == "robbery"  # by its words
    source = DispatchSource.objects.get()
    assert source.column_map["call_number"] == "接警单编号"
    assert source.kind_map == {"校园滋扰": "harassment"}
    entry = AuditEntry.objects.get(action="intel.dispatch.import")
    assert entry.detail["created"] == 3 and entry.detail["errors"] == 4
    # the same file again, with the saved source: nothing new
    again = SimpleUploadedFile("110导出.csv", _csv(_rows(world)), content_type="text/csv")
    second = _post(client, again, source=source.pk, kind_map="校园滋扰=harassment")
    second = second.context["result"]
    assert (second.created, second.duplicates) == (0, 4)
    assert Incident.objects.count() == 3
    # the saved mapping comes back on the form
    form_page = client.get(f"/intel/incidents/import/?source={source.pk}").content.decode()
    assert 'value="接警单编号"' in form_page and "校园滋扰=Harassment" in form_page


def test_xlsx_export_with_date_cells_and_utf8_csv(client, world):
    sign_in(client, world["officer"])
    s = world["school"]
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(
        ["X1", dt.datetime(2026, 6, 1, 9, 15), s.longitude, s.latitude, "打架斗殴", "", "", "", ""]
    )
    sheet.append(
        ["X2", "2026-06-02 09:15:00", str(s.longitude), str(s.latitude), "", "", "", "", ""]
    )
    out = io.BytesIO()
    book.save(out)
    upload = SimpleUploadedFile("export.xlsx", out.getvalue())
    result = _post(client, upload, new_source="陵城110").context["result"]
    assert (result.created, result.errors) == (2, [])
    kinds = dict(Incident.objects.values_list("source_ref", "kind"))
    assert kinds == {"X1": "assault", "X2": "other"}
    utf8 = SimpleUploadedFile(
        "u.csv", _csv([["X3", "2026-06-03 10:00", s.longitude, s.latitude]], "utf-8-sig")
    )
    assert _post(client, utf8, new_source="陵城110").context["result"].created == 1


def test_bad_files_and_mappings_are_refused_before_anything_is_saved(client, world):
    sign_in(client, world["officer"])
    rows = _rows(world)[:1]
    cases = [
        (_csv(rows), "x.txt", {}),  # not csv/xlsx
        (b"", "x.csv", {}),  # empty
        (_csv(rows), "x.csv", {"col_call_number": "单号"}),  # mapped column not in the file
        (_csv(rows), "x.csv", {"col_received_at": ""}),  # a required field unmapped
        (_csv(rows), "x.csv", {"kind_map": "盗窃案件 theft"}),  # no "="
        (_csv(rows), "x.csv", {"kind_map": "盗窃案件=burglary"}),  # unknown kind
        (b"PK\x03\x04 not really a workbook", "x.xlsx", {}),
    ]
    for data, name, extra in cases:
        response = _post(
            client, SimpleUploadedFile(name, data), **{"new_source": "测试源", **extra}
        )
        assert response.status_code == 400, (name, extra)
    assert not DispatchSource.objects.exists() and not Incident.objects.exists()


def test_import_is_for_police_only(client, world):
    for role in ("education", "school_admin"):
        sign_in(client, world[role])
        assert client.get("/intel/incidents/import/").status_code == 403


def test_kind_and_time_parsing():
    assert kind_of("抢劫案", {}) == "robbery" and kind_of("其他", {}) == "other"
    assert kind_of("其他", {"其他": "traffic"}) == "traffic"
    assert parse_time("2026年05月01日 14:30").hour == 14
    with pytest.raises(ValueError):
        parse_time("5/1")
