"""The import pages: upload (checked at once, then queued) and the job's progress and
report (polled by htmx until the worker has finished)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from campus_safety import spreadsheets as xl
from campus_safety.accounts.roles import IMPORT, can
from campus_safety.audit.actor import client_ip
from campus_safety.imports import services
from campus_safety.imports.forms import UploadForm
from campus_safety.imports.models import ImportJob
from campus_safety.web.spreadsheet_views import registry_or_404

RECENT_JOBS = 5


@login_required
def upload(request: HttpRequest, kind: str) -> HttpResponse:
    """The form; a POST is checked at once (400 with the reason when the file cannot be
    a sound workbook) and queued, and the browser goes to the job's page (303)."""
    registry = registry_or_404(kind)
    if not can(request.user, IMPORT, kind):
        raise PermissionDenied
    form = UploadForm(request.POST or None, request.FILES or None)
    file_error = None
    if request.method == "POST" and form.is_valid():
        try:
            job = services.queue_import(
                kind,
                form.cleaned_data["file"],
                request.user,
                keep_good=form.cleaned_data["keep_good"],
                source_ip=client_ip(request),
            )
        except xl.ImportFileError as exc:
            file_error = str(exc)
        else:
            response = redirect("imports:job", pk=job.pk)
            response.status_code = 303
            return response
    recent = ImportJob.objects.visible_to(request.user).filter(kind=kind, created_by=request.user)[
        :RECENT_JOBS
    ]
    return render(
        request,
        "imports/upload.html",
        {
            "kind": kind,
            "registry": registry,
            "form": form,
            "file_error": file_error,
            "recent": recent,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The job: state, rows read so far, then the report. htmx asks for the partial."""
    job = get_object_or_404(ImportJob.objects.visible_to(request.user), pk=pk)
    registry = registry_or_404(job.kind)
    partial = request.headers.get("HX-Request") == "true"
    template = "imports/_job.html" if partial else "imports/job.html"
    return render(request, template, {"job": job, "registry": registry, "kind": job.kind})
