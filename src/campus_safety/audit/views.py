"""The audit log for auditors: browse, filter, export. There is no edit view."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from campus_safety import spreadsheets as xl
from campus_safety.accounts.roles import EXPORT, READ, can
from campus_safety.audit.models import AuditEntry
from campus_safety.audit.services import record

COLUMNS = tuple(
    xl.Column(key, header)
    for key, header in [
        ("at", "时间"),
        ("username", "用户"),
        ("role", "角色"),
        ("action", "操作"),
        ("object_type", "对象类型"),
        ("object_id", "对象编号"),
        ("object_repr", "对象"),
        ("outcome", "结果"),
        ("source_ip", "来源地址"),
        ("channel", "渠道"),
        ("detail", "详情"),
    ]
)


def _filtered(request: HttpRequest):
    entries = AuditEntry.objects.visible_to(request.user)
    params = request.GET
    if user := params.get("user", "").strip()[:150]:
        entries = entries.filter(username=user)
    if action := params.get("action", "").strip()[:64]:
        entries = entries.filter(action__startswith=action)
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
    page = Paginator(_filtered(request), 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/entry_list.html",
        {"page": page, "outcomes": AuditEntry.Outcome.choices, "query": query.urlencode()},
    )


@login_required
def export(request: HttpRequest) -> HttpResponse:
    if not can(request.user, EXPORT, "audit"):
        raise PermissionDenied
    entries = _filtered(request)[:100_000]
    rows = (
        [
            e.at.isoformat(timespec="seconds"),
            e.username,
            e.role,
            e.action,
            e.object_type,
            e.object_id,
            e.object_repr,
            e.outcome,
            e.source_ip,
            e.channel,
            str(e.detail),
        ]
        for e in entries.iterator(2000)
    )
    data = xl.workbook_bytes("审计日志", COLUMNS, rows)
    record("audit.export", detail={"filters": request.GET.dict()})
    response = HttpResponse(data, content_type=xl.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="audit-log.xlsx"'
    return response
