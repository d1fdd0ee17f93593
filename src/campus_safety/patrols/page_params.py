"""What the patrol pages share: the day a page shows, the filters kept across page
links, local times in exports, and bad input answered 400 with the reason."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campus_safety import clock
from campus_safety import spreadsheets as xl
from campus_safety.accounts.roles import EXPORT, can
from campus_safety.audit.services import record
from campus_safety.patrols import services
from campus_safety.web.spreadsheet_views import xlsx_response

PAGE_SIZE = 50
PEAKS = {"arrival": gettext_lazy("Arrival peak"), "dismissal": gettext_lazy("Dismissal peak")}


class BadInput(ValueError):
    """A query parameter that cannot be used; answered with 400 and the reason."""


def day_of(request: HttpRequest, name: str = "day", default: dt.date | None = None) -> dt.date:
    value = request.GET.get(name, "")
    if not value:
        return default or services.local_day(clock.now())
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadInput(_("%(name)s must be a date like 2026-03-02") % {"name": name}) from None


def bad_input(view):
    """Answer BadInput with 400 and its reason instead of a server error."""

    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BadInput as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def export(
    request: HttpRequest, resource: str, kind: str, title: str, headers, rows
) -> HttpResponse:
    if not can(request.user, EXPORT, resource):
        raise PermissionDenied
    columns = [xl.Column(h, h) for h in headers]
    data = xl.workbook_bytes(title, columns, rows)
    record(f"export.{kind}", detail={"filters": request.GET.dict()})
    return xlsx_response(data, f"{kind}.xlsx")


def query_without_page(request: HttpRequest) -> str:
    """The current filters without the page number (for the page links)."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def local_text(value: dt.datetime | None) -> str:
    return value.astimezone(services.zone()).strftime("%Y-%m-%d %H:%M") if value else ""
