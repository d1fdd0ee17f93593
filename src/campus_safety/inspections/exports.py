"""Excel downloads of the daily board and the notices: what the page shows, same scope."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook

from campus_safety.inspections import notices, rules
from campus_safety.inspections.models import DailyResult, Notice
from campus_safety.spreadsheets import XLSX_CONTENT_TYPE


def _response(book: Workbook, filename: str) -> HttpResponse:
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def board_response(results: Iterable[DailyResult], day: dt.date | None) -> HttpResponse:
    """One row per school: rank, score and each item (passed, or what failed)."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Daily inspection")[:31]
    sheet.append(
        [
            _("Day"),
            _("District"),
            _("School code"),
            _("School"),
            pgettext("inspection", "Score"),
            _("Rank in district"),
            _("Rank in city"),
            *[str(i.label) for i in rules.ITEMS],
        ]
    )
    for result in results.order_by("school__region__code", "district_rank"):
        cells = []
        for item in rules.ITEMS:
            value = result.items.get(item.code, {"ok": True})
            cells.append(_("Pass") if value.get("ok", True) else value.get("detail") or _("Fail"))
        sheet.append(
            [
                result.day.isoformat(),
                result.school.region.name,
                result.school.code,
                result.school.name,
                result.score,
                result.district_rank,
                result.city_rank,
                *cells,
            ]
        )
    return _response(book, f"inspections-{day or 'none'}.xlsx")


def notices_response(rows: Iterable[Notice]) -> HttpResponse:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Notices")[:31]
    sheet.append(
        [
            _("Reference"),
            _("School"),
            _("Source"),
            _("Items"),
            _("Issued"),
            _("Deadline"),
            _("State"),
        ]
    )
    for notice in rows:
        sheet.append(
            [
                notice.reference,
                notice.school.name,
                notice.get_source_display(),
                "；".join(item["label"] for item in notice.items),
                timezone.localtime(notice.issued_at).strftime("%Y-%m-%d %H:%M"),
                notices.deadline_local(notice),
                notices.state_label(notice),
            ]
        )
    return _response(book, "inspection-notices.xlsx")
