"""Excel import of students and their pick-up persons (issue #17 item 6) through the
imports app: checked on upload, run by the background worker, each bad row reported by
row, column and reason (never with the person's data), the good rows kept on request."""

import io
import json

from django.db import connection
from openpyxl import Workbook

from campus_safety import personal_data
from campus_safety.audit.models import AuditEntry
from campus_safety.gate import services
from campus_safety.gate.models import PickupPerson, Student
from campus_safety.imports import tasks
from campus_safety.imports.models import ImportJob
from campus_safety.orgs.models import School
from tests.factories import sign_in
from tests.imports import crafted

HEADER = [
    "学校标识码",
    "学号",
    "学生姓名",
    "班级",
    "班主任",
    "班主任手机号",
    "接送人姓名",
    "关系",
    "接送人手机号",
    "接送人身份证号",
]
GOOD_ID = "11010519491231002X"
UPLOAD = "/imports/students/"


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, **fields):
    handle = io.BytesIO(data)
    handle.name = "学生.xlsx"
    return client.post(UPLOAD, {"file": handle, **fields})


def run_job() -> ImportJob:
    assert tasks.run_pending() == 1
    return ImportJob.objects.get()


def rows_for(school, *extra):
    return [
        HEADER,
        [school.code, "K001", "王小明", "大一班", "刘老师", "13900000001", "王大明", "父亲",
         "13800000002", GOOD_ID],
        [school.code, "K001", "王小明", "大一班", None, None, "李美丽", "妈妈", "138 0000 0003",
         None],
        [school.code, "K002", "赵小红", "大二班", "陈老师", None, None, None, None, None],
        *extra,
    ]  # fmt: skip


def test_a_school_imports_students_and_guardians_who_can_then_pick_up(
    client, school, school_admin, guard, clock
):
    sign_in(client, school_admin)
    response = upload(client, xlsx(rows_for(school)))
    assert response.status_code == 303
    job = run_job()
    assert (job.state, job.rows, job.created_count, job.updated_count) == ("done", 3, 4, 0)
    ming = Student.objects.get(school=school, student_number="K001")
    assert (ming.name, ming.class_name, ming.class_teacher) == ("王小明", "大一班", "刘老师")
    father, mother = PickupPerson.objects.filter(student=ming).order_by("relation")
    assert (father.relation, mother.relation) == ("father", "mother")
    assert father.is_guardian and father.is_approved and father.is_active
    assert father.document_hash == personal_data.keyed_hash(GOOD_ID)
    assert father.birth_date.isoformat() == "1949-12-31"
    assert mother.phone == "13800000003" and mother.name_hash == personal_data.keyed_hash("李美丽")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, phone FROM gate_pickupperson WHERE id = %s", [father.pk])
        stored = cursor.fetchone()
    assert "王大明" not in stored[0] and "13800000002" not in stored[1]  # encrypted at rest
    entry = AuditEntry.objects.get(action="import.students")
    assert entry.user_id == school_admin.pk and entry.detail["created"] == 4
    assert services.release(ming, school, by=guard, person=father).released


def test_bad_rows_are_reported_with_reasons_and_the_rest_kept(
    client, school, other_school, school_admin, clock
):
    sign_in(client, school_admin)
    bad = [
        [school.code, "K003", "钱小多", "大一班", None, None, "钱大多", "父亲", None,
         "110105194912310021"],
        [school.code, "K004", "孙小小", "大一班", None, "12345", None, None, None, None],
        [school.code, "K005", "周小周", "大一班", None, None, "周大周", "叔叔", None, None],
        [school.code, "K006", "吴小吴", "大一班", None, None, "吴大吴", None, None, None],
        [school.code, "K007", "郑小郑", "大一班", None, None, None, "母亲", "13800000009", None],
        [school.code, "K001", "王小明", "大一班", None, None, "王大明", "父亲", None, None],
        [school.code, "K002", "赵小红", "大三班", None, None, None, None, None, None],
        [other_school.code, "K008", "冯小冯", "一班", None, None, None, None, None, None],
        ["9999999999", "K009", "陈小陈", "一班", None, None, None, None, None, None],
    ]  # fmt: skip
    upload(client, xlsx(rows_for(school, *bad)), keep_good="on")
    job = run_job()
    assert job.state == "done" and job.rejected_rows == 9
    problems = {row: (column, reason) for row, column, reason in job.problems}
    assert problems[5] == ("接送人身份证号", problems[5][1]) and "check" in problems[5][1]
    assert problems[6][0] == "班主任手机号" and "mobile" in problems[6][1]
    assert problems[7][0] == "关系" and "unknown value" in problems[7][1]
    assert problems[8] == ("关系", "a pick-up person needs a relation")
    assert problems[9] == ("接送人姓名", "the pick-up person's name is missing")
    assert problems[10] == ("接送人姓名", "duplicate of row 2")
    assert problems[11][0] == "学号" and "row 4" in problems[11][1]
    assert problems[12] == ("学校标识码", "outside your scope")
    assert problems[13] == ("学校标识码", "unknown school code")
    shown = json.dumps(job.problems, ensure_ascii=False)
    assert "钱大多" not in shown and "110105194912310021" not in shown  # no person in reasons
    assert set(Student.objects.values_list("student_number", flat=True)) == {"K001", "K002"}
    assert PickupPerson.objects.count() == 2


