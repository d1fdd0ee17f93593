"""Queueing an uploaded workbook for import (the request side of ImportJob).

The request only does what is quick and bounded — the size limit and
``spreadsheets.check_workbook`` (the zip's directory, every part read through with a
cap, every XML part whole): a file refused there is a 400 at once, and nothing is
queued. Reading the rows, checking them and writing them is ``tasks.run_job``'s, in a
worker thread of its own, off the request path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils import translation

from campus_safety import clock
from campus_safety import spreadsheets as xl
from campus_safety.audit.services import record
from campus_safety.imports.models import ImportJob


def queue_import(
    kind: str,
    upload: UploadedFile,
    user: Any,
    *,
    keep_good: bool,
    source_ip: str | None = None,
) -> ImportJob:
    """Check ``upload`` and queue it as ``user``'s import of ``kind``; raises
    ``ImportFileError`` (nothing stored) when the file cannot be a sound workbook."""
    registry = xl.get_registry(kind)
    limit = xl.max_import_bytes()
    if upload.size is not None and upload.size > limit:
        raise xl.ImportFileError(
            translation.gettext("The file is larger than %(mb)s MB.") % {"mb": limit // 2**20}
        )
    data = upload.read(limit + 1)
    xl.check_workbook(data)
    job = ImportJob(
        kind=registry.kind,
        created_by=user,
        file_name=(upload.name or "")[:255],
        keep_good=keep_good,
        language=translation.get_language() or "",
        source_ip=source_ip,
        queued_at=clock.now(),
    )
    job.file.save("upload.xlsx", ContentFile(data), save=False)
    job.save()
    return job


def import_workbook(
    registry: xl.Registry,
    source: BinaryIO | bytes,
    user: Any,
    *,
    keep_good: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    finish: Callable[[xl.ImportResult], None] | None = None,
) -> xl.ImportResult:
    """``spreadsheets.import_workbook`` with its audit entry (``import.<kind>``: what was
    written, or that nothing was) in the transaction of the write; the job worker and
    the ``import`` command both import through here."""

    def audited(result: xl.ImportResult) -> None:
        if result.errors and not keep_good:
            detail = {"rows": result.rows, "errors": len(result.errors)}
            record(f"import.{registry.kind}", user=user, outcome="failure", detail=detail)
        else:
            detail = {
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "rejected": len({e.row for e in result.errors}),
            }
            record(f"import.{registry.kind}", user=user, detail=detail)
        if finish is not None:
            finish(result)

    return xl.import_workbook(
        registry, source, user, keep_good=keep_good, progress=progress, finish=audited
    )
