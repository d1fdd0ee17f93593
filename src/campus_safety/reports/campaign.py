"""The 护校安园 campaign report, written from the records.

The source report (a city police bureau's press release) gives its figures in a few set
sentences: "目前，全市2029所中小学幼儿园，已派驻保安公司专业保安员874名、专职保卫人员
1565名、兼职保卫人员3842名；配备橡胶棒等防护装备20000余件 … 排查并整改校园内部安全隐患
1243处、校园周边治安乱点87个 … 已安装监控摄像头35600余个，校园一键报警装置722套". Here
every number in such sentences is computed for any period and area, rounded the way
such reports round large counts (``yu``), and linked to the records behind it.

Which rows each figure counts (the report says so under each paragraph):

* schools — the area's schools; guards by kind — those hired by the period's end (or
  with no hiring date); protective equipment — pieces registered;
* hazards and trouble spots "排查并整改" — rectified (verified or closed) ones, verified
  in the period when the period is bounded;
* cameras and one-key alarms — approved devices (networked with the platform), added
  by the period's end;
* emergency alarms — real alarm cases opened in the period (false alarms, tests and
  drills left out), with the median seconds to acknowledge.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.alarms.models import AlarmCase
from campus_safety.devices.models import Device
from campus_safety.hazards.models import Hazard
from campus_safety.orgs.models import Region, School
from campus_safety.reports import availability, counting, targets
from campus_safety.reports.pdf import ReportPDF
from campus_safety.workforce.models import Equipment, Guard
from campus_safety.workforce.staffing import StaffingRule, get_rule

YU_FROM = 10_000  # counts from here on are given as "N余" (more than N)
YU_DROP_MAX = 0.05  # the part left out stays under 5 % of the count


def yu(n: int) -> tuple[int, bool]:
    """Round a large count down the way such reports do: to the coarsest power of ten at
    which rounding to the nearest would still round *down* (so "余", "and more", is
    true and the part dropped is less than half a unit) and the part dropped stays under
    5 % of the count; never finer than hundreds.

    20,365 → (20000, True) "20000余"; 35,640 → (35600, True) "35600余"; 35,000 →
    (35000, False); below 10,000 the exact count.
    """
    if n < YU_FROM:
        return n, False
    unit = 10 ** (len(str(n)) - 1)
    while unit >= 100:
        rest = n % unit
        if rest == 0:
            return n, False
        if rest < unit / 2 and rest < n * YU_DROP_MAX:
            return n - rest, True
        unit //= 10
    return n - n % 100, n % 100 != 0


@dataclass
class Figure:
    """One number in the text: its exact value, how it is written, where its rows are."""

    key: str
    value: int | float | None
    url: str = ""
    rounded: bool = False

    @property
    def text(self) -> str:
        if self.value is None:
            return "—"
        if isinstance(self.value, float):
            return f"{self.value:.0f}"
        if self.rounded:
            shown, approx = yu(self.value)
            return _("%(n)d+") % {"n": shown} if approx else str(shown)
        return str(self.value)

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "text": self.text, "url": self.url}


@dataclass
class Paragraph:
    """A translated sentence with ``%(key)s`` slots, its figures and how they are counted."""

    template: str
    figures: dict[str, Figure]
    method: str = ""

    def text(self) -> str:
        return self.template % {k: f.text for k, f in self.figures.items()}

    def html(self) -> SafeString:
        links = {
            k: format_html('<a href="{}" class="figure">{}</a>', f.url, f.text)
            if f.url
            else conditional_escape(f.text)
            for k, f in self.figures.items()
        }
        # the template is escaped first; the links are format_html's (escaped) output
        return mark_safe(conditional_escape(self.template) % links)  # noqa: S308


@dataclass
class CampaignReport:
    area: str
    start: dt.date | None
    end: dt.date | None
    paragraphs: list[Paragraph] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for paragraph in self.paragraphs:
            out.update({f.key: f.as_json() for f in paragraph.figures.values()})
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "figures": self.figures(),
            "paragraphs": [p.text() for p in self.paragraphs],
            "methods": [p.method for p in self.paragraphs],
        }


def _url(name: str, **query: Any) -> str:
    try:
        base = reverse(name)
    except NoReverseMatch:
        return ""
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{base}?{urlencode(query)}" if query else base


def area_schools(schools: QuerySet[School], region: Region | None) -> QuerySet[School]:
    """``schools`` inside ``region`` (a district, or the city and its districts)."""
    if region is None:
        return schools
    return schools.filter(Q(region=region) | Q(region__parent=region))


def area_name(region: Region | None) -> str:
    """ "全市" for the city (or no area), else the district's name."""
    if region is None or region.level in (Region.Level.CITY, Region.Level.PROVINCE):
        return _("the whole city")
    return region.name


