"""The registries' spreadsheets: the import template and list-page exports.

Uploading a filled-in template is the imports app's (``imports:upload``): it checks the
file and queues it for a background worker.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from campus_safety import spreadsheets as xl
from campus_safety.accounts.roles import EXPORT, REVEAL, can
from campus_safety.audit.services import record


def registry_or_404(kind: str) -> xl.Registry:
    """Any registry an app declares in its imports.py (schools, guards, devices …)."""
    try:
        return xl.get_registry(kind)
    except xl.ImportFileError:
        raise Http404 from None


@login_required
def template_download(request: HttpRequest, kind: str) -> HttpResponse:
    registry = registry_or_404(kind)
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
