"""The 4×100% board (四个100%): each school's four targets from the records, as the
authorities define them (RULES.md §3), the rates per district and city, why a school
misses a target, and the trend by week.

1. 专职保安员配备 — at least the required number (the staffing rule) of *certified*
   full-time guards (professional or full-time, with a guard certificate number), each
   with the standard protective kit (``REPORTS_STANDARD_KIT``: pieces per counted guard).
2. 封闭化管理 — a gate register is kept: the school records entries at the gate (a
   registered gate-register source, see ``GATE_REGISTER_SOURCES``) or has an approved,
   online access controller (门禁) on the platform.
3. 一键报警和视频监控联网 — at least one one-key alarm and one camera, approved (i.e.
   networked with the police platform), and online: every one-key alarm online and
   the cameras' online share at least ``REPORTS_VIDEO_ONLINE_MIN``. For a past week,
   "online" is the week's availability (``reports.availability``).
4. 护学岗设置 — an active 护学岗 post, and someone on post in every arrival and
   dismissal window of the period's school days (no window left empty).

Everything is set-based: a few queries per target for the whole city, the schools sent
as a subquery (not two thousand parameters), then one pass in Python over the schools
in which nothing is looked up or translated per school; so the city board stays well
under a second.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.devices.models import Device
from campus_safety.orgs.models import Region
from campus_safety.patrols import peak_posts
from campus_safety.patrols import services as patrol_services
from campus_safety.patrols.models import PeakPost, PostCheckIn
from campus_safety.patrols.post_rules import Timetable, is_school_day
from campus_safety.reports import availability
from campus_safety.workforce.models import Equipment
from campus_safety.workforce.staffing import COUNTED_KINDS, StaffingRule, annotate_staffing

GUARDS, CLOSED, NETWORKED, POSTS = "guards", "closed", "networked", "posts"
TARGETS = (GUARDS, CLOSED, NETWORKED, POSTS)

# Where each target is put right (URL names; the board links a missing school there).
FIX_URLS = {
    GUARDS: "schools:school_detail",
    CLOSED: "devices:device_list",
    NETWORKED: "devices:device_list",
    POSTS: "patrols:posts",
}

# Gate-register sources: functions (schools: a query of their ids, start, end) -> ids of
# schools whose gate register has entries in [start, end). The gate capability adds its
# own at start-up; the access-controller rule below needs no registration.
GateRegisterSource = Callable[[QuerySet, dt.datetime, dt.datetime], set[int]]
GATE_REGISTER_SOURCES: list[GateRegisterSource] = []


def target_labels() -> dict[str, str]:
    return {
        GUARDS: _("Full-time guard staffing"),
        CLOSED: _("Closed management"),
        NETWORKED: _("One-key alarm and video networked"),
        POSTS: _("School-gate post coverage"),
    }


def standard_kit() -> dict[str, int]:
    return dict(getattr(settings, "REPORTS_STANDARD_KIT", {"baton": 1, "stab_vest": 1}))


def video_online_min() -> float:
    return float(getattr(settings, "REPORTS_VIDEO_ONLINE_MIN", 0.95))


@dataclass
class SchoolTargets:
    """One school's four targets: met or not, and why not (in words)."""

    pk: int
    code: str
    name: str
    region_id: int
    met: dict[str, bool] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)

    @property
    def all_met(self) -> bool:
        return all(self.met.values())


@dataclass
class Period:
    """The window a board is for: the current state at ``end`` looks back a week for
    the gate register and the posts; a past week uses the whole week."""

    start: dt.datetime
    end: dt.datetime
    is_current: bool

    @classmethod
    def current(cls, now: dt.datetime | None = None) -> Period:
        now = now or clock.now()
        return cls(now - dt.timedelta(days=7), now, True)

    @classmethod
    def week(cls, monday: dt.date, now: dt.datetime | None = None) -> Period:
        start, _end = availability.day_bounds(monday)
        end = availability.day_bounds(monday + dt.timedelta(days=6))[1]
        return cls(start, min(end, now or clock.now()), False)


