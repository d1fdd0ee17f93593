"""Excel import/export of the registries: bad files lose nothing and say why."""

import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from campus_safety import spreadsheets as xl
from campus_safety.audit.models import AuditEntry
from campus_safety.imports import services
from campus_safety.orgs.models import Organisation, School
from campus_safety.workforce.models import Equipment, Guard
from tests.factories import CountyFactory, OrganisationFactory, SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db


SCHOOL_HEADER = ["学校标识码", "学校名称", "学校类型", "区县代码", "在校学生数"]


def xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def county():
    return CountyFactory(code="371402", name="德城区")


@pytest.fixture
def editor(county):
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=county)
    return UserFactory(role="education_staff", organisation=bureau)


def run_import(kind, rows, user, **kwargs):
    return services.import_workbook(xl.get_registry(kind), xlsx(rows), user, **kwargs)


def test_good_school_rows_are_created_then_updated_by_code(editor):
    rows = [
        SCHOOL_HEADER,
        ["1371402001", "一小", "小学", "371402", 800],
        ["1371402002", "一幼", "kindergarten", "371402", 200],
    ]
    assert (run_import("schools", rows, editor).created, School.objects.count()) == (2, 2)
    rows[1][4] = 900
    result = run_import("schools", rows, editor)
    assert (result.created, result.updated) == (0, 2)
    assert School.objects.get(code="1371402001").students == 900


def test_one_bad_row_means_nothing_is_written_and_each_error_is_located(editor):
    rows = [
        SCHOOL_HEADER,
        ["1371402001", "一小", "小学", "371402", 800],
        ["13714", "坏码", "小学", "371402", 800],
        ["1371402003", "三小", "大学", "371402", "很多"],
    ]
    result = run_import("schools", rows, editor)
    assert School.objects.count() == 0
    located = {(e.row, e.column) for e in result.errors}
    assert located == {(3, "学校标识码"), (4, "学校类型"), (4, "在校学生数")}
    assert "10 digits" in next(e.reason for e in result.errors if e.row == 3)


def test_keep_good_writes_the_good_rows_and_reports_the_rest(editor):
    rows = [
        SCHOOL_HEADER,
        ["1371402001", "一小", "小学", "371402", 800],
        ["1371402002", "二小", "小学", "999999", 800],
    ]
    result = run_import("schools", rows, editor, keep_good=True)
    assert (result.created, [e.row for e in result.errors]) == (1, [3])


def test_duplicate_codes_in_one_file_are_rejected(editor):
    rows = [
        SCHOOL_HEADER,
        ["1371402001", "一小", "小学", "371402", 800],
        ["1371402001", "一小again", "小学", "371402", 800],
    ]
    result = run_import("schools", rows, editor)
    assert [(e.row, e.reason) for e in result.errors] == [(3, "duplicate of row 2")]


def test_wrong_columns_name_what_is_missing_and_unknown(editor):
    with pytest.raises(
        xl.ImportFileError, match=r"missing columns: 学校名称.*unknown columns: 名字"
    ):
        run_import(
            "schools", [["学校标识码", "名字", "学校类型", "区县代码", "在校学生数"]], editor
        )


def test_empty_file_and_header_only_file_are_clear_errors(editor):
    with pytest.raises(xl.ImportFileError, match="empty"):
        run_import("schools", [], editor)
    with pytest.raises(xl.ImportFileError, match="no rows"):
        run_import("schools", [SCHOOL_HEADER], editor)
    with pytest.raises(xl.ImportFileError, match="empty"):
        xl.import_workbook(xl.get_registry("schools"), b"", editor)


def test_a_file_that_is_not_xlsx_is_refused(editor):
    with pytest.raises(xl.ImportFileError, match=r"not an \.xlsx"):
        xl.import_workbook(xl.get_registry("schools"), b"code,name\n1,2\n", editor)
    with pytest.raises(xl.ImportFileError, match="not a readable"):
        xl.import_workbook(xl.get_registry("schools"), b"PK\x03\x04garbage" * 10, editor)


def test_a_50_mb_file_is_refused_before_parsing(editor):
    big = b"PK\x03\x04" + b"\0" * (50 * 2**20)
    with pytest.raises(xl.ImportFileError, match="larger than"):
        xl.import_workbook(xl.get_registry("schools"), big, editor)


def test_rows_outside_the_users_scope_are_refused(editor):
    CountyFactory(code="371403", name="陵城区")
    SchoolFactory(code="1371403009", region__code="371403")
    rows = [
        SCHOOL_HEADER,
        ["1371403001", "陵一小", "小学", "371403", 800],
        ["1371403009", "别人的", "小学", "371403", 800],
    ]
    result = run_import("schools", rows, editor)
    assert {(e.row, e.reason) for e in result.errors} == {
        (2, "outside your scope"),
        (3, "this school is outside your scope"),
    }


