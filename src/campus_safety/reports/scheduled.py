"""Scheduled reports: weekly and monthly per district and for the city, and a term
report, generated inside ``serve`` (``reports/tasks.py``) and on demand; each kept with
the figures it was made from (``GeneratedReport.figures``: the PDF and the workbook are
rendered from those alone) and delivered to the recipients' in-platform inbox.

Periods (local dates): a week is Monday–Sunday, due from the Monday after; a month is
due from the 1st of the next; a term (``REPORTS_TERMS``: start and end month-day pairs)
from the day after it ends. ``run_due`` makes every report whose period ended within
the last ``REPORTS_CATCH_UP_DAYS`` days and is not kept yet (a unique constraint keeps
two processes from keeping one twice), so a platform that was down on a Monday still
sends the week's report when it comes back.

Recipients: the active users whose role may read ``scheduled_reports`` and whose scope
is exactly the report's area (a district's users get the district's, the city's users
the city's).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from campus_safety import clock, scoping
from campus_safety import spreadsheets as xl
from campus_safety.accounts.roles import READ, can
from campus_safety.alarms.models import AlarmCase
from campus_safety.audit.services import record
from campus_safety.devices.models import Device
from campus_safety.hazards.models import Hazard
from campus_safety.orgs.models import Region, School
from campus_safety.reports import availability, campaign, counting, targets
from campus_safety.reports.models import GeneratedReport, InboxItem
from campus_safety.reports.pdf import ReportPDF
from campus_safety.reports.workbook import sheet_name
from campus_safety.workforce.staffing import get_rule

log = logging.getLogger(__name__)
Kind = GeneratedReport.Kind


def terms() -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """School terms as ((start month, day), (end month, day)); autumn runs over New Year."""
    return list(getattr(settings, "REPORTS_TERMS", [((9, 1), (1, 31)), ((2, 15), (7, 15))]))


def catch_up_days() -> int:
    return int(getattr(settings, "REPORTS_CATCH_UP_DAYS", 7))


def last_period(kind: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The latest period of ``kind`` that ended before ``today``."""
    if kind == Kind.WEEKLY:
        monday = today - dt.timedelta(days=today.weekday())
        return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    if kind == Kind.MONTHLY:
        first = today.replace(day=1)
        end = first - dt.timedelta(days=1)
        return end.replace(day=1), end
    ends = []
    for (sm, sd), (em, ed) in terms():
        for year in (today.year - 1, today.year):
            end = dt.date(year, em, ed)
            start = dt.date(year if (sm, sd) <= (em, ed) else year - 1, sm, sd)
            if end < today:
                ends.append((start, end))
    return max(ends, key=lambda p: p[1]) if ends else None


def report_regions() -> list[Region]:
    """The city (or cities) and every district that has schools."""
    districts = Region.objects.filter(
        level=Region.Level.COUNTY, pk__in=School.objects.order_by().values("region_id")
    )
    cities = Region.objects.filter(pk__in=districts.values("parent_id"))
    return [*cities.order_by("code"), *districts.order_by("code")]


def region_schools(region: Region) -> QuerySet[School]:
    return campaign.area_schools(School.objects.all(), region)