def test_a_secondary_school_keeps_no_pick_up_list(client, school, school_admin, clock):
    School.objects.filter(pk=school.pk).update(kind=School.Kind.SENIOR)
    sign_in(client, school_admin)
    upload(client, xlsx(rows_for(school)), keep_good="on")
    job = run_job()
    assert job.rejected_rows == 3 and not Student.objects.exists()
    assert {(c, r) for _n, c, r in job.problems} == {
        ("学校标识码", "pick-up lists are kept for kindergartens and primary schools")
    }


def test_without_keep_good_one_bad_row_writes_nothing(client, school, school_admin, clock):
    sign_in(client, school_admin)
    bad = [school.code, "K009", "陈小陈", "大一班", None, "123", None, None, None, None]
    upload(client, xlsx(rows_for(school, bad)))
    job = run_job()
    assert job.state == "done" and job.created_count == 0 and job.problem_count == 1
    assert not Student.objects.exists() and not PickupPerson.objects.exists()
    assert AuditEntry.objects.get(action="import.students").outcome == "failure"


def test_importing_again_updates_instead_of_adding(client, school, school_admin, clock):
    sign_in(client, school_admin)
    upload(client, xlsx(rows_for(school)))
    run_job()
    again = [
        HEADER,
        [school.code, "K001", "王小明", "大二班", None, None, "王大明", "爸爸", "13700000000",
         None],
    ]  # fmt: skip
    upload(client, xlsx(again))
    assert tasks.run_pending() == 1
    job = ImportJob.objects.order_by("-id").first()
    assert (job.created_count, job.updated_count) == (0, 2)
    ming = Student.objects.get(student_number="K001")
    assert ming.class_name == "大二班" and ming.class_teacher == "刘老师"  # kept
    father = PickupPerson.objects.get(student=ming, relation="father")
    assert father.phone == "13700000000"
    assert father.document_hash == personal_data.keyed_hash(GOOD_ID)  # kept
    assert PickupPerson.objects.count() == 2 and Student.objects.count() == 2


def test_a_hostile_workbook_is_refused_on_upload_and_nothing_queued(client, school, school_admin):
    sign_in(client, school_admin)
    response = upload(client, crafted.cut_off_workbook(HEADER, [[school.code, "K1"]]))
    assert response.status_code == 400 and "damaged" in response.content.decode()
    response = upload(client, crafted.empty_rows_workbook(HEADER, 60_000))
    assert response.status_code in (303, 400)
    if response.status_code == 303:  # accepted on upload, refused at the row limit
        job = run_job()
        assert job.state == "failed" and "rows" in job.message
    assert not Student.objects.exists()


def test_only_roles_that_import_students_may_upload(client, school, guard, education):
    for user in (guard, education):
        sign_in(client, user)
        assert upload(client, xlsx(rows_for(school))).status_code == 403
    assert not ImportJob.objects.exists()


def test_the_template_and_the_masked_export(client, school, school_admin, clock):
    sign_in(client, school_admin)
    response = client.get("/schools/import/students/template.xlsx")
    assert response.status_code == 200
    from campus_safety import spreadsheets as xl

    upload(client, xlsx(rows_for(school)))
    run_job()
    registry = xl.get_registry("students")
    rows = [registry.export_row(p, False) for p in registry.queryset(school_admin)]
    text = json.dumps(rows, ensure_ascii=False, default=str)
    assert "王**" in text and "王小明" not in text and GOOD_ID not in text
    assert "138****0002" in text
