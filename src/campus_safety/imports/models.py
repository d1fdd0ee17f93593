"""导入任务 — a workbook uploaded for import, run in the background (tasks.py)."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> ImportJobQuerySet:
        """A job is its uploader's (and the platform administrators'): it carries the
        rows of one person's file, whatever schools they are about. Not a school scope,
        so not ``scope_paths``; everyone else gets a 404."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(created_by=user)


def stored_path(job: ImportJob, filename: str) -> str:
    """A random name under the data dir's media folder: nothing the uploader chose
    reaches the disk (their file name is kept in ``file_name``, for the page)."""
    return f"imports/{secrets.token_hex(16)}.xlsx"


class ImportJob(models.Model):
    """导入任务 — one uploaded workbook being imported into a registry (schools, guards,
    equipment, devices …) by a background worker, so that no upload holds a web worker
    or the alarm path. The page polls it for progress and then shows the report.

    A worker owns a job while it is ``running`` and its ``attempt`` is the one the
    worker claimed; a worker that stops beating (``beat_at``) loses it to the next one,
    and a worker that lost its job commits nothing (tasks.py).
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=32)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    file = models.FileField(_("stored file"), upload_to=stored_path, max_length=200, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    keep_good = models.BooleanField(_("write the good rows even if some rows are bad"))
    language = models.CharField(
        max_length=16, blank=True, verbose_name=_("language")
    )  # the uploader's, for the report
    source_ip = models.GenericIPAddressField(
        null=True, blank=True, verbose_name=_("source IP")
    )  # for the audit entry
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.QUEUED, db_index=True
    )
    attempt = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_expected = models.PositiveIntegerField(_("rows expected"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows with data"), default=0)
    created_count = models.PositiveIntegerField(_("records created"), default=0)
    updated_count = models.PositiveIntegerField(_("records updated"), default=0)
    rejected_rows = models.PositiveIntegerField(_("rows rejected"), default=0)
    problem_count = models.PositiveIntegerField(_("problems"), default=0)
    problems = models.JSONField(
        default=list, blank=True, verbose_name=_("problems")
    )  # the first: [row, column, reason]
    message = models.TextField(_("message"), blank=True)  # why the file was refused
    queued_at = models.DateTimeField(_("queued"))
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    beat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last heartbeat"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-queued_at"])]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in {self.State.DONE, self.State.FAILED}