def figures(region: Region, start: dt.date, end: dt.date, kind: str) -> dict[str, Any]:
    """Everything the report shows, as JSON (kept with the report)."""
    schools = region_schools(region)
    now = clock.now()
    # a kept report is read by every reader of its area, police or not: it counts
    # without the police-only alarm cases (counting.alarm_cases)
    text_json = campaign.campaign(School.objects.all(), region, start, end, police=False).as_json()
    rule = get_rule()
    board = targets.board(schools, rule)
    lo = availability.day_bounds(start)[0]
    hi = availability.day_bounds(end)[1]
    devices = Device.objects.filter(school__in=schools.order_by().values("pk"), is_approved=True)
    history = availability.history(devices, start, min(end, timezone.localdate(now)), now=now)
    region_names = dict(Region.objects.filter(pk__in=history.regions).values_list("pk", "name"))
    cases = counting.alarm_cases(schools, police=False).filter(opened_at__gte=lo, opened_at__lt=hi)
    alarms_by_district = [
        {"name": row["school__region__name"], **{k: row[k] for k in ("total", "real", "false")}}
        for row in cases.order_by()
        .values("school__region__name")
        .annotate(
            total=Count("pk"),
            real=Count(
                "pk",
                filter=Q(is_test=False)
                & ~Q(state__in=(AlarmCase.State.FALSE_ALARM, AlarmCase.State.TEST)),
            ),
            false=Count("pk", filter=Q(state=AlarmCase.State.FALSE_ALARM)),
        )
        .order_by("school__region__name")
    ]
    hazards = Hazard.objects.filter(school__in=schools.order_by().values("pk")).exclude(
        status=Hazard.Status.DISMISSED
    )
    labels = targets.target_labels()
    return {
        "kind": kind,
        "region": {"code": region.code, "name": region.name},
        "from": start.isoformat(),
        "to": end.isoformat(),
        "generated_at": now.isoformat(timespec="seconds"),
        "campaign": text_json,
        "targets": {
            "labels": [labels[t] for t in targets.TARGETS],
            "keys": list(targets.TARGETS),
            "rates": board["rates"],
            "schools": board["schools"],
            "all_met": board["all_met"],
            "districts": [
                {"name": d["name"], "rates": d["rates"], "schools": d["schools"]}
                for d in board["districts"]
            ],
            "method": _(
                "The four targets of each school at the time of generation (RULES §3): "
                "certified full-time guards with the standard kit, a gate register kept, "
                "one-key alarm and cameras networked and online, someone on every "
                "school-gate post window of the last 7 days."
            ),
        },
        "availability": {
            "days": history.series(history.total),
            "rate": history.mean_rate(history.total),
            "districts": [
                {"name": region_names.get(pk, ""), "rate": history.mean_rate(tallies)}
                for pk, tallies in sorted(history.regions.items(), key=lambda kv: kv[0])
            ],
            "method": _(
                "Share of each day the approved devices were online, from their recorded "
                "state changes (time in an unknown state is not counted)."
            ),
        },
        "alarms": {
            "districts": alarms_by_district,
            "method": _(
                "Alarm cases opened in the period; real ones exclude tests and false alarms. "
                "Police-only cases (watch-list hits) are not counted: the report is read "
                "by everyone in its area."
            ),
        },
        "hazards": {
            "reported": hazards.filter(reported_at__gte=lo, reported_at__lt=hi).count(),
            "rectified": counting.rectified_hazards(hazards, lo, hi).count(),
            "open_at_end": hazards.filter(status__in=Hazard.OPEN_STATUSES).count(),
            "method": _(
                "Hazard reports made in the period, and those rectified in it (verified "
                "as rectified, or closed without a verification, by that date)."
            ),
        },
    }


