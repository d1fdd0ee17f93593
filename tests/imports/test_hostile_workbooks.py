"""Workbooks that are small on disk and huge, or broken, inside (issue #13, defects 5
and 7): each is refused after bounded work — no more rows read than the limit, nothing
read at all when the file's parts are implausible — in bounded memory, with a reason a
person can act on. Work is counted, not timed (timings belong in bench/import_limits.py,
which measured 290 s → 0.001 s for the 30,000,000-row file)."""

import tracemalloc

import pytest

from campus_safety import spreadsheets as xl
from campus_safety.orgs.models import Organisation, School
from tests.factories import CountyFactory, OrganisationFactory, UserFactory
from tests.imports import crafted

pytestmark = pytest.mark.django_db

HEADER = ["学校标识码", "学校名称", "学校类型", "区县代码", "在校学生数"]
GOOD = ["1371402001", "一小", "小学", "371402", 800]
BOUNDED_MEMORY = 64 * 2**20
ROW_LIMIT = 50_000  # IMPORT_MAX_ROWS' default


@pytest.fixture
def editor():
    county = CountyFactory(code="371402", name="德城区")
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=county)
    return UserFactory(role="education_staff", organisation=bureau)


def counted_import(data: bytes, user) -> tuple[BaseException | xl.ImportResult, int]:
    """(the result or the exception, how many rows were read before it)."""
    read = [0]

    def progress(rows: int, expected: int | None) -> None:
        read[0] = rows

    try:
        outcome = xl.import_workbook(xl.get_registry("schools"), data, user, progress=progress)
    except Exception as exc:
        outcome = exc
    return outcome, read[0]


def peak_memory(data: bytes, user) -> int:
    """The most bytes Python held at once while importing ``data``."""
    tracemalloc.start()
    try:
        counted_import(data, user)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_five_million_empty_rows_are_refused_at_the_row_limit(editor):
    data = crafted.empty_rows_workbook(HEADER, 5_000_000, rows=[GOOD])
    assert len(data) < 64 * 1024  # the 45 KB file of the issue
    outcome, rows_read = counted_import(data, editor)
    assert isinstance(outcome, xl.ImportFileError)
    assert "More than 50000 rows (empty rows count too)" in str(outcome)
    assert rows_read <= ROW_LIMIT + 1  # not 5,000,000
    assert peak_memory(data, editor) < BOUNDED_MEMORY
    assert not School.objects.exists()


def test_empty_rows_count_against_a_lowered_limit_too(editor, settings):
    settings.IMPORT_MAX_ROWS = 10
    with pytest.raises(xl.ImportFileError, match="More than 10 rows"):
        xl.import_workbook(
            xl.get_registry("schools"), crafted.empty_rows_workbook(HEADER, 10, [GOOD]), editor
        )
    result = xl.import_workbook(
        xl.get_registry("schools"), crafted.empty_rows_workbook(HEADER, 9, [GOOD]), editor
    )
    assert (result.rows, result.created) == (1, 1)


def test_one_row_numbered_three_million_is_refused_not_read_through_the_gap(editor):
    chunks = [*crafted.sheet(HEADER, [GOOD], close=False)]
    far = crafted.row_xml(3_000_000, ["1371402002", "二小", "小学", "371402", 900])
    data = crafted.workbook([*chunks, far, b"</sheetData></worksheet>"])
    outcome, rows_read = counted_import(data, editor)
    assert isinstance(outcome, xl.ImportFileError) and "More than 50000 rows" in str(outcome)
    assert rows_read <= ROW_LIMIT + 1  # the gap counts; it is not walked to row 3,000,000


def test_a_dimension_claiming_the_whole_grid_is_not_believed(editor):
    sheet = crafted.sheet(HEADER, [GOOD], empty_rows=40_000, dimension="A1:XFD1048576")
    outcome, _ = counted_import(crafted.workbook(sheet), editor)
    assert isinstance(outcome, xl.ImportResult), outcome
    assert (outcome.rows, outcome.created) == (1, 1)
    # 53 s before, every empty row read 16,384 cells wide: now as wide as the header
    assert peak_memory(crafted.workbook(sheet), editor) < BOUNDED_MEMORY


def test_a_part_that_unpacks_past_the_limit_is_refused_before_it_is_read(editor, settings):
    settings.IMPORT_MAX_PART_BYTES = 8 * 2**20
    data = crafted.empty_rows_workbook(HEADER, 2_000_000)  # 12 MB of XML in 12 KB
    outcome, rows_read = counted_import(data, editor)
    assert isinstance(outcome, xl.ImportFileError)
    assert "implausible size" in str(outcome) and rows_read == 0  # refused unread


def test_the_30_million_row_workbook_of_the_issue_is_refused_fast(editor):
    data = crafted.empty_rows_workbook(HEADER, 30_000_000)
    assert len(data) < 300 * 1024  # 264 KB, 180 MB unpacked
    outcome, rows_read = counted_import(data, editor)
    assert isinstance(outcome, xl.ImportFileError), outcome
    assert rows_read <= ROW_LIMIT + 1  # 290 s and 2.7 GB before
    assert peak_memory(data, editor) < BOUNDED_MEMORY


def test_a_zip_that_understates_a_parts_size_is_refused_at_the_stated_size(editor):
    data = crafted.understated_workbook(HEADER, 5_000_000)
    outcome, rows_read = counted_import(data, editor)
    assert isinstance(outcome, xl.ImportFileError), outcome
    assert "damaged" in str(outcome)
    assert rows_read == 0  # refused before a row is read
    assert peak_memory(data, editor) < BOUNDED_MEMORY


