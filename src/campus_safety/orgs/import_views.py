"""Registry import page: template download, upload, row-by-row report."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from campus_safety import spreadsheets as xl
from campus_safety.accounts.roles import EXPORT, IMPORT, REVEAL, can
from campus_safety.audit.services import record


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Workbook (.xlsx)"))
    keep_good = forms.BooleanField(
        label=_("Write the good rows even if some rows are bad"), required=False
    )


def _registry(kind: str) -> xl.Registry:
    """Any registry an app declares in its imports.py (schools, guards, devices …)."""
    try:
        return xl.get_registry(kind)
    except xl.ImportFileError:
        raise Http404 from None


@login_required
def import_page(request: HttpRequest, kind: str) -> HttpResponse:
    registry = _registry(kind)
    if not can(request.user, IMPORT, kind):
        raise PermissionDenied
    form = UploadForm(request.POST or None, request.FILES or None)
    result, file_error = None, None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > xl.max_import_bytes():
                raise xl.ImportFileError(
                    _("The file is larger than %(mb)s MB.") % {"mb": xl.max_import_bytes() // 2**20}
                )
            result = xl.import_workbook(
                registry, upload.read(), request.user, keep_good=form.cleaned_data["keep_good"]
            )
        except xl.ImportFileError as exc:
            file_error = str(exc)
    status = 400 if file_error or (result and result.errors) else 200
    return render(
        request,
        "orgs/import.html",
        {
            "kind": kind,
            "registry": registry,
            "form": form,
            "result": result,
            "file_error": file_error,
            "errors": (result.errors[:500] if result else []),
        },
        status=status,
    )


@login_required
def template_download(request: HttpRequest, kind: str) -> HttpResponse:
    registry = _registry(kind)
    return xlsx_response(
        xl.template_bytes(registry.title, registry.columns), f"{kind}-template.xlsx"
    )


def xlsx_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=xl.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_response(request: HttpRequest, kind: str, queryset) -> HttpResponse:
    """What a list page shows, as .xlsx: same scope, same filters; audited."""
    if not can(request.user, EXPORT, kind):
        raise PermissionDenied
    registry = xl.get_registry(kind)
    reveal = can(request.user, REVEAL, "personal_data")
    data = xl.export_bytes(registry, queryset, reveal=reveal)
    record(f"export.{kind}", detail={"filters": request.GET.dict(), "personal_data": reveal})
    return xlsx_response(data, f"{kind}.xlsx")