def title_of(data: dict[str, Any]) -> str:
    kind = dict(Kind.choices).get(data["kind"], data["kind"])
    return _("%(area)s %(kind)s (%(start)s to %(end)s)") % {
        "area": data["region"]["name"],
        "kind": kind,
        "start": data["from"],
        "end": data["to"],
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def render_pdf(data: dict[str, Any]) -> bytes:
    """The A4 PDF of a report's figures."""
    title = title_of(data)
    pdf = ReportPDF(
        title,
        _("Generated %(at)s by the campus safety platform")
        % {"at": data["generated_at"][:16].replace("T", " ")},
    )
    pdf.add_page()
    pdf.heading(title, size=16)
    pdf.heading(_("Progress"))
    for paragraph, method in zip(
        data["campaign"]["paragraphs"], data["campaign"]["methods"], strict=False
    ):
        pdf.paragraph(paragraph)
        pdf.note(_("How it is counted: %(m)s") % {"m": method})
    t = data["targets"]
    pdf.heading(_("4×100% targets"))
    pdf.paragraph(
        _("%(all)d of %(n)d schools meet all four targets.")
        % {"all": t["all_met"], "n": t["schools"]}
    )
    pdf.table(
        [_("District"), *t["labels"]],
        [[d["name"], *(_pct(d["rates"][k]) for k in t["keys"])] for d in t["districts"]]
        + [[_("Total"), *(_pct(t["rates"][k]) for k in t["keys"])]],
    )
    pdf.bar_chart(
        [d["name"] for d in t["districts"]],
        {
            label: [d["rates"][k] for d in t["districts"]]
            for label, k in zip(t["labels"], t["keys"], strict=True)
        },
        maximum=1.0,
        percent=True,
    )
    pdf.note(t["method"])
    a = data["availability"]
    pdf.heading(_("Device availability"))
    pdf.paragraph(_("Availability over the period: %(rate)s.") % {"rate": _pct(a["rate"])})
    pdf.line_chart(
        [d["day"][5:] for d in a["days"]],
        {_("Availability"): [d["rate"] for d in a["days"]]},
        maximum=1.0,
        percent=True,
    )
    if a["districts"]:
        pdf.table(
            [_("District"), _("Availability")],
            [[d["name"], _pct(d["rate"])] for d in a["districts"]],
        )
    pdf.note(a["method"])
    pdf.heading(_("Alarms"))
    rows = data["alarms"]["districts"]
    pdf.table(
        [_("District"), _("Alarm cases"), _("Real alarms"), _("False alarms")],
        [[r["name"], r["total"], r["real"], r["false"]] for r in rows] or [[_("None"), 0, 0, 0]],
    )
    if rows:
        pdf.bar_chart([r["name"] for r in rows], {_("Real alarms"): [r["real"] for r in rows]})
    pdf.note(data["alarms"]["method"])
    h = data["hazards"]
    pdf.heading(_("Hazards"))
    pdf.paragraph(
        _("Reported in the period: %(r)d; rectified in the period: %(x)d; open now: %(o)d.")
        % {"r": h["reported"], "x": h["rectified"], "o": h["open_at_end"]}
    )
    pdf.note(h["method"])
    return bytes(pdf.output())


def _cell(sheet: Any, value: Any, bold: bool = False, percent: bool = False) -> Any:
    cell = WriteOnlyCell(
        sheet, value=value if isinstance(value, int | float) else xl.safe_cell(value)
    )
    if bold:
        cell.font = Font(bold=True)
    if percent:
        cell.number_format = "0.0%"
    return cell


def tables_workbook(
    about: list[tuple[str, str]], sheets: list[tuple[str, list[str], list[list[Any]], set[int]]]
) -> bytes:
    """An .xlsx: an "about" sheet, then one sheet per table (columns in ``percent`` are
    fractions shown as percentages)."""
    book = Workbook(write_only=True)
    first = book.create_sheet(sheet_name(_("About this report")))
    first.column_dimensions["A"].width = 18
    first.column_dimensions["B"].width = 80
    for label, value in about:
        first.append([_cell(first, label, bold=True), _cell(first, value)])
    for name, columns, rows, percent in sheets:
        sheet = book.create_sheet(sheet_name(name))
        sheet.column_dimensions["A"].width = 24
        sheet.append([_cell(sheet, c, bold=True) for c in columns])
        for row in rows:
            sheet.append([_cell(sheet, v, percent=i in percent) for i, v in enumerate(row)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render_xlsx(data: dict[str, Any]) -> bytes:
    t, a = data["targets"], data["availability"]
    figures_rows = [[key, f["value"], f["text"]] for key, f in data["campaign"]["figures"].items()]
    return tables_workbook(
        [
            (_("Report title"), title_of(data)),
            (_("Generated at"), data["generated_at"]),
            *((_("Paragraph"), p) for p in data["campaign"]["paragraphs"]),
            *((_("How it is counted"), m) for m in data["campaign"]["methods"]),
        ],
        [
            (_("Figures"), [_("Figure"), _("Value"), _("As written")], figures_rows, set()),
            (
                _("4×100% targets"),
                [_("District"), _("Schools"), *t["labels"]],
                [
                    [d["name"], d["schools"], *(d["rates"][k] for k in t["keys"])]
                    for d in t["districts"]
                ],
                {2, 3, 4, 5},
            ),
            (
                _("Device availability"),
                [_("Day"), _("Availability"), _("Online hours"), _("Observed hours")],
                [[d["day"], d["rate"], d["online_hours"], d["observed_hours"]] for d in a["days"]],
                {1},
            ),
            (
                _("Alarms"),
                [_("District"), _("Alarm cases"), _("Real alarms"), _("False alarms")],
                [
                    [r["name"], r["total"], r["real"], r["false"]]
                    for r in data["alarms"]["districts"]
                ],
                set(),
            ),
        ],
    )


def recipients(region: Region) -> list[Any]:
    """Active users who may read scheduled reports and whose scope is this area."""
    prefix = scoping.region_prefix(region.code)
    users = (
        get_user_model()
        .objects.filter(is_active=True, school__isnull=True)
        .filter(
            Q(organisation__region__code__startswith=prefix[:2])
            | Q(region__code__startswith=prefix[:2])
        )
        .select_related("organisation__region", "region")
    )
    chosen = []
    for user in users:
        if not can(user, READ, "scheduled_reports"):
            continue
        scope = scoping.user_scope(user)
        if scope.region_prefix == prefix:
            chosen.append(user)
    return chosen


def generate(
    kind: str, region: Region, start: dt.date, end: dt.date, *, requested_by: Any = None
) -> GeneratedReport:
    """Compute, render, keep and deliver one report (or return the one already kept)."""
    existing = GeneratedReport.objects.filter(
        kind=kind, region=region, period_start=start, period_end=end
    ).first()
    if existing is not None:
        if requested_by is not None:
            deliver(existing, [requested_by])
        return existing
    with translation.override(settings.LANGUAGE_CODE):
        data = figures(region, start, end, kind)
        pdf_bytes = render_pdf(data)
        xlsx_bytes = render_xlsx(data)
    try:
        with transaction.atomic():
            report = GeneratedReport.objects.create(
                kind=kind,
                region=region,
                period_start=start,
                period_end=end,
                generated_at=clock.now(),
                requested_by=requested_by,
                figures=data,
                pdf=pdf_bytes,
                xlsx=xlsx_bytes,
            )
            record(
                "report.generated",
                report,
                detail={"kind": kind, "region": region.code, "from": str(start), "to": str(end)},
            )
    except IntegrityError:  # another process kept it first
        return GeneratedReport.objects.get(
            kind=kind, region=region, period_start=start, period_end=end
        )
    deliver(report, recipients(region) if requested_by is None else [requested_by])
    return report


def deliver(report: GeneratedReport, users: list[Any]) -> int:
    now = clock.now()
    items = [InboxItem(user=u, report=report, delivered_at=now) for u in users]
    return len(InboxItem.objects.bulk_create(items, ignore_conflicts=True))


def run_due(now: dt.datetime | None = None) -> list[GeneratedReport]:
    """Generate every report whose period ended recently and is not kept yet."""
    now = now or clock.now()
    today = timezone.localdate(now)
    made = []
    regions = None
    for kind in (Kind.WEEKLY, Kind.MONTHLY, Kind.TERM):
        period = last_period(kind, today)
        if period is None or (today - period[1]).days > catch_up_days():
            continue
        regions = regions if regions is not None else report_regions()
        kept = set(
            GeneratedReport.objects.filter(
                kind=kind, period_start=period[0], period_end=period[1]
            ).values_list("region_id", flat=True)
        )
        for region in regions:
            if region.pk in kept:
                continue
            try:
                made.append(generate(kind, region, *period))
            except Exception:
                log.exception("could not generate the %s report for %s", kind, region.code)
    return made


def visible_reports(user: Any) -> QuerySet[GeneratedReport]:
    """Reports whose area the user's scope covers, and those delivered to the user."""
    scope = scoping.user_scope(user)
    mine = Q(deliveries__user=user)
    if scope.everything:
        return GeneratedReport.objects.all()
    if scope.region_prefix:
        return GeneratedReport.objects.filter(
            mine | Q(region__code__startswith=scope.region_prefix)
        ).distinct()
    return GeneratedReport.objects.filter(mine).distinct()