def test_a_cut_off_sheet_is_a_damaged_file_not_a_crash(editor):
    data = crafted.cut_off_workbook(HEADER, [GOOD] * 50)
    with pytest.raises(xl.ImportFileError, match="damaged"):
        xl.check_workbook(data)
    with pytest.raises(xl.ImportFileError, match="damaged"):
        xl.import_workbook(xl.get_registry("schools"), data, editor)
    assert not School.objects.exists()


def test_a_sheet_broken_in_the_middle_is_a_damaged_file_when_it_is_read(editor):
    """Whole at both ends, so it passes the upload check; the reader finds the damage."""
    rows = b"".join(crafted.row_xml(n, GOOD) for n in range(2, 40))
    chunks = [*crafted.sheet(HEADER, close=False), rows, b"<row><c r=", rows]
    data = crafted.workbook([*chunks, b"</sheetData></worksheet>"])
    xl.check_workbook(data)
    with pytest.raises(xl.ImportFileError, match="damaged"):
        xl.import_workbook(xl.get_registry("schools"), data, editor)


def test_a_file_cut_off_in_transit_is_refused(editor):
    whole = crafted.empty_rows_workbook(HEADER, 10, [GOOD])
    with pytest.raises(xl.ImportFileError, match="not a readable"):
        xl.import_workbook(xl.get_registry("schools"), whole[: len(whole) // 2], editor)


def test_a_doctype_in_any_part_is_refused(editor):
    sheet = [crafted.SHEET_OPEN.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "b">]><worksheet')]
    sheet += list(crafted.sheet(HEADER, [GOOD]))[1:]
    with pytest.raises(xl.ImportFileError, match="not a readable"):
        xl.check_workbook(crafted.workbook(sheet))


def test_a_sound_workbook_written_by_hand_still_imports(editor):
    result = xl.import_workbook(
        xl.get_registry("schools"), crafted.workbook(crafted.sheet(HEADER, [GOOD])), editor
    )
    assert (result.rows, result.created) == (1, 1)


def run_cli(*args: str) -> int:
    """``campus-safety …`` as typed at a shell, in this process: the exit status. (The
    command closes the database connections when it ends: query nothing after it.)"""
    from campus_safety import cli

    try:
        cli.main(["campus-safety", *args])
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0


def test_the_cli_says_a_cut_off_sheet_is_damaged_in_one_line(editor, tmp_path, capsys):
    path = tmp_path / "schools.xlsx"
    path.write_bytes(crafted.cut_off_workbook(HEADER, [GOOD] * 50))
    status = run_cli("import", "schools", str(path), "--user", editor.username, "-v", "0")
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    # (on PostgreSQL the test's pool also logs here, when the command closes connections)
    assert [line for line in err.splitlines() if "Error" in line] == [
        f"CommandError: {path}: {xl.damaged()}"
    ]


def test_the_cli_keeps_to_the_same_row_limit(editor, tmp_path, capsys):
    path = tmp_path / "schools.xlsx"
    path.write_bytes(crafted.empty_rows_workbook(HEADER, 5_000_000, rows=[GOOD]))
    status = run_cli("import", "schools", str(path), "--user", editor.username, "-v", "0")
    err = capsys.readouterr().err
    assert status == 1 and "More than 50000 rows" in err and "Traceback" not in err


MAIN = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def test_millions_of_shared_strings_are_refused_before_openpyxl_lists_them(editor):
    """7,800,000 strings in 315 KB took openpyxl 194 s and 711 MB to read."""
    strings = crafted.repeated(b"<sst " + MAIN + b">", b"<si><t>a</t></si>", 2_000_000, b"</sst>")
    data = crafted.workbook(crafted.sheet(HEADER, [GOOD]), shared_strings=strings)
    outcome, rows_read = counted_import(data, editor)
    assert isinstance(outcome, xl.ImportFileError) and "implausible size" in str(outcome)
    assert rows_read == 0  # refused before openpyxl reads the part


def test_a_million_cell_styles_are_refused_before_openpyxl_builds_them(editor):
    """100,000 cell formats cost openpyxl 2.9 s and 73 MB; Excel itself stops at 64,000."""
    xf = b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    styles = crafted.repeated(
        b"<styleSheet " + MAIN + b"><cellXfs>", xf, 1_000_000, b"</cellXfs></styleSheet>"
    )
    data = crafted.workbook(crafted.sheet(HEADER, [GOOD]), styles=styles)
    outcome, rows_read = counted_import(data, editor)
    assert isinstance(outcome, xl.ImportFileError) and "implausible size" in str(outcome)
    assert rows_read == 0  # refused before openpyxl reads the part


def test_shared_strings_and_styles_of_a_real_size_still_import(editor):
    strings = crafted.repeated(b"<sst " + MAIN + b">", b"<si><t>x</t></si>", 1000, b"</sst>")
    xf = b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    styles = crafted.repeated(
        b"<styleSheet " + MAIN + b"><cellXfs>", xf, 100, b"</cellXfs></styleSheet>"
    )
    sheet = crafted.sheet(HEADER, [GOOD])
    data = crafted.workbook(sheet, shared_strings=strings, styles=styles)
    result = xl.import_workbook(xl.get_registry("schools"), data, editor)
    assert (result.rows, result.created) == (1, 1)
