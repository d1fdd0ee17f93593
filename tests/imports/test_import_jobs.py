"""Imports run in the background (issue #13, defect 5): the upload is checked and
answered at once, a worker runs the job, its page shows progress and then the report."""

import asyncio
import io
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import translation
from openpyxl import Workbook

from campus_safety import clock as clock_module
from campus_safety.audit.models import AuditEntry
from campus_safety.imports import tasks
from campus_safety.imports.models import ImportJob
from campus_safety.orgs.models import Organisation, School
from campus_safety.workforce.models import Guard
from tests.factories import (
    CountyFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
    sign_in,
)
from tests.imports import crafted

pytestmark = pytest.mark.django_db

HEADER = ["学校标识码", "学校名称", "学校类型", "区县代码", "在校学生数"]
GOOD = ["1371402001", "一小", "小学", "371402", 800]
UPLOAD = "/imports/schools/"
JOIN_SECONDS = 5  # a bound on waiting for a worker thread, not a measurement


@pytest.fixture
def editor(client):
    county = CountyFactory(code="371402", name="德城区")
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=county)
    user = UserFactory(role="education_staff", organisation=bureau)
    sign_in(client, user)
    return user


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, url: str = UPLOAD, **fields):
    handle = io.BytesIO(data)
    handle.name = "学校.xlsx"
    return client.post(url, {"file": handle, **fields})


