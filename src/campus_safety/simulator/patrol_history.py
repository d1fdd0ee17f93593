"""Guard-tour rounds and 护学岗 check-ins up to now, as the demo city's people would have
done them: the history half of the demo's day (demo_day.py). The live half is
patrol_walkers.py; both take their decisions from the same functions there
(``planned_walk``, ``planned_presence``), so where history ends and the walkers begin
nothing is scanned twice or skipped.

A checkpoint missed in the past gets the patrol alarm the school had at the time
(raised when its grace ran out, acknowledged by the school's guard within minutes and
resolved with a note later), written directly and never announced: starting the demo
raises nothing and escalates nothing. A miss so recent that nobody has acknowledged it
yet is left open, as it would be, for the simulated school staff (duty.py) to pick up.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from campus_safety.accounts.models import User
from campus_safety.patrols import peak_posts, services
from campus_safety.patrols import rounds as rules
from campus_safety.patrols.bulk import insert_rows
from campus_safety.patrols.models import (
    Checkpoint,
    PatrolAlarm,
    PeakPost,
    PostAssignment,
    PostCheckIn,
    TourRound,
    TourScan,
)
from campus_safety.patrols.post_rules import distance_m
from campus_safety.simulator.patrol_walkers import (
    SEED,
    chance,
    offset_position,
    planned_presence,
    planned_walk,
)

# A database seeded long ago gets the last days before today made, not every day since.
MAX_GAP_DAYS = 2
ROSTER_AHEAD_DAYS = 2
SWEEP_LAG = dt.timedelta(seconds=20)  # the sweep notices a miss within its period
FOLLOW_UPS = ("保安员临时处置门口事务，已补巡", "巡更点标签损坏，已更换", "已补巡，无异常")
SCAN_COLUMNS = (
    "school_id", "checkpoint_id", "code", "source", "source_key", "event_id", "device_id",
    "occurred_at", "received_at",
)  # fmt: skip
ALARM_COLUMNS = (
    "school_id", "round_id", "checkpoint_id", "raised_at", "state", "acknowledged_at",
    "acknowledged_by_id", "resolved_at", "resolved_by_id", "note",
)  # fmt: skip
CHECK_IN_COLUMNS = (
    "assignment_id", "post_id", "school_id", "user_id", "person_type", "checked_in_at",
    "in_longitude", "in_latitude", "in_accuracy_m", "in_distance_m", "checked_out_at",
    "out_longitude", "out_latitude", "out_distance_m", "is_exception", "note",
)  # fmt: skip


def patrol_alarm_follow_up(
    seed: int, round_pk: int, checkpoint: int
) -> tuple[dt.timedelta, dt.timedelta, str]:
    """How the school answers a patrol alarm: acknowledged this long after it was
    raised (2–12 min, inside the 15 minutes before the police are called), resolved
    this long after that (10–40 min: the checkpoint walked again), with this note.
    History and the live school staff (duty.py) alike."""
    key = (round_pk, checkpoint)
    acknowledged = dt.timedelta(minutes=2 + 10 * chance(seed, "ack", *key))
    resolved = dt.timedelta(minutes=10 + 30 * chance(seed, "resolve", *key))
    note = FOLLOW_UPS[int(chance(seed, "note", *key) * len(FOLLOW_UPS))]
    return acknowledged, resolved, note


def school_guards(school_ids: Iterable[int]) -> dict[int, int]:
    """{school pk: user pk} of the guard account who answers the school's patrol alarms
    in the demo (the seeded post guard ``hx-g…`` first, else any guard)."""
    rows = User.objects.filter(school_id__in=list(school_ids), role=User.Role.GUARD)
    found: dict[int, int] = {}
    for school_id, pk, username in rows.order_by("pk").values_list("school_id", "pk", "username"):
        if school_id not in found or username.startswith("hx-"):
            found[school_id] = pk
    return found


def fill_tours(
    now: dt.datetime, *, since: dt.date | None = None, seed: int = SEED
) -> dict[str, int]:
    """Rounds from ``since`` (default: the last day that has rounds, at most
    MAX_GAP_DAYS back) to today, walked as planned up to ``now``, then evaluated."""
    today = services.local_day(now)
    if since is None:
        last = TourRound.objects.aggregate(day=Max("day"))["day"]
        since = max(last or today, today - dt.timedelta(days=MAX_GAP_DAYS))
    day = since
    while day <= today:
        services.ensure_rounds(day)
        day += dt.timedelta(days=1)
    started = TourRound.objects.filter(status=TourRound.Status.PENDING, starts_at__lte=now)
    rows = list(
        started.order_by("pk").values_list(
            "pk", "plan_id", "school_id", "starts_at", "due_at", "closes_at", "detail"
        )
    )
    if not rows:
        return {"tour_rounds": 0, "tour_scans": 0, "patrol_alarms": 0}
    early = settings.PATROL_EARLY_MINUTES * 60
    scans = _existing_scans(rows, early)
    new_scans, specs = _walk(seed, rows, scans, now, early)
    missed = _missed(specs, scans, now, early)
    with transaction.atomic():
        insert_rows(TourScan, SCAN_COLUMNS, new_scans, ignore_conflicts=True)
        alarms = _alarms_of_the_past(seed, missed, now)
        # The round statuses; the alarms for its misses exist already, so this raises
        # (and announces) none.
        results = services.evaluate_rounds(started, now)
    return {"tour_rounds": len(results), "tour_scans": len(new_scans), "patrol_alarms": alarms}


def _existing_scans(rows: Sequence[tuple], early: float) -> dict[int, list[float]]:
    """{checkpoint: [POSIX s]} of the scans already stored around these rounds."""
    first = min(r[3] for r in rows) - dt.timedelta(seconds=early)
    scans = TourScan.objects.filter(occurred_at__gte=first, checkpoint__isnull=False)
    schools = {r[2] for r in rows}
    if len(schools) < 500:
        scans = scans.filter(school_id__in=schools)
    found: dict[int, list[float]] = defaultdict(list)
    for checkpoint, at in scans.values_list("checkpoint_id", "occurred_at").iterator(5000):
        found[checkpoint].append(at.timestamp())
    return found


def _walk(
    seed: int, rows: Sequence[tuple], scans: dict[int, list[float]], now: dt.datetime, early: float
) -> tuple[list[tuple], list[rules.Round]]:
    """The planned scans up to ``now`` that are not stored yet (added to ``scans``), and
    the rounds as the pure evaluation takes them."""
    checkpoints = {
        pk: (code, device)
        for pk, code, device in Checkpoint.objects.filter(
            school_id__in={r[2] for r in rows}
        ).values_list("pk", "code", "device_id")
    }
    moment = now.timestamp()
    new, specs = [], []
    for pk, plan_id, school_id, starts_at, due_at, closes_at, detail in rows:
        starts, due, closes = starts_at.timestamp(), due_at.timestamp(), closes_at.timestamp()
        stops = [(s["checkpoint"], s["due"]) for s in detail]
        specs.append(
            rules.Round(
                key=pk, plan=plan_id, starts=starts, due=due, closes=closes, grace=closes - due,
                stops=tuple(rules.Stop(c, d) for c, d in stops),
            )
        )  # fmt: skip
        for checkpoint, at in planned_walk(seed, pk, starts, stops, closes - due):
            if at > moment or checkpoint not in checkpoints:
                continue
            if any(starts - early <= t <= closes for t in scans[checkpoint]):
                continue  # already scanned (a walker before a restart)
            scans[checkpoint].append(at)
            code, device = checkpoints[checkpoint]
            occurred = dt.datetime.fromtimestamp(at, dt.UTC)
            new.append(
                (school_id, checkpoint, code, "device" if device else "phone", "sim",
                 f"r{pk}-{checkpoint}", device, occurred,
                 min(now, occurred + dt.timedelta(seconds=2)))
            )  # fmt: skip
    return new, specs


def _missed(
    specs: Sequence[rules.Round], scans: dict[int, list[float]], now: dt.datetime, early: float
) -> list[tuple[int, int, float]]:
    """(round, checkpoint, moment it was missed) — what the sweep would have found."""
    wanted = {stop.checkpoint for spec in specs for stop in spec.stops}
    pairs = ((at, c) for c in wanted for at in scans.get(c, ()))
    results = rules.evaluate_all(specs, pairs, now.timestamp(), early)
    missed = []
    for spec, result in zip(specs, results, strict=True):
        for (checkpoint, _at, state), stop in zip(result.stops, spec.stops, strict=True):
            if state == rules.MISSED:
                missed.append((spec.key, checkpoint, stop.due + spec.grace))
    return missed


def _alarms_of_the_past(seed: int, missed: Sequence[tuple[int, int, float]], now) -> int:
    """The patrol alarm of each past miss, in the state the school has brought it to by
    ``now``: open (just raised), acknowledged, or resolved with a note."""
    if not missed:
        return 0
    school_of = dict(
        TourRound.objects.filter(pk__in={r for r, _c, _t in missed}).values_list("pk", "school_id")
    )
    guards = school_guards(set(school_of.values()))
    rows = []
    for round_pk, checkpoint, missed_at in missed:
        school_id = school_of[round_pk]
        raised = dt.datetime.fromtimestamp(missed_at, dt.UTC) + SWEEP_LAG
        to_acknowledge, to_resolve, note = patrol_alarm_follow_up(seed, round_pk, checkpoint)
        guard = guards.get(school_id)
        acknowledged = raised + to_acknowledge
        resolved = acknowledged + to_resolve
        if guard is None or acknowledged > now:
            row = (PatrolAlarm.State.OPEN, None, None, None, None, "")
        elif resolved > now:
            row = (PatrolAlarm.State.ACKNOWLEDGED, acknowledged, guard, None, None, "")
        else:
            row = (PatrolAlarm.State.RESOLVED, acknowledged, guard, resolved, guard, note)
        rows.append((school_id, round_pk, checkpoint, raised, *row))
    return insert_rows(PatrolAlarm, ALARM_COLUMNS, rows, ignore_conflicts=True)


def fill_posts(
    now: dt.datetime, *, since: dt.date | None = None, seed: int = SEED
) -> dict[str, int]:
    """The roster from ``since`` (default: the last day with check-ins, at most
    MAX_GAP_DAYS back) to ROSTER_AHEAD_DAYS ahead, and the check-ins of every window
    since then that is already over (windows under way are the walkers')."""
    today = services.local_day(now)
    if since is None:
        last = PostCheckIn.objects.aggregate(day=Max("assignment__day"))["day"]
        since = max(last or today, today - dt.timedelta(days=MAX_GAP_DAYS))
    roster = peak_posts.generate_roster(
        PeakPost.objects.all(), since, today + dt.timedelta(days=ROSTER_AHEAD_DAYS)
    )
    over = PostAssignment.objects.filter(
        day__gte=since, ends_at__lt=now, check_in__isnull=True
    ).select_related("post")
    rows = []
    for entry in over.order_by("pk").iterator(2000):
        presence = planned_presence(seed, entry.pk)
        if presence.is_absent:
            continue
        post = entry.post
        metres = post.radius_m * 2.5 if presence.is_outside else 20
        angle = presence.luck * 2 * math.pi
        lon, lat = offset_position(post.longitude, post.latitude, metres, angle)
        distance = round(distance_m(lon, lat, post.longitude, post.latitude), 1)
        rows.append(
            (entry.pk, post.pk, entry.school_id, entry.user_id, entry.person_type,
             presence.arrives(entry.starts_at), lon, lat, 12.0, distance,
             presence.leaves(entry.ends_at), post.longitude, post.latitude, 0.0,
             presence.is_outside, "在路口疏导交通" if presence.is_outside else "")
        )  # fmt: skip
    insert_rows(PostCheckIn, CHECK_IN_COLUMNS, rows, ignore_conflicts=True)
    return {"roster_entries": roster["entries"], "post_check_ins": len(rows)}
