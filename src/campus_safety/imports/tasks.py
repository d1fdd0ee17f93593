"""The import worker: claims queued jobs and runs them, one at a time per worker.

In the embedded mode the loop runs in a worker thread of ``campus-safety serve``
(runtime.py, through ``periodic.run_every``); in production any number of
``campus-safety import-jobs --loop`` processes run it side by side:

* claiming is ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (two workers never
  wait for, or take, the same job) and a conditional UPDATE on SQLite, whose
  write transactions already run one at a time;
* a running job beats (``beat_at``) while its rows are read; one that has not beaten
  for ``IMPORT_JOB_STALE_SECONDS`` (its worker crashed, or the platform stopped) is
  queued again — imports are upserts, so a re-run writes the same rows — and after
  ``MAX_ATTEMPTS`` it fails with the reason;
* a job is finished in the same transaction that writes its rows, and only by the
  worker that still owns it (``state`` running, ``attempt`` the one it claimed): a
  worker that lost its job rolls its writes back, so a job's rows are written once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _

from campus_safety import clock, periodic
from campus_safety import spreadsheets as xl
from campus_safety.accounts.roles import IMPORT, can
from campus_safety.audit.actor import Actor, acting_as
from campus_safety.imports import services
from campus_safety.imports.models import ImportJob
from campus_safety.retention import Policy

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
PROBLEMS_KEPT = 500  # the page lists this many; the counts are whole
PROGRESS_SECONDS = 0.5  # the page polls every second
State = ImportJob.State


class LostJob(Exception):
    """Another worker took this job over (this one was presumed dead): stop, write nothing."""


class Interrupted(Exception):
    """The platform is stopping: put the job back in the queue."""


def stale_seconds() -> float:
    return float(getattr(settings, "IMPORT_JOB_STALE_SECONDS", 120))


def _owned(job: ImportJob):
    return ImportJob.objects.filter(pk=job.pk, state=State.RUNNING, attempt=job.attempt)


def claim_next_job() -> ImportJob | None:
    """Take the oldest queued job: it is running, ours, attempt + 1."""
    with transaction.atomic():
        queued = ImportJob.objects.filter(state=State.QUEUED).order_by("queued_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            queued = queued.select_for_update(skip_locked=True)
        job = queued.first()
        if job is None:
            return None
        now = clock.now()
        claimed = ImportJob.objects.filter(pk=job.pk, state=State.QUEUED).update(
            state=State.RUNNING, attempt=F("attempt") + 1, started_at=now, beat_at=now
        )
        if not claimed:  # taken between the read and the write: the next run looks again
            return None
    job.refresh_from_db()
    return job


def requeue_stalled(now: Any = None) -> list[int]:
    """Queue again the running jobs nobody has beaten for; fail those tried too often."""
    now = now or clock.now()
    cutoff = now - dt.timedelta(seconds=stale_seconds())
    touched = []
    for job in ImportJob.objects.filter(state=State.RUNNING, beat_at__lt=cutoff):
        if job.attempt >= MAX_ATTEMPTS:
            with translation.override(job.language or settings.LANGUAGE_CODE):
                message = _(
                    "The import was interrupted %(n)s times and was given up; nothing of it "
                    "was written. Upload the file again."
                ) % {"n": job.attempt}
            if _owned(job).update(state=State.FAILED, message=message, file="", finished_at=now):
                _remove_file(job.file.name)
                touched.append(job.pk)
        elif _owned(job).update(state=State.QUEUED):
            log.warning("import job %s stopped beating: queued again", job.pk)
            touched.append(job.pk)
    return touched


class _Progress:
    """Records rows read on the job every ``PROGRESS_SECONDS`` (a beat too), and stops
    the run when the platform stops or the job was taken over."""

    def __init__(self, job: ImportJob, should_stop: Callable[[], bool]) -> None:
        self.job, self.should_stop = job, should_stop
        self.read, self.expected, self.written_at = 0, None, time.monotonic()

    def __call__(self, read: int, expected: int | None) -> None:
        self.read, self.expected = read, expected
        if time.monotonic() - self.written_at >= PROGRESS_SECONDS:
            self.beat()

    def beat(self) -> None:
        if self.should_stop():
            raise Interrupted
        self.written_at = time.monotonic()
        fields = {"rows_read": self.read, "rows_expected": self.expected, "beat_at": clock.now()}
        if not _owned(self.job).update(**fields):
            raise LostJob


def run_job(job: ImportJob, should_stop: Callable[[], bool] = lambda: False) -> ImportJob:
    """Import the job's file as its uploader (their scope, role and language; their
    address in the audit log) and record the outcome on the job."""
    progress = _Progress(job, should_stop)
    user, stored, finished = job.created_by, job.file.name, False
    with (
        translation.override(job.language or settings.LANGUAGE_CODE),
        acting_as(Actor(user=user, source_ip=job.source_ip, channel="ui")),
    ):
        try:
            registry = xl.get_registry(job.kind)
            if not (user.is_active and can(user, IMPORT, registry.kind)):
                raise xl.ImportFileError(_("You may no longer import these records."))
            with job.file.open("rb") as handle:
                services.import_workbook(
                    registry,
                    handle,
                    user,
                    keep_good=job.keep_good,
                    progress=progress,
                    finish=lambda result: _finish(job, progress, result),
                )
            finished = True
        except xl.ImportFileError as exc:
            finished = _fail(job, str(exc), progress)
        except Interrupted:
            _owned(job).update(state=State.QUEUED, attempt=F("attempt") - 1)
        except LostJob:
            log.warning("import job %s was taken over by another worker", job.pk)
        except Exception:
            log.exception("import job %s failed", job.pk)
            message = _("The import stopped on an unexpected error; nothing was written.")
            finished = _fail(job, message, progress)
    if finished:
        _remove_file(stored)
    job.refresh_from_db()
    return job


def _fail(job: ImportJob, message: str, progress: _Progress) -> bool:
    """The job failed with ``message`` (if it is still ours)."""
    return bool(
        _owned(job).update(
            state=State.FAILED,
            message=message,
            rows_read=progress.read,
            rows_expected=progress.expected,
            file="",
            finished_at=clock.now(),
        )
    )


def _finish(job: ImportJob, progress: _Progress, result: xl.ImportResult) -> None:
    """Inside the transaction that writes the rows (or records their refusal): the job
    is done with its report — if it is still ours, else everything rolls back."""
    problems = [[e.row, e.column, e.reason] for e in result.errors[:PROBLEMS_KEPT]]
    if not _owned(job).update(
        state=State.DONE,
        rows_read=progress.read,
        rows_expected=progress.expected,
        rows=result.rows,
        created_count=result.created,
        updated_count=result.updated,
        rejected_rows=len({e.row for e in result.errors}),
        problem_count=len(result.errors),
        problems=problems,
        file="",
        finished_at=clock.now(),
    ):
        raise LostJob


def _remove_file(name: str) -> None:
    """The upload holds personal data: it goes as soon as its job is finished."""
    if not name:
        return
    try:
        ImportJob.file.field.storage.delete(name)
    except OSError:
        log.exception("could not remove the finished import file %s", name)


def run_once(should_stop: Callable[[], bool] = lambda: False) -> ImportJob | None:
    """Claim and run the next queued job; None when there is none."""
    job = claim_next_job()
    return run_job(job, should_stop) if job is not None else None


def run_pending(should_stop: Callable[[], bool] = lambda: False) -> int:
    """Queue stalled jobs again, then run queued ones until none is left or we stop."""
    requeue_stalled()
    ran = 0
    while not should_stop() and run_once(should_stop) is not None:
        ran += 1
    return ran


async def run_import_jobs_loop(stop: asyncio.Event, interval: float = 1.0) -> None:
    """Look for queued imports every ``interval`` seconds until ``stop`` (runtime.py)."""
    await periodic.run_every(stop, interval, lambda: run_pending(stop.is_set), "import-jobs")


TASKS = [periodic.Task("import-jobs", run_import_jobs_loop)]
# A finished job's report may quote cell text: kept for a quarter, then gone.
RETENTION = [Policy("import_jobs", "imports.ImportJob", "finished_at", 90)]