def job_page(client, job, *, partial=False) -> str:
    headers = {"HX-Request": "true"} if partial else {}
    response = client.get(f"/imports/jobs/{job.pk}/", headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_an_upload_is_answered_at_once_with_a_queued_job_and_nothing_written(client, editor):
    response = upload(client, xlsx([HEADER, GOOD]))
    job = ImportJob.objects.get()
    assert (response.status_code, response.url) == (303, f"/imports/jobs/{job.pk}/")
    assert (job.state, job.created_by, job.file_name) == ("queued", editor, "学校.xlsx")
    assert not School.objects.exists()
    page = job_page(client, job)
    assert "Queued" in page and 'hx-trigger="every 1s"' in page


def test_the_job_page_shows_progress_then_the_report(client, editor):
    upload(client, xlsx([HEADER, GOOD, GOOD]))
    job = tasks.claim_next_job()
    running = job_page(client, job, partial=True)
    assert "Importing: 0 rows read." in running and 'hx-trigger="every 1s"' in running
    assert not running.lstrip().startswith("<!DOCTYPE")  # the partial, not the page

    tasks.run_job(job)
    done = job_page(client, job, partial=True)
    assert "hx-trigger" not in done  # finished: the page stops polling
    assert "1 problem found" in done and "duplicate of row 2" in done
    job.refresh_from_db()
    assert (job.state, job.rows_read, job.rows, job.problem_count) == ("done", 2, 2, 1)
    assert not School.objects.exists()  # one bad row: all or nothing, as before


def test_a_good_file_is_written_by_the_worker_and_audited_as_the_uploader(client, editor):
    upload(client, xlsx([HEADER, GOOD]))
    job = tasks.run_once()
    assert (job.state, job.created_count, job.updated_count) == ("done", 1, 0)
    assert "1 rows: 1 created, 0 updated." in job_page(client, job)
    assert School.objects.filter(code="1371402001").exists()
    entry = AuditEntry.objects.get(action="import.schools")
    assert (entry.username, entry.channel, entry.source_ip) == (editor.username, "ui", "127.0.0.1")
    assert entry.detail["created"] == 1


def test_keep_good_writes_the_good_rows_and_reports_the_rest(client, editor):
    rows = [HEADER, GOOD, ["1371402002", "二小", "小学", "999999", 800]]
    upload(client, xlsx(rows), keep_good="on")
    job = tasks.run_once()
    assert (job.created_count, job.rejected_rows, job.problems) == (
        1,
        1,
        [[3, "区县代码", "unknown county code"]],
    )
    assert "1 created, 0 updated" in job_page(client, job)


def test_the_stored_upload_is_removed_when_its_job_is_finished(client, editor, settings):
    upload(client, xlsx([HEADER, GOOD]))
    stored = settings.MEDIA_ROOT / ImportJob.objects.get().file.name
    assert stored.is_file() and stored.parent.name == "imports"
    job = tasks.run_once()
    assert not stored.exists() and job.file.name == ""


def test_a_cut_off_sheet_is_answered_400_at_once_and_queues_nothing(client, editor):
    response = upload(client, crafted.cut_off_workbook(HEADER, [GOOD] * 50))
    assert response.status_code == 400
    assert "The workbook is damaged" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_cut_off_sheet_is_explained_in_chinese(client, editor, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        response = upload(client, crafted.cut_off_workbook(HEADER, [GOOD] * 50))
    assert response.status_code == 400
    assert "文件已损坏" in response.content.decode()


def test_a_file_cut_off_in_transit_is_answered_400(client, editor):
    whole = xlsx([HEADER, GOOD])
    response = upload(client, whole[: len(whole) - 200])
    assert response.status_code == 400 and not ImportJob.objects.exists()


def test_the_30_million_row_workbook_is_refused_at_once(client, editor):
    data = crafted.empty_rows_workbook(HEADER, 30_000_000)
    response = upload(client, data)  # refused by the parts' sizes, before any row is read
    assert response.status_code == 400 and "implausible size" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_millions_of_empty_rows_fail_their_job_at_the_row_limit(client, editor):
    response = upload(client, crafted.empty_rows_workbook(HEADER, 5_000_000, rows=[GOOD]))
    assert response.status_code == 303  # queued: the rows are read by the worker
    job = tasks.run_once()
    assert job.state == "failed" and "More than 50000 rows" in job.message
    assert job.rows_read == 50_000 and job.file.name == ""
    assert "More than 50000 rows" in job_page(client, job)
    assert not School.objects.exists()


def test_a_sheet_damaged_in_the_middle_fails_its_job_with_the_reason(client, editor):
    rows = b"".join(crafted.row_xml(n, GOOD) for n in range(2, 40))
    chunks = [*crafted.sheet(HEADER, close=False), rows, b"<row><c r=", rows]
    upload(client, crafted.workbook([*chunks, b"</sheetData></worksheet>"]))
    job = tasks.run_once()
    assert job.state == "failed" and "The workbook is damaged" in job.message
    assert "The workbook is damaged" in job_page(client, job)


def test_a_job_is_seen_only_by_its_uploader_and_platform_administrators(client, editor):
    upload(client, xlsx([HEADER, GOOD]))
    job = ImportJob.objects.get()
    colleague = UserFactory(role="education_staff", organisation=editor.organisation)
    sign_in(client, colleague)
    assert client.get(f"/imports/jobs/{job.pk}/").status_code == 404
    assert job not in client.get(UPLOAD).context["recent"]
    sign_in(client, UserFactory(is_superuser=True, is_staff=True, role="system_admin"))
    assert client.get(f"/imports/jobs/{job.pk}/").status_code == 200
    client.logout()
    assert client.get(f"/imports/jobs/{job.pk}/").status_code == 302  # to the sign-in page


def test_the_upload_page_lists_the_users_recent_imports(client, editor):
    upload(client, xlsx([HEADER, GOOD]))
    page = client.get(UPLOAD).content.decode()
    assert "学校.xlsx" in page and f"/imports/jobs/{ImportJob.objects.get().pk}/" in page


def test_a_job_left_running_by_a_dead_worker_is_queued_again_and_finishes(client, editor, clock):
    upload(client, xlsx([HEADER, GOOD]))
    job = tasks.claim_next_job()  # … and the worker dies
    assert tasks.requeue_stalled() == []  # still beating, as far as anyone knows
    clock.advance(seconds=121)
    assert tasks.requeue_stalled() == [job.pk]
    job = tasks.run_once()
    assert (job.state, job.attempt, job.created_count) == ("done", 2, 1)


def test_a_job_that_keeps_dying_is_given_up_with_the_reason(client, editor, clock, settings):
    upload(client, xlsx([HEADER, GOOD]))
    stored = settings.MEDIA_ROOT / ImportJob.objects.get().file.name
    for _ in range(tasks.MAX_ATTEMPTS):
        tasks.claim_next_job()
        clock.advance(seconds=121)
        tasks.requeue_stalled()
    job = ImportJob.objects.get()
    assert job.state == "failed" and "interrupted 3 times" in job.message
    assert not stored.exists() and tasks.run_once() is None


def test_a_worker_presumed_dead_writes_nothing_once_another_took_its_job(client, editor, clock):
    """Guards without an ID number are added, not matched: a double run would show."""
    SchoolFactory(code="1371402001", region=editor.organisation.region)
    header = ["学校标识码", "姓名", "类别"]
    upload(client, xlsx([header, ["1371402001", "张伟", "专职保卫人员"]]), "/imports/guards/")
    slow = tasks.claim_next_job()
    clock.advance(seconds=121)
    tasks.requeue_stalled()
    assert tasks.run_once().created_count == 1
    late = tasks.run_job(slow)  # the first worker wakes up and carries on
    assert Guard.objects.count() == 1
    assert (late.state, late.attempt, late.created_count) == ("done", 2, 1)


def test_a_stopping_platform_puts_its_job_back_in_the_queue(client, editor, monkeypatch):
    monkeypatch.setattr(tasks, "PROGRESS_SECONDS", 0)
    upload(client, xlsx([HEADER, GOOD]))
    job = tasks.run_once(should_stop=lambda: True)
    job.refresh_from_db()
    assert (job.state, job.attempt) == ("queued", 0) and not School.objects.exists()
    assert tasks.run_pending() == 1 and School.objects.count() == 1


def test_a_user_who_lost_the_right_to_import_gets_a_failed_job(client, editor):
    upload(client, xlsx([HEADER, GOOD]))
    editor.role = "volunteer"
    editor.save(update_fields=["role"])
    job = tasks.run_once()
    assert job.state == "failed" and "no longer import" in job.message
    assert not School.objects.exists()


def test_the_job_page_has_few_queries(client, editor, django_assert_max_num_queries):
    upload(client, xlsx([HEADER, GOOD]))
    job = tasks.run_once()
    with django_assert_max_num_queries(8):
        job_page(client, job)


@pytest.mark.django_db(transaction=True)
def test_a_worker_skips_the_job_another_worker_is_claiming():
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite's writers take turns anyway")
    user = UserFactory()
    first, second = (
        ImportJob.objects.create(
            kind="schools", created_by=user, file_name=f"{n}.xlsx", keep_good=False,
            queued_at=clock_module.now(),
        )
        for n in range(2)
    )  # fmt: skip
    claimed = {}

    def other_worker():
        try:
            claimed["job"] = tasks.claim_next_job()
        finally:
            connections.close_all()

    with transaction.atomic():
        ImportJob.objects.select_for_update().get(pk=first.pk)  # being claimed here
        thread = threading.Thread(target=other_worker)
        thread.start()
        thread.join(timeout=JOIN_SECONDS)
        assert not thread.is_alive()  # it did not wait for the lock
    assert claimed["job"].pk == second.pk


@pytest.mark.django_db(transaction=True)
def test_the_runtime_loop_runs_an_upload_in_its_worker_thread(client, editor):
    upload(client, xlsx([HEADER, GOOD]))
    job = ImportJob.objects.get()

    def state() -> str:
        try:
            return ImportJob.objects.values_list("state", flat=True).get(pk=job.pk)
        finally:
            connections.close_all()  # this thread's

    async def serve_until_done() -> str:
        stop = asyncio.Event()
        loop = asyncio.create_task(tasks.run_import_jobs_loop(stop, interval=0.1))
        try:
            for _ in range(100):  # at most ~10 s on a loaded machine
                state_now = await asyncio.to_thread(state)
                if state_now in {"done", "failed"}:
                    return state_now
                await asyncio.sleep(0.1)
            return state_now
        finally:
            stop.set()
            await loop

    assert asyncio.run(serve_until_done()) == "done"
    assert School.objects.filter(code="1371402001").exists()