def test_formula_text_in_an_import_cell_is_refused(editor):
    rows = [SCHOOL_HEADER, ["1371402001", '=HYPERLINK("http://x")', "小学", "371402", 800]]
    result = run_import("schools", rows, editor)
    assert result.errors and result.errors[0].column == "学校名称"


def test_exports_never_produce_formula_cells(editor, county):
    SchoolFactory(region=county, name="=cmd|' /C calc'!A0", address="@SUM(1+1)")
    data = xl.export_bytes(xl.get_registry("schools"), xl.get_registry("schools").queryset(editor))
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    names = [c.value for c in cells if isinstance(c.value, str) and "cmd" in c.value]
    assert names == ["'=cmd|' /C calc'!A0"]


def test_export_masks_phones_for_roles_that_may_not_see_them(county):
    school = SchoolFactory(region=county, principal_phone="13812345678")
    registry = xl.get_registry("schools")
    masked = load_workbook(
        io.BytesIO(xl.export_bytes(registry, School.objects.filter(pk=school.pk)))
    ).worksheets[0]
    values = [c.value for row in masked.iter_rows() for c in row]
    assert "138****5678" in values and "13812345678" not in values


def test_template_round_trips_through_the_importer(editor, tmp_path):
    template = xl.template_bytes("学校", xl.get_registry("schools").columns)
    OrganisationFactory(
        kind=Organisation.Kind.POLICE_STATION, name="新华派出所", region=editor.organisation.region
    )
    result = xl.import_workbook(xl.get_registry("schools"), template, editor)
    assert result.ok and result.created == 1


def test_guard_import_checks_id_numbers_and_companies(editor, county):
    SchoolFactory(code="1371402001", region=county)
    OrganisationFactory(kind=Organisation.Kind.SECURITY_COMPANY, name="德州保安服务公司")
    header = ["学校标识码", "姓名", "类别", "保安公司", "身份证号"]
    rows = [
        header,
        ["1371402001", "张伟", "专职保卫人员", None, "11010519491231002X"],
        ["1371402001", "李强", "professional", None, None],
        ["1371402001", "王芳", "兼职保卫人员", None, "110105194912310021"],
        ["1371402001", "赵敏", "professional", "德州保安服务公司", None],
    ]
    result = run_import("guards", rows, editor)
    assert {(e.row, e.column) for e in result.errors} == {(3, "保安公司"), (4, "身份证号")}
    rows = [rows[0], rows[1], rows[4]]
    assert run_import("guards", rows, editor).created == 2
    assert run_import("guards", rows, editor).updated == 1  # same ID number → same person
    assert Guard.objects.count() == 3


def test_equipment_import_upserts_one_row_per_school_and_kind(editor, county):
    SchoolFactory(code="1371402001", region=county)
    header = ["学校标识码", "装备类型", "数量"]
    assert run_import("equipment", [header, ["1371402001", "baton", 6]], editor).created == 1
    result = run_import("equipment", [header, ["1371402001", "baton", 9]], editor)
    assert (result.updated, Equipment.objects.get().quantity) == (1, 9)


def test_an_import_leaves_one_audit_entry(editor):
    run_import("schools", [SCHOOL_HEADER, ["1371402001", "一小", "小学", "371402", 800]], editor)
    entry = AuditEntry.objects.filter(action="import.schools").get()
    assert entry.username == editor.username and entry.detail["created"] == 1


def test_cli_import_refuses_the_whole_file_with_reasons(editor, tmp_path, capsys):
    path = tmp_path / "schools.xlsx"
    path.write_bytes(xlsx([SCHOOL_HEADER, ["bad", "x", "小学", "371402", 1]]))
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import", "schools", str(path), "--user", editor.username)
    assert "row 2, column 学校标识码" in capsys.readouterr().err


def test_cli_import_and_export_round_trip(editor, tmp_path):
    path = tmp_path / "schools.xlsx"
    path.write_bytes(xlsx([SCHOOL_HEADER, ["1371402001", "一小", "小学", "371402", 800]]))
    call_command("import", "schools", str(path), "--user", editor.username, verbosity=0)
    out = tmp_path / "out.xlsx"
    call_command("export", "schools", str(out), "--user", editor.username)
    sheet = load_workbook(out).worksheets[0]
    assert [c.value for c in sheet[2]][:2] == ["1371402001", "一小"]


def test_cli_import_refuses_a_role_without_import_rights(county, tmp_path):
    viewer = UserFactory(role="volunteer", region=county)
    path = tmp_path / "s.xlsx"
    path.write_bytes(xlsx([SCHOOL_HEADER]))
    with pytest.raises(CommandError, match="may not import"):
        call_command("import", "schools", str(path), "--user", viewer.username)
