"""The hazard list as .xlsx: what the list shows (same scope, same filters), one row per
hazard, with the citizen's phone masked (the list never needs it in clear)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety import spreadsheets as xl
from campus_safety.hazards.models import Hazard


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def columns() -> list[xl.Column]:
    names = [
        ("reference", _("Reference")),
        ("kind", _("Kind")),
        ("district", _("District")),
        ("school", _("School")),
        ("title", _("Title")),
        ("place", _("Key area / location")),
        ("distance_m", _("Distance to gate (m)")),
        ("category", _("Category")),
        ("severity", _("Severity")),
        ("source", _("Found by")),
        ("reported_at", _("Reported")),
        ("status", _("Status")),
        ("responsible", _("Responsible party")),
        ("deadline", _("Deadline")),
        ("overdue", _("Overdue")),
        ("escalated_to", _("Escalated to")),
        ("submitted_at", _("Submitted")),
        ("verified_at", _("Verified")),
        ("closed_at", _("Closed")),
        ("returns", _("Times returned")),
    ]
    return [xl.Column(key, header) for key, header in names]


def rows(hazards: QuerySet[Hazard]) -> Iterator[list[Any]]:
    now = clock.now()
    for h in hazards.select_related(
        "school__region", "responsible_organisation", "escalated_to"
    ).iterator(2000):
        yield [
            h.reference,
            h.get_kind_display(),
            h.school.region.name,
            h.school.name,
            h.title,
            h.place,
            h.distance_m if h.distance_m is not None else "",
            h.get_category_display(),
            h.get_severity_display(),
            h.get_source_display(),
            _when(h.reported_at),
            h.get_status_display(),
            h.responsible_label,
            _when(h.deadline),
            _("Yes") if h.is_overdue_at(now) else "",
            str(h.escalated_to or ""),
            _when(h.submitted_at),
            _when(h.verified_at),
            _when(h.closed_at),
            h.return_count,
        ]


def xlsx_response(hazards: QuerySet[Hazard]) -> HttpResponse:
    data = xl.workbook_bytes(_("Hazards"), columns(), rows(hazards))
    response = HttpResponse(data, content_type=xl.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="hazards.xlsx"'
    return response
