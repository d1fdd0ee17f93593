"""The daily inspection's rule set (网上巡查细则), versioned: each item is a function
over the existing records for every school at once (one or two grouped queries, no
loop per school), returning the schools that fail it with the figure and the words.

A school starts from 100 and loses an item's weight when it fails the item; the page
/inspections/rules/ explains each item in Chinese (``label`` and ``explanation``).
Change a weight or threshold → bump ``VERSION`` (results keep the version they used).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campus_safety.alarms.models import AlarmEvent, TestWindow
from campus_safety.devices.models import Device, KeyArea
from campus_safety.hazards.models import Hazard
from campus_safety.orgs.models import School
from campus_safety.patrols.models import PeakPost, PostAssignment, PostCheckIn, TourRound

VERSION = "2026.5"  # 2026.5: the daily run issues notices by itself (NOTICE_* below)
# 2026.4: picture quality judged by the share of faulty cameras (完好率)
# 2026.3: alarm tests within a quarter; a day in progress judged so far
# 2026.2: gate registers weigh 5 (taken from cameras offline > 24 h)
ONLINE_RATE = 0.9  # devices online at inspection time
OFFLINE_HOURS = 24  # a camera offline longer than this fails the school
# RULES.md §4: one-key alarm buttons are tested monthly or quarterly (with notice to
# 110), so a school keeping the quarterly schedule is not failed two months in three.
ALARM_TEST_DAYS = 92
MIN_ROUNDS = 5  # GB/T 29315-2022: key areas patrolled ≥ 5 times a day
NIGHT_HOURS = (22, 6)  # a round starting in [22:00, 06:00) is a night round
SCHOOL_DAY_ENDS = dt.time(18)  # gate registers of a day in progress judged from then
# Key areas that must have a working camera (GB/T 29315-2022 "应"), by school.
REQUIRED_AREAS = (KeyArea.OUTSIDE_GATE, KeyArea.ENTRANCE, KeyArea.GATE_ROOM)
BOARDING_AREAS = (KeyArea.DORMITORY,)
KINDERGARTEN_AREAS = (KeyArea.KINDERGARTEN_ROOMS,)
# Picture quality (视频图像完好率 ≥ 90 %): a school fails when more than this share of
# its cameras show a faulty picture, as the online rate allows a tenth offline. One
# blurred camera among sixteen is a repair job (the camera's page and the VQD page list
# it), not a failed day: with any fault failing, about 65 % of the demo's schools failed
# the item every day, and the board could not tell the worst from the rest.
VIDEO_FAULT_SHARE = 0.1
# Automatic notices (整改通知), issued by the daily run in the name of the school's
# district education bureau: a school scoring below NOTICE_BELOW gets one listing every
# item it failed; a school that passes but fails a critical item NOTICE_STREAK_DAYS
# days running gets one for those items. An item already on an open notice of the
# school is never put on a second (a rerun of the same day issues nothing new).
NOTICE_BELOW = 60.0
# Critical: what a school can put right within the deadline and what leaves it exposed
# now — a gate without a working camera, hazards left past their deadline. Not staffing:
# hiring guards takes a budget, not a week; it weighs 15 in the score (and a school
# below the line gets it listed), but as a streak it sent 644 of the demo city's 2,029
# schools a notice on the first night.
NOTICE_CRITICAL = ("key_area_cameras", "hazards_overdue")
NOTICE_STREAK_DAYS = 3
NOTICE_DEADLINE_DAYS = 7
ROUND_DONE = (TourRound.Status.COMPLETE, TourRound.Status.LATE, TourRound.Status.WRONG_ORDER)


@dataclass
class Context:
    """What every rule needs: the day, the moment of inspection and the schools."""

    day: dt.date
    now: dt.datetime
    schools: dict[int, dict[str, Any]]  # id → {"kind", "is_boarding", "guard_gap", …}

    @property
    def is_day_over(self) -> bool:
        """Today inspected at 07:00 is judged on the rounds and post windows already
        over, not failed for the ones still to come."""
        end = dt.datetime.combine(self.day + dt.timedelta(days=1), dt.time.min)
        return self.now >= timezone.make_aware(end)


Failures = dict[int, tuple[Any, str]]  # school id → (figure, words)


@dataclass(frozen=True)
class Item:
    code: str
    label: Any
    explanation: Any
    weight: float
    check: Callable[[Context], Failures]


# --- the items ----------------------------------------------------------------------------------


def _device_online(ctx: Context) -> Failures:
    rows = (
        Device.objects.filter(school__isnull=False, is_approved=True)
        .values("school")
        .annotate(total=Count("id"), online=Count("id", filter=Q(status=Device.Status.ONLINE)))
    )
    out: Failures = {}
    for row in rows:
        rate = row["online"] / row["total"] if row["total"] else 1.0
        if rate < ONLINE_RATE:
            out[row["school"]] = (round(rate * 100, 1), f"{row['online']}/{row['total']}")
    return out


def _cameras_offline(ctx: Context) -> Failures:
    since = ctx.now - dt.timedelta(hours=OFFLINE_HOURS)
    rows = (
        Device.objects.filter(
            school__isnull=False,
            kind=Device.Kind.CAMERA,
            status__in=[Device.Status.OFFLINE, Device.Status.FAULT],
            status_since__lt=since,
        )
        .values("school")
        .annotate(n=Count("id"))
    )
    return {row["school"]: (row["n"], str(row["n"])) for row in rows}


def _alarm_tested(ctx: Context) -> Failures:
    since = ctx.now - dt.timedelta(days=ALARM_TEST_DAYS)
    has_box = set(
        Device.objects.filter(kind=Device.Kind.ONE_KEY_ALARM, school__isnull=False)
        .values_list("school", flat=True)
        .distinct()
    )
    tested = set(
        TestWindow.objects.filter(starts_at__gte=since, starts_at__lte=ctx.now)
        .values_list("school", flat=True)
        .distinct()
    )
    tested |= set(
        AlarmEvent.objects.filter(is_test=True, received_at__gte=since, school__isnull=False)
        .values_list("school", flat=True)
        .distinct()
    )
    return {school: (0, "") for school in has_box - tested}


def _key_area_cameras(ctx: Context) -> Failures:
    working: dict[int, set[str]] = defaultdict(set)
    rows = (
        Device.objects.filter(
            kind=Device.Kind.CAMERA, status=Device.Status.ONLINE, school__isnull=False
        )
        .exclude(key_area="")
        .values_list("school", "key_area")
        .distinct()
    )
    for school, area in rows:
        working[school].add(area)
    out: Failures = {}
    for school_id, school in ctx.schools.items():
        required = set(REQUIRED_AREAS)
        if school["is_boarding"]:
            required |= set(BOARDING_AREAS)
        if school["kind"] == School.Kind.KINDERGARTEN:
            required |= set(KINDERGARTEN_AREAS)
        missing = sorted(required - working.get(school_id, set()))
        if missing:
            out[school_id] = (len(missing), "、".join(str(KeyArea(a).label) for a in missing))
    return out


def _staffing(ctx: Context) -> Failures:
    return {
        school_id: (school["guard_gap"], str(school["guard_gap"]))
        for school_id, school in ctx.schools.items()
        if school["guard_gap"] > 0
    }


def _tours(ctx: Context) -> Failures:
    """A day in progress fails only once the rounds still to come can no longer make
    up the five (or the night's rounds are all over and none was walked)."""
    night = Q(starts_at__hour__gte=NIGHT_HOURS[0]) | Q(starts_at__hour__lt=NIGHT_HOURS[1])
    done = Q(status__in=ROUND_DONE)
    to_come = Q(status=TourRound.Status.PENDING, closes_at__gt=ctx.now)
    rows = (
        TourRound.objects.filter(day=ctx.day)
        .values("school")
        .annotate(
            done=Count("id", filter=done),
            to_come=Count("id", filter=to_come),
            night_planned=Count("id", filter=night),
            night_done=Count("id", filter=night & done),
            night_to_come=Count("id", filter=night & to_come),
        )
    )
    figures = {row["school"]: row for row in rows}
    over = ctx.is_day_over
    out: Failures = {}
    for school_id in ctx.schools:
        row = figures.get(school_id)
        if row is None:
            if over:
                out[school_id] = (0, f"0/{MIN_ROUNDS}")
            continue  # a day in progress without rounds yet: nothing to judge
        to_come = 0 if over else row["to_come"]
        night_to_come = 0 if over else row["night_to_come"]
        boards = over and ctx.schools[school_id]["is_boarding"]
        no_night = (row["night_planned"] or boards) and not (row["night_done"] or night_to_come)
        if row["done"] + to_come < MIN_ROUNDS or no_night:
            out[school_id] = (row["done"], f"{row['done']}/{MIN_ROUNDS}")
    return out


def _peak_posts(ctx: Context) -> Failures:
    with_post = set(
        PeakPost.objects.filter(is_active=True).values_list("school", flat=True).distinct()
    )
    assignments = PostAssignment.objects.filter(day=ctx.day)
    if not ctx.is_day_over:  # a day in progress: the windows already over
        assignments = assignments.filter(ends_at__lte=ctx.now)
    due = assignments.values("school").annotate(posts=Count("post", distinct=True))
    staffed = (
        PostCheckIn.objects.filter(checked_in_at__date=ctx.day)
        .values("school")
        .annotate(posts=Count("post", distinct=True))
    )
    staffed_by = {row["school"]: row["posts"] for row in staffed}
    out: Failures = {}
    for row in due:
        covered = staffed_by.get(row["school"], 0)
        if covered < row["posts"]:
            out[row["school"]] = (covered, f"{covered}/{row['posts']}")
    for school_id in ctx.schools:
        if school_id not in with_post:
            out[school_id] = (0, "0")
    return out


def _hazards_overdue(ctx: Context) -> Failures:
    rows = (
        Hazard.objects.filter(status__in=Hazard.OPEN_STATUSES, deadline__lt=ctx.now)
        .values("school")
        .annotate(n=Count("id"))
    )
    return {row["school"]: (row["n"], str(row["n"])) for row in rows}


def _gate_registers(ctx: Context) -> Failures:
    """A school whose gate register is in service and recorded nobody that school day
    (campus_safety.gate.registers); a school without a gate terminal is not judged, nor
    a day before its school day is over (at 00:30 nobody has come through any gate)."""
    from campus_safety.gate import registers

    ends = timezone.make_aware(dt.datetime.combine(ctx.day, SCHOOL_DAY_ENDS))
    if ctx.now < ends:
        return {}
    return {school: (0, "0") for school in registers.unkept(ctx.day) if school in ctx.schools}


def _video_quality(ctx: Context) -> Failures:
    faulty = Q(quality__isnull=False) & ~Q(quality__faults=[])  # its last picture is faulty
    rows = (
        Device.objects.filter(kind=Device.Kind.CAMERA, school__isnull=False, is_approved=True)
        .values("school")
        .annotate(total=Count("id"), faulty=Count("id", filter=faulty))
        .filter(faulty__gt=0)
    )
    return {
        row["school"]: (row["faulty"], f"{row['faulty']}/{row['total']}")
        for row in rows
        if row["faulty"] / row["total"] > VIDEO_FAULT_SHARE
    }


ITEMS: tuple[Item, ...] = (
    Item(
        "device_online",
        _("Devices online"),
        _("At least 90 per cent of the school's registered devices are online at inspection time."),
        15,
        _device_online,
    ),
    Item(
        "cameras_offline",
        _("Cameras offline over 24 h"),
        _("No camera has been offline or faulty for more than 24 hours (repair within 24 h)."),
        5,
        _cameras_offline,
    ),
    Item(
        "alarm_tested",
        _("One-key alarms tested"),
        _(
            "Schools with one-key alarm boxes tested them (a test window or a test alarm) "
            "within the last 92 days (a quarter: buttons are tested monthly or quarterly)."
        ),
        10,
        _alarm_tested,
    ),
    Item(
        "key_area_cameras",
        _("Key areas covered by a working camera"),
        _(
            "Outside the gate, the entrance and the gate room (and dormitories of boarding "
            "schools, activity rooms of kindergartens) each have an online camera "
            "(GB/T 29315-2022)."
        ),
        15,
        _key_area_cameras,
    ),
    Item(
        "staffing",
        _("Guards staffed"),
        _("The school has at least the number of full-time guards its staffing rule requires."),
        15,
        _staffing,
    ),
    Item(
        "tours",
        _("Guard tours"),
        _(
            "At least 5 tour rounds walked that day, and a night round where night rounds "
            "are planned or the school boards."
        ),
        10,
        _tours,
    ),
    Item(
        "peak_posts",
        _("School-gate posts (护学岗)"),
        _(
            "The school has a gate post, and every post on duty that day was staffed "
            "(someone checked in)."
        ),
        10,
        _peak_posts,
    ),
    Item(
        "hazards_overdue",
        _("Hazards overdue"),
        _("No open hazard is past its rectification deadline."),
        10,
        _hazards_overdue,
    ),
    Item(
        "video_quality",
        _("Camera picture quality"),
        _(
            "At most one camera in ten shows a picture fault in its last snapshot (no "
            "signal, blur, too dark or bright, colour cast, noise, frozen, covered, moved): "
            "picture quality of at least 90 per cent."
        ),
        5,
        _video_quality,
    ),
    Item(
        "gate_registers",
        _("Gate registers kept"),
        _(
            "On a school day the gate recorded visitors, vehicles or pick-ups (a school "
            "whose gate terminal recorded nobody in the last 30 days is not judged)."
        ),
        5,
        _gate_registers,
    ),
)
ITEMS_BY_CODE = {item.code: item for item in ITEMS}


NOTICE_RULES = (
    _(
        "A school scoring below %(below)s on a day receives a rectification notice listing "
        "every item it failed that day."
    ),
    _(
        "A school that passes but fails one of these critical items %(days)s days running "
        "receives a notice for it: %(critical)s."
    ),
    _(
        "The notice is issued the same night by the school's district education bureau "
        "(shown as the bureau's online-inspection system), with a deadline of %(deadline)s "
        "days; the bureau's inspectors accept or return the school's answer, and an "
        "overdue notice escalates like a hazard."
    ),
    _(
        "An item already on an open notice of the school is not put on another one, so "
        "running the inspection of a day again issues nothing new."
    ),
)


def notice_rules() -> list[str]:
    """The automatic-notice rule in words, for the rule page."""
    figures = {
        "below": f"{NOTICE_BELOW:.0f}",
        "days": NOTICE_STREAK_DAYS,
        "critical": "、".join(item_label(code) for code in NOTICE_CRITICAL),
        "deadline": NOTICE_DEADLINE_DAYS,
    }
    return [str(words) % figures for words in NOTICE_RULES]


def item_label(code: str) -> str:
    item = ITEMS_BY_CODE.get(code)
    return str(item.label) if item else code