def _bounds(start: dt.date | None, end: dt.date | None) -> tuple[Any, Any]:
    lo = availability.day_bounds(start)[0] if start else None
    hi = availability.day_bounds(end)[1] if end else None
    return lo, hi


def campaign(
    schools: QuerySet[School],
    region: Region | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    police: bool = True,
) -> CampaignReport:
    """The report's paragraphs for ``schools`` (already scoped) in ``region`` over the
    period (unbounded ends: the whole history); ``police``: the reader counts the
    police-only alarm cases (``counting.reads_police_only``)."""
    if start and end and end < start:
        raise ValueError("the period ends before it starts")
    schools = area_schools(schools, region)
    ids = schools.order_by().values("pk")
    lo, hi = _bounds(start, end)
    area = area_name(region)
    report = CampaignReport(area=area, start=start, end=end)

    guards = Guard.objects.filter(school__in=ids)
    if end:
        guards = guards.filter(Q(hired_on__isnull=True) | Q(hired_on__lte=end))
    by_kind = dict(guards.order_by().values_list("kind").annotate(n=Count("pk")))
    equipment = Equipment.objects.filter(school__in=ids).aggregate(n=Sum("quantity"))["n"] or 0
    report.paragraphs.append(
        Paragraph(
            _(
                "%(lead)s%(area)s's %(schools)s primary and secondary schools and "
                "kindergartens have %(professional)s professional guards from security "
                "companies, %(full_time)s full-time and %(part_time)s part-time security "
                "staff, equipped with %(equipment)s pieces of protective equipment such "
                "as rubber batons."
            ),
            {
                "schools": Figure("schools", schools.count(), _url("schools:school_list")),
                "professional": Figure(
                    "professional",
                    by_kind.get(Guard.Kind.PROFESSIONAL, 0),
                    _url("workforce:guard_list", kind=Guard.Kind.PROFESSIONAL),
                ),
                "full_time": Figure(
                    "full_time",
                    by_kind.get(Guard.Kind.FULL_TIME, 0),
                    _url("workforce:guard_list", kind=Guard.Kind.FULL_TIME),
                ),
                "part_time": Figure(
                    "part_time",
                    by_kind.get(Guard.Kind.PART_TIME, 0),
                    _url("workforce:guard_list", kind=Guard.Kind.PART_TIME),
                ),
                "equipment": Figure(
                    "equipment", equipment, _url("workforce:equipment"), rounded=True
                ),
            },
            _(
                "Schools in the area; guards by kind hired by the period's end; "
                "protective equipment pieces registered. Counts of 10,000 and more are "
                "rounded down and written with 余."
            ),
        )
    )

    hazards = counting.rectified_hazards(Hazard.objects.filter(school__in=ids), lo, hi)
    rectified = dict(hazards.order_by().values_list("kind").annotate(n=Count("pk")))
    report.paragraphs.append(
        Paragraph(
            _(
                "%(lead)s%(area)s has found and rectified %(internal)s safety hazards inside "
                "campuses and %(surrounding)s public-order trouble spots around them."
            ),
            {
                "internal": Figure(
                    "hazards_rectified",
                    rectified.get(Hazard.Kind.INTERNAL, 0),
                    _url("hazards:list", kind=Hazard.Kind.INTERNAL, is_rectified="true"),
                ),
                "surrounding": Figure(
                    "trouble_spots_rectified",
                    rectified.get(Hazard.Kind.SURROUNDING, 0),
                    _url("hazards:list", kind=Hazard.Kind.SURROUNDING, is_rectified="true"),
                ),
            },
            _(
                "Hazards verified as rectified (or closed), by the time they were "
                "verified; dismissed reports are not hazards."
            ),
        )
    )

    devices = Device.objects.filter(school__in=ids, is_approved=True)
    if hi:
        devices = devices.filter(created_at__lt=hi)
    kinds = dict(devices.order_by().values_list("kind").annotate(n=Count("pk")))
    report.paragraphs.append(
        Paragraph(
            _(
                "%(lead)sthe campuses of %(area)s have installed %(cameras)s surveillance cameras "
                "and %(one_key)s one-key alarm sets."
            ),
            {
                "cameras": Figure(
                    "cameras",
                    kinds.get(Device.Kind.CAMERA, 0),
                    _url("devices:device_list", kind=Device.Kind.CAMERA),
                    rounded=True,
                ),
                "one_key": Figure(
                    "one_key_alarms",
                    kinds.get(Device.Kind.ONE_KEY_ALARM, 0),
                    _url("devices:device_list", kind=Device.Kind.ONE_KEY_ALARM),
                ),
            },
            _("Approved devices (networked with the platform) added by the period's end."),
        )
    )

    cases = (
        counting.alarm_cases(schools, police)
        .filter(is_test=False)
        .exclude(state__in=(AlarmCase.State.FALSE_ALARM, AlarmCase.State.TEST))
    )
    if lo:
        cases = cases.filter(opened_at__gte=lo)
    if hi:
        cases = cases.filter(opened_at__lt=hi)
    ack = [
        (a - o).total_seconds()
        for o, a in cases.filter(acknowledged_at__isnull=False).values_list(
            "opened_at", "acknowledged_at"
        )
    ]
    report.paragraphs.append(
        Paragraph(
            _(
                "%(lead)s%(area)s's police handled %(alarms)s emergency alarms from campuses, "
                "acknowledged in a median of %(ack)s seconds."
            ),
            {
                "alarms": Figure("alarms", cases.count(), _url("alarms:statistics")),
                "ack": Figure("ack_median_s", statistics.median(ack) if ack else None),
            },
            _(
                "Alarm cases opened in the period, without false alarms, tests and drills; "
                "seconds from opening to acknowledgement."
            ),
        )
    )
    if start and end:
        lead = _("From %(start)s to %(end)s, ") % {"start": start, "end": end}
    elif start:
        lead = _("Since %(start)s, ") % {"start": start}
    elif end:
        lead = _("Up to %(end)s, ") % {"end": end}
    else:
        lead = _("At present, ")
    for paragraph in report.paragraphs:  # the area and the period are words, not figures
        for slot, words in (("%(area)s", area), ("%(lead)s", lead)):
            paragraph.template = paragraph.template.replace(slot, words.replace("%", "%%"))
    return report


