"""The audit log for auditors: browse, filter, export. There is no edit view.

The page shows each entry in words (``readable``); the export keeps the raw codes a
later inquiry searches for, with the words beside them.
"""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from campus_safety import spreadsheets as xl
from campus_safety.accounts.roles import EXPORT, READ, can
from campus_safety.audit import labels
from campus_safety.audit.models import AuditEntry
from campus_safety.audit.readable import readable
from campus_safety.audit.services import record

EXPORT_LIMIT = 100_000
PAGE_SIZE = 100


def _filtered(request: HttpRequest):
    entries = AuditEntry.objects.visible_to(request.user)
    params = request.GET
    if user := params.get("user", "").strip()[:150]:
        entries = entries.filter(username=user)
    if action := params.get("action", "").strip()[:64]:
        how, codes = labels.matching_actions(action)
        lookup = {"in": "action__in", "prefix": "action__startswith", "exact": "action"}[how]
        entries = entries.filter(**{lookup: codes})
    if params.get("outcome") in AuditEntry.Outcome.values:
        entries = entries.filter(outcome=params["outcome"])
    for name, lookup in (("since", "at__gte"), ("until", "at__lt")):
        try:
            day = dt.date.fromisoformat(params.get(name, ""))
        except ValueError:
            continue
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time()))
        if name == "until":
            moment += dt.timedelta(days=1)
        entries = entries.filter(**{lookup: moment})
    return entries


@login_required
def entry_list(request: HttpRequest) -> HttpResponse:
    if not can(request.user, READ, "audit"):
        raise PermissionDenied
    entries = _filtered(request)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/entry_list.html",
        {
            "page": page,
            "rows": readable(page.object_list, request.user),
            "action_groups": labels.groups(),
            "outcomes": AuditEntry.Outcome.choices,
            "query": query.urlencode(),
            "may_export": can(request.user, EXPORT, "audit"),
        },
    )


def export_columns() -> tuple[xl.Column, ...]:
    """Codes and words side by side: the codes for searching, the words for reading."""
    return tuple(
        xl.Column(key, str(header))
        for key, header in [
            ("at", _("Time")),
            ("username", _("Username")),
            ("person", _("Full name")),
            ("role_code", _("Role code")),
            ("role", _("Role")),
            ("action_code", _("Action code")),
            ("action", _("Action")),
            ("object_type", _("Object type")),
            ("object_id", _("Object ID")),
            ("object", _("Object")),
            ("outcome_code", _("Outcome code")),
            ("outcome", _("Outcome")),
            ("channel_code", _("Channel code")),
            ("channel", _("Source")),
            ("source_ip", _("IP address")),
            ("detail", _("Detail")),
        ]
    )


def _export_rows(entries):
    batch = []
    for entry in entries.iterator(2000):
        batch.append(entry)
        if len(batch) == 2000:
            yield from _rows_of(batch)
            batch = []
    yield from _rows_of(batch)


def _rows_of(batch):
    for row in readable(batch, None, links=False):
        e = row.entry
        yield [
            timezone.localtime(e.at).isoformat(timespec="seconds"),
            e.username,
            row.person if e.username else "",
            e.role,
            row.role,
            e.action,
            row.action,
            e.object_type,
            e.object_id,
            row.object_text,
            e.outcome,
            row.outcome,
            e.channel,
            row.channel,
            e.source_ip,
            str(e.detail),
        ]


@login_required
def export(request: HttpRequest) -> HttpResponse:
    if not can(request.user, EXPORT, "audit"):
        raise PermissionDenied
    entries = _filtered(request)[:EXPORT_LIMIT]
    data = xl.workbook_bytes(str(_("Audit log")), export_columns(), _export_rows(entries))
    record("audit.export", detail={"filters": request.GET.dict()})
    response = HttpResponse(data, content_type=xl.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="audit-log.xlsx"'
    return response