def _guards(schools: QuerySet, rule: StaffingRule, period: Period) -> dict[int, tuple[bool, str]]:
    """Certified counted guards against the requirement, and the kit per counted guard."""
    certified = Q(guards__kind__in=COUNTED_KINDS) & ~Q(guards__certificate_number="")
    if not period.is_current:
        hired = timezone.localdate(period.end)
        certified &= Q(guards__hired_on__isnull=True) | Q(guards__hired_on__lte=hired)
    rows = (
        annotate_staffing(schools.order_by(), rule)
        .annotate(certified=Count("guards", filter=certified, distinct=True))
        .values_list("pk", "required_guards", "certified", *(f"guards_{k}" for k in COUNTED_KINDS))
    )
    kit = standard_kit()
    pieces: dict[int, Counter[str]] = defaultdict(Counter)
    for school_id, kind, n in (
        Equipment.objects.filter(school__in=schools.order_by().values("pk"), kind__in=kit)
        .values_list("school_id", "kind")
        .annotate(n=Sum("quantity"))
        .values_list("school_id", "kind", "n")
    ):
        pieces[school_id][kind] += n
    # the words once, not once per school (gettext is most of a city pass otherwise)
    too_few = _("%(have)d certified full-time guards of %(need)d required")
    uncertified_words = _(" (%(n)d without a guard certificate)")
    piece_words = _("%(kind)s %(have)d of %(need)d")
    kit_short = _("standard kit short: %(list)s")
    kind_labels = {kind: str(Equipment.Kind(kind).label) for kind in kit}
    result = {}
    for pk, required, certified_n, *counted in rows:
        counted_n = sum(counted)
        if certified_n < required:
            uncertified = counted_n - certified_n
            reason = too_few % {"have": certified_n, "need": required}
            if uncertified > 0:
                reason += uncertified_words % {"n": uncertified}
            result[pk] = (False, reason)
            continue
        has = pieces.get(pk, {})
        short = [
            piece_words
            % {"kind": kind_labels[kind], "have": has.get(kind, 0), "need": per * certified_n}
            for kind, per in kit.items()
            if has.get(kind, 0) < per * certified_n
        ]
        if short:
            result[pk] = (False, kit_short % {"list": "、".join(short)})
        else:
            result[pk] = (True, "")
    return result


def _closed(school_ids: set[int], within: QuerySet, period: Period) -> dict[int, tuple[bool, str]]:
    """A gate register kept: a registered source saw entries, or an access controller
    is approved and online (now; for a past week: online at some time in it).
    ``within``: the same schools as a query of their ids (sent as a subquery)."""
    kept: set[int] = set()
    for source in GATE_REGISTER_SOURCES:
        kept |= source(within, period.start, period.end)
    controllers = Device.objects.filter(
        school_id__in=within, kind=Device.Kind.ACCESS_CONTROLLER, is_approved=True
    )
    if period.is_current:
        controllers = controllers.filter(status=Device.Status.ONLINE)
        kept |= set(controllers.order_by().values_list("school_id", flat=True).distinct())
    else:
        history = availability.history(
            controllers, timezone.localdate(period.start), timezone.localdate(period.end)
        )
        kept |= {pk for pk, days in history.schools.items() if any(t.online for t in days.values())}
    reason = _("no gate register kept (no entries recorded, no access controller online)")
    return {pk: (True, "") if pk in kept else (False, reason) for pk in school_ids}


def _networked(
    school_ids: set[int], within: QuerySet, period: Period
) -> dict[int, tuple[bool, str]]:
    """One-key alarms and cameras: present, approved, online (a past week: available)."""
    kinds = (Device.Kind.ONE_KEY_ALARM, Device.Kind.CAMERA)
    devices = Device.objects.filter(school_id__in=within, kind__in=kinds, is_approved=True)
    totals: dict[tuple[int, str], int] = Counter()
    online: dict[tuple[int, str], float] = Counter()
    if period.is_current:
        for school_id, kind, status, n in (
            devices.values_list("school_id", "kind", "status")
            .annotate(n=Count("pk"))
            .values_list("school_id", "kind", "status", "n")
            .order_by()
        ):
            totals[(school_id, kind)] += n
            if status == Device.Status.ONLINE:
                online[(school_id, kind)] += n
    else:
        first, last = timezone.localdate(period.start), timezone.localdate(period.end)
        kind_of = dict(devices.values_list("pk", "kind"))
        school_of = dict(devices.values_list("pk", "school_id"))
        history = availability.history(devices, first, last, now=period.end, keep_devices=True)
        for pk, kind in kind_of.items():
            totals[(school_of[pk], kind)] += 1
            rate = history.mean_rate(history.devices.get(pk, {}))
            online[(school_of[pk], kind)] += rate or 0.0
    minimum = video_online_min()
    no_alarm, no_camera = _("no one-key alarm networked"), _("no camera networked")
    alarms_off = _("one-key alarms online %(on).0f of %(all)d")
    cameras_off = _("cameras online %(rate).0f%% (below %(min).0f%%)")
    alarm, camera = Device.Kind.ONE_KEY_ALARM.value, Device.Kind.CAMERA.value
    result = {}
    for pk in school_ids:
        alarms, cameras = totals.get((pk, alarm), 0), totals.get((pk, camera), 0)
        reasons = []
        if not alarms:
            reasons.append(no_alarm)
        elif online.get((pk, alarm), 0) < alarms - 1e-9:
            reasons.append(alarms_off % {"on": online.get((pk, alarm), 0), "all": alarms})
        if not cameras:
            reasons.append(no_camera)
        elif online.get((pk, camera), 0) / cameras < minimum:
            rate = 100 * online.get((pk, camera), 0) / cameras
            reasons.append(cameras_off % {"rate": rate, "min": 100 * minimum})
        result[pk] = (not reasons, "；".join(reasons))
    return result


