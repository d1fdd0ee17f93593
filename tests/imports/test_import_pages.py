"""Import and export through the web pages: same rules as the command line; the
upload is queued and a worker (``imports.tasks``) writes it."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from campus_safety.imports import tasks
from campus_safety.orgs.models import Organisation, School
from tests.factories import CountyFactory, OrganisationFactory, SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    county = CountyFactory(code="371402", name="德城区")
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=county)
    user = UserFactory(role="education_staff", organisation=bureau)
    sign_in(client, user)
    return user


def upload(rows) -> io.BytesIO:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "schools.xlsx"
    return out


def test_the_template_downloads_as_xlsx(client, editor):
    response = client.get("/schools/import/schools/template.xlsx")
    assert response.status_code == 200
    header = [c.value for c in load_workbook(io.BytesIO(response.content)).worksheets[0][1]]
    assert header[:3] == ["学校标识码", "学校名称", "学校类型"]


def test_a_good_upload_is_queued_then_written_by_the_worker(client, editor):
    rows = [
        ["学校标识码", "学校名称", "学校类型", "区县代码", "在校学生数"],
        ["1371402001", "一小", "小学", "371402", 800],
    ]
    response = client.post("/imports/schools/", {"file": upload(rows)})
    assert response.status_code == 303
    assert tasks.run_once().state == "done"
    assert School.objects.filter(code="1371402001").exists()


def test_a_bad_upload_lists_each_problem_on_its_job_page_and_writes_nothing(client, editor):
    rows = [
        ["学校标识码", "学校名称", "学校类型", "区县代码", "在校学生数"],
        ["1371402001", "一小", "小学", "371402", 800],
        ["bad", "二小", "小学", "371402", 800],
    ]
    response = client.post("/imports/schools/", {"file": upload(rows)})
    tasks.run_once()
    page = client.get(response.url).content.decode()
    assert "学校标识码" in page and "must be 10 digits" in page
    assert not School.objects.exists()


def test_a_file_that_is_not_xlsx_is_answered_400(client, editor):
    bad = io.BytesIO(b"not a workbook")
    bad.name = "x.xlsx"
    response = client.post("/imports/schools/", {"file": bad})
    assert response.status_code == 400


def test_roles_without_import_rights_get_403(client):
    school = SchoolFactory()
    sign_in(client, UserFactory(role="police_officer", school=school))
    assert client.get("/imports/schools/").status_code == 403
    assert client.post("/imports/schools/", {"file": upload([["x"]])}).status_code == 403


def test_an_unknown_kind_is_404(client, editor):
    assert client.get("/imports/nonsense/").status_code == 404


def test_list_pages_export_what_they_show(client, editor):
    county = editor.organisation.region
    SchoolFactory(region=county, name="甲小学", kind="primary")
    SchoolFactory(region=county, name="乙幼儿园", kind="kindergarten")
    response = client.get("/schools/?kind=kindergarten&export=xlsx")
    assert response.status_code == 200
    names = [
        row[1]
        for row in load_workbook(io.BytesIO(response.content))
        .worksheets[0]
        .iter_rows(min_row=2, values_only=True)
    ]
    assert names == ["乙幼儿园"]
    assert client.get("/workforce/?export=xlsx").content.startswith(b"PK")
    assert client.get("/workforce/equipment/?export=xlsx").content.startswith(b"PK")