# --- Charts (the PDF's figures drawn) -------------------------------------------------------

TREND_MONTHS_MAX = 24  # an unbounded (or very long) period: the last two years by month
AVAILABILITY_DAYS = 31  # the daily availability line: the period's last month
CHART_ROOM = 70  # mm: a chart with its legend, kept on the page of its heading


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _by_month(rows: QuerySet, field_name: str) -> dict[str, int]:
    """Count ``rows`` per local calendar month of ``field_name`` (an expression name)."""
    return {
        month.strftime("%Y-%m"): n
        for month, n in rows.order_by()
        .annotate(month=TruncMonth(field_name))
        .values_list("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
        if month is not None
    }


def charts(
    schools: QuerySet[School],
    region: Region | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    police: bool = True,
    *,
    rule: StaffingRule | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The figures the campaign report's charts are drawn from, counted as the
    paragraphs count them (``campaign``) for the same area and period:

    * ``trend`` — per local month: real alarm cases opened, hazards reported, hazards
      rectified (``counting.rectified_hazards``, dated by verification); an unbounded or
      longer period shows its last ``TREND_MONTHS_MAX`` months;
    * ``targets`` — the 4×100% rates per district (``targets.board``, as of now);
    * ``availability`` — the daily availability of the approved devices over the
      period's last ``AVAILABILITY_DAYS`` days (``availability.history``).
    """
    now = now or clock.now()
    today = timezone.localdate(now)
    schools = area_schools(schools, region)
    ids = schools.order_by().values("pk")
    last = min(end, today) if end else today
    first = start or last
    cases = (
        counting.alarm_cases(schools, police)
        .filter(is_test=False)
        .exclude(state__in=(AlarmCase.State.FALSE_ALARM, AlarmCase.State.TEST))
    )
    hazards = Hazard.objects.filter(school__in=ids).exclude(status=Hazard.Status.DISMISSED)
    if start is None:  # the whole history: from the first record
        earliest = [
            d
            for d in (
                cases.order_by("opened_at").values_list("opened_at", flat=True).first(),
                hazards.order_by("reported_at").values_list("reported_at", flat=True).first(),
            )
            if d is not None
        ]
        first = timezone.localdate(min(earliest)) if earliest else last
    months = _month_starts(min(first, last), last)[-TREND_MONTHS_MAX:]
    lo = availability.day_bounds(months[0])[0]
    hi = availability.day_bounds(last)[1]
    if start and start > months[0]:
        lo = availability.day_bounds(start)[0]
    window_cases = cases.filter(opened_at__gte=lo, opened_at__lt=hi)
    reported = hazards.filter(reported_at__gte=lo, reported_at__lt=hi)
    rectified = counting.rectified_hazards(hazards, lo, hi).alias(
        fixed_at=Coalesce("verified_at", "closed_at")
    )
    alarms_m = _by_month(window_cases, "opened_at")
    reported_m = _by_month(reported, "reported_at")
    rectified_m = _by_month(rectified, "fixed_at")
    labels = [m.strftime("%Y-%m") for m in months]

    board = targets.board(schools, rule or get_rule())
    target_labels = targets.target_labels()

    devices = Device.objects.filter(school__in=ids, is_approved=True)
    avail_first = max(first, last - dt.timedelta(days=AVAILABILITY_DAYS - 1))
    history = availability.history(devices, avail_first, last, now=now)
    return {
        "trend": {
            "months": labels,
            "alarms": [alarms_m.get(m, 0) for m in labels],
            "hazards_reported": [reported_m.get(m, 0) for m in labels],
            "hazards_rectified": [rectified_m.get(m, 0) for m in labels],
        },
        "targets": {
            "keys": list(targets.TARGETS),
            "labels": [str(target_labels[t]) for t in targets.TARGETS],
            "rates": board["rates"],
            "districts": [{"name": d["name"], "rates": d["rates"]} for d in board["districts"]],
        },
        "availability": {
            "days": [{"day": d["day"], "rate": d["rate"]} for d in history.series(history.total)],
            "rate": history.mean_rate(history.total),
        },
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def render_pdf(report: CampaignReport, data: dict[str, Any], footer: str) -> bytes:
    """The campaign report as an A4 PDF: its paragraphs, each with how it is counted,
    then the charts of ``data`` (``charts``) drawn as vector shapes, each with the table
    of the numbers it is drawn from (so the page can be checked, and read aloud)."""
    title = _("Campus safety campaign progress report")
    pdf = ReportPDF(title, footer)
    pdf.add_page()
    pdf.heading(title, size=16)
    for paragraph in report.paragraphs:
        pdf.paragraph(paragraph.text())
        pdf.note(_("How it is counted: %(m)s") % {"m": paragraph.method})

    trend = data["trend"]
    pdf.heading(_("Alarms and hazards by month"), keep_with=CHART_ROOM)
    series = {
        _("Real alarms"): trend["alarms"],
        _("Hazards reported"): trend["hazards_reported"],
        _("Hazards rectified"): trend["hazards_rectified"],
    }
    pdf.line_chart(trend["months"], series)
    pdf.table(
        [_("Month"), *series],
        [
            [month, *(values[i] for values in series.values())]
            for i, month in enumerate(trend["months"])
        ],
    )
    pdf.note(
        _(
            "Real alarm cases opened each month (false alarms, tests and drills left out), "
            "hazards reported each month and hazards rectified each month (dated by their "
            "verification); a longer period shows its last %(n)d months."
        )
        % {"n": TREND_MONTHS_MAX}
    )

    t = data["targets"]
    pdf.heading(_("4×100% targets by district"), keep_with=CHART_ROOM)
    pdf.bar_chart(
        [d["name"] for d in t["districts"]],
        {
            label: [d["rates"][k] for d in t["districts"]]
            for label, k in zip(t["labels"], t["keys"], strict=True)
        },
        maximum=1.0,
        percent=True,
    )
    pdf.table(
        [_("District"), *t["labels"]],
        [[d["name"], *(_pct(d["rates"][k]) for k in t["keys"])] for d in t["districts"]]
        + [[_("Total"), *(_pct(t["rates"][k]) for k in t["keys"])]],
    )
    pdf.note(
        _(
            "The four targets of each school at the time of generation (RULES §3): "
            "certified full-time guards with the standard kit, a gate register kept, "
            "one-key alarm and cameras networked and online, someone on every "
            "school-gate post window of the last 7 days."
        )
    )

    a = data["availability"]
    pdf.heading(
        _("Device availability, last %(n)d days") % {"n": len(a["days"])}, keep_with=CHART_ROOM
    )
    pdf.line_chart(
        [d["day"][5:] for d in a["days"]],
        {_("Availability"): [d["rate"] for d in a["days"]]},
        maximum=1.0,
        percent=True,
    )
    pdf.paragraph(_("Availability over the period: %(rate)s.") % {"rate": _pct(a["rate"])})
    pdf.note(
        _(
            "Share of each day the approved devices were online, from their recorded "
            "state changes (time in an unknown state is not counted)."
        )
    )
    return bytes(pdf.output())