def _posts(school_ids: set[int], within: QuerySet, period: Period) -> dict[int, tuple[bool, str]]:
    """An active post, and someone there in every closed window of the period."""
    first = patrol_services.local_day(period.start)
    last = patrol_services.local_day(period.end)
    calendar = patrol_services.holiday_calendar(first, last)
    posts = list(
        PeakPost.objects.filter(is_active=True, school_id__in=within).values_list(
            "pk", "school_id", "in_service_since"
        )
    )
    tables = peak_posts.timetables({p[1] for p in posts})
    default = Timetable.default()
    # Windows someone checked in for, per post, counted in SQL (a window is its post's
    # assignment start time: arrival and dismissal start at different times).
    covered = dict(
        PostCheckIn.objects.filter(
            post__is_active=True,
            post__school_id__in=within,
            assignment__starts_at__gte=period.start,
            assignment__ends_at__lte=period.end,
        )
        .values_list("post_id")
        .annotate(n=Count("assignment__starts_at", distinct=True))
        .order_by()
    )
    windows: Counter[int] = Counter()
    expected: Counter[int] = Counter()
    empty: Counter[int] = Counter()
    with_post = set()
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    school_days = [day for day in days if is_school_day(day, calendar)]
    # The closed windows a post is expected in depend only on its timetable and on the
    # first school day it was in service: counted once per such pair (most posts share
    # the default timetable and were in service before the period), not per post.
    expected_of: dict[tuple[Timetable, dt.date | None], int] = {}
    for post_id, school_id, since in posts:
        with_post.add(school_id)
        table = tables.get(school_id, default)
        key = (table, since if since and since > first else None)
        if key not in expected_of:
            expected_of[key] = sum(
                1
                for day in school_days
                if not (since and day < since)
                for opens, closes in table.windows(day).values()
                if opens >= period.start and closes <= period.end
            )
        windows[school_id] += expected_of[key]
        expected[post_id] += expected_of[key]
    for post_id, school_id, _since in posts:
        empty[school_id] += max(0, expected[post_id] - covered.get(post_id, 0))
    no_post = _("no active school-gate post")
    nobody = _("nobody on post in %(empty)d of %(all)d peak windows")
    result = {}
    for pk in school_ids:
        if pk not in with_post:
            result[pk] = (False, no_post)
        elif empty[pk]:
            result[pk] = (False, nobody % {"empty": empty[pk], "all": windows[pk]})
        else:
            result[pk] = (True, "")
    return result


def school_targets(
    schools: QuerySet, rule: StaffingRule, period: Period | None = None
) -> list[SchoolTargets]:
    """Every school's four targets over ``period`` (default: the current state)."""
    period = period or Period.current()
    rows = list(schools.order_by("code").values_list("pk", "code", "name", "region_id"))
    ids = {r[0] for r in rows}
    within = schools.order_by().values("pk")
    checks = {
        GUARDS: _guards(schools, rule, period),
        CLOSED: _closed(ids, within, period),
        NETWORKED: _networked(ids, within, period),
        POSTS: _posts(ids, within, period),
    }
    result = []
    for pk, code, name, region_id in rows:
        item = SchoolTargets(pk, code, name, region_id)
        for target, by_school in checks.items():
            met, why = by_school.get(pk, (False, ""))
            item.met[target] = met
            if not met:
                item.why[target] = why
        result.append(item)
    return result


def _rates(items: list[SchoolTargets]) -> dict[str, Any]:
    n = len(items)
    counts = {t: sum(i.met[t] for i in items) for t in TARGETS}
    return {
        "schools": n,
        "met": counts,
        "rates": {t: round(counts[t] / n, 4) if n else 0.0 for t in TARGETS},
        "all_met": sum(i.all_met for i in items),
    }


def board(schools: QuerySet, rule: StaffingRule, period: Period | None = None) -> dict[str, Any]:
    """City (or scope) rates, the same per district, and the schools that miss."""
    items = school_targets(schools, rule, period)
    by_region: dict[int, list[SchoolTargets]] = defaultdict(list)
    for item in items:
        by_region[item.region_id].append(item)
    regions = Region.objects.filter(pk__in=by_region).order_by("code")
    return {
        "rule": rule.key,
        "targets": list(TARGETS),
        **_rates(items),
        "districts": [{"code": r.code, "name": r.name, **_rates(by_region[r.pk])} for r in regions],
        "schools_missing": [
            {
                "id": i.pk,
                "code": i.code,
                "name": i.name,
                "missing": [t for t in TARGETS if not i.met[t]],
                "why": i.why,
            }
            for i in items
            if not i.all_met
        ],
    }


def weekly_trend(
    schools: QuerySet, rule: StaffingRule, weeks: int = 8, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The rates of each of the last ``weeks`` weeks (Monday first; this week so far)."""
    now = now or clock.now()
    today = timezone.localdate(now)
    monday = today - dt.timedelta(days=today.weekday())
    rows = []
    for back in range(weeks - 1, -1, -1):
        start = monday - dt.timedelta(weeks=back)
        items = school_targets(schools, rule, Period.week(start, now))
        rows.append({"week": start.isoformat(), **_rates(items)})
    return rows
