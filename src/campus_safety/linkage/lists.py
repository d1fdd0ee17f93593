"""Paging and .xlsx registers for the linkage lists.

Every list is paged with the shared pager (``web/listing.py``, ``_pagination.html``);
a page holding two lists pages each from its own parameter (``?page=``, ``?drills=``…),
so moving through one keeps the other where it was. A register's export is the whole
filtered list (not the page), personal data masked, and audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page
from django.http import HttpRequest, HttpResponse

from campus_safety import spreadsheets as xl
from campus_safety.accounts.roles import EXPORT, can
from campus_safety.audit.services import record
from campus_safety.web import listing
from campus_safety.web.spreadsheet_views import xlsx_response

EXPORT_MAX_ROWS = 20_000


@dataclass(frozen=True)
class Paged:
    """One page of a list and what ``_pagination.html`` needs to draw its links."""

    page: Page
    page_links: list[listing.PageLink]
    neighbours: dict[str, str]
    export_query: str  # the same filters as ``?…&export=xlsx``

    @property
    def rows(self) -> Sequence[Any]:
        return self.page.object_list


def paged(request: HttpRequest, rows: Any, param: str = "page") -> Paged:
    """The page of ``rows`` (a queryset or a list) named by ``?<param>=``; bad numbers
    fall back to the first or last page; links keep the rest of the query."""
    export_query = listing.query_with(request.GET, export="xlsx", **{param: None})
    page, links = listing.paginate(request, rows, param)
    return Paged(page, links, listing.neighbour_queries(request, page, param), export_query)


def wants_export(request: HttpRequest) -> bool:
    return request.GET.get("export") == "xlsx"


def export(
    request: HttpRequest,
    resource: str,
    *,
    action: str,
    title: str,
    headers: Sequence[str],
    lines: Iterable[Sequence[Any]],
    filename: str,
) -> HttpResponse:
    """An .xlsx register of what the list shows (same scope, same filters), for a role
    that may export ``resource``; audited as ``action`` with the filters; formula-like
    text is neutralised by ``spreadsheets.workbook_bytes``."""
    if not can(request.user, EXPORT, resource):
        raise PermissionDenied
    rows = []
    for line in lines:
        rows.append(list(line))
        if len(rows) >= EXPORT_MAX_ROWS:
            break
    columns = [xl.Column(f"c{i}", header) for i, header in enumerate(headers)]
    data = xl.workbook_bytes(title, columns, rows)
    filters = {k: v for k, v in request.GET.items() if k != "export"}
    record(action, None, user=request.user, detail={"rows": len(rows), "filters": filters})
    return xlsx_response(data, filename)
