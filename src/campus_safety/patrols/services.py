"""Guard-tour operations (巡更): scans in, rounds evaluated, patrol alarms raised and
escalated, compliance; the sweep that runs them; the patrol calendar (zone, local day,
holidays) and errors the other patrol modules share. 护学岗 posts are peak_posts.py, police
grid patrols grid.py.

Views, the API, the gateway and commands call these functions; only they write.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from campus_safety import bus, clock
from campus_safety.audit import services as audit
from campus_safety.patrols import rounds as rules
from campus_safety.patrols.bulk import insert_rows
from campus_safety.patrols.models import (
    Checkpoint,
    Holiday,
    PatrolAlarm,
    RouteStop,
    TourPlan,
    TourRound,
    TourRoute,
    TourScan,
)
from campus_safety.patrols.post_rules import is_school_day
from campus_safety.workforce.models import Guard

BATCH = 1000


class PatrolError(ValueError):
    """A request the rules refuse; the message says why (shown to the user, 4xx)."""


class CheckInRefused(PatrolError):
    """Outside the geofence or the window (every reason is listed)."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(zone()).date()


def holiday_calendar(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    """{date: is_school_day} for the holidays and make-up days between two dates."""
    return dict(
        Holiday.objects.filter(date__range=(start, end)).values_list("date", "is_school_day")
    )


# --- routes ---


def save_route(route: TourRoute | None, data: dict[str, Any]) -> TourRoute:
    """Create or change a tour route; ``stops`` (checkpoint, position), when given,
    replace the route's stops in the same transaction."""
    data = dict(data)
    stops = data.pop("stops", None)
    with transaction.atomic():
        route = route or TourRoute()
        for field, value in data.items():
            setattr(route, field, value)
        route.save()
        if stops is not None:
            route.stops.all().delete()
            RouteStop.objects.bulk_create(RouteStop(route=route, **stop) for stop in stops)
    return route


def save_checkpoint(checkpoint: Checkpoint | None, data: dict[str, Any]) -> Checkpoint:
    """Create or change a checkpoint (巡更点) from checked ``data`` (the API's and the
    set-up page's, patrols/serializers.py)."""
    checkpoint = checkpoint or Checkpoint()
    for field, value in data.items():
        setattr(checkpoint, field, value)
    with transaction.atomic():
        checkpoint.save()
    return checkpoint


def save_plan(plan: TourPlan | None, data: dict[str, Any]) -> TourPlan:
    """Create or change a tour plan (巡更计划); ``guards``, when given, replace the plan's
    guards in the same transaction. Rounds already created stay as they are; the next
    sweep adds the rounds of new start times."""
    data = dict(data)
    guards = data.pop("guards", None)
    plan = plan or TourPlan()
    for field, value in data.items():
        setattr(plan, field, value)
    with transaction.atomic():
        plan.save()
        if guards is not None:
            plan.guards.set(guards)
    return plan


# --- scans ---


def record_device_scan(
    *,
    device_pk: int,
    school_id: int | None,
    event_id: str,
    occurred_at: dt.datetime,
    received_at: dt.datetime,
    checkpoint_code: str,
    card_id: str = "",
    guard_id: str = "",
) -> int | None:
    """A committed ``patrol`` event from the ingestion service (gateway/ingest.py) as a
    tour scan. The checkpoint is the school's tag with that code, or the checkpoint
    that is this device; an unknown code is kept (shown as unknown) but counts for no
    round. Returns the scan's pk (None for a device not at a school)."""
    if school_id is None:
        return None
    checkpoint_id = (
        Checkpoint.objects.filter(school_id=school_id)
        .filter(Q(code=checkpoint_code) | Q(device_id=device_pk))
        .values_list("pk", "code")
    )
    found = None
    for pk, code in checkpoint_id:
        if code == checkpoint_code or found is None:
            found = pk
    guard = None
    if guard_id.isdigit():
        guard = (
            Guard.objects.filter(pk=int(guard_id), school_id=school_id)
            .values_list("pk", flat=True)
            .first()
        )
    scan, _created = TourScan.objects.get_or_create(
        source_key=f"d{device_pk}",
        event_id=event_id,
        defaults={
            "school_id": school_id,
            "checkpoint_id": found,
            "code": checkpoint_code,
            "source": TourScan.Source.DEVICE,
            "device_id": device_pk,
            "guard_id": guard,
            "card_id": card_id,
            "occurred_at": occurred_at,
            "received_at": received_at,
        },
    )
    return scan.pk


def record_phone_scan(user, checkpoint: Checkpoint, event_id: str) -> tuple[TourScan, bool]:
    """A guard scanned a checkpoint's QR code with the phone page. The page sends a
    one-off ``event_id`` so a retried tap is stored once. Returns (scan, created)."""
    if not event_id or len(event_id) > 64:
        raise PatrolError(_("event_id must be 1 to 64 characters"))
    if not checkpoint.is_active:
        raise PatrolError(_("This checkpoint is no longer in use."))
    now = clock.now()
    with transaction.atomic():
        scan, created = TourScan.objects.get_or_create(
            source_key=f"u{user.pk}",
            event_id=event_id,
            defaults={
                "school_id": checkpoint.school_id,
                "checkpoint": checkpoint,
                "code": checkpoint.code,
                "source": TourScan.Source.PHONE,
                "user": user,
                "occurred_at": now,
                "received_at": now,
            },
        )
        if created:
            bus.publish_on_commit(
                "patrol.scan",
                device_pk=None,
                device_id="",
                school_id=checkpoint.school_id,
                checkpoint_id=checkpoint.code,
            )
    if created:
        evaluate_rounds(
            TourRound.objects.filter(school_id=checkpoint.school_id, day=local_day(now)), now
        )
    return scan, created


# --- rounds ---


ROUND_COLUMNS = (
    "plan_id", "school_id", "day", "starts_at", "due_at", "closes_at", "stops_total", "detail",
)  # fmt: skip


def rounds_of_plan(
    plan: TourPlan, stops: Sequence[tuple[int, int | None]], day: dt.date
) -> list[tuple]:
    """The plan's rounds on ``day`` as rows in ``ROUND_COLUMNS`` order, each with its
    checkpoints' due times. ``stops`` = [(checkpoint pk, due minutes or None)] in route
    order."""
    rows = []
    tz = zone()
    grace = dt.timedelta(minutes=plan.grace_minutes)
    for start_time in rules.parse_round_starts(plan.round_starts):
        starts = dt.datetime.combine(day, start_time, tz)
        due = starts + dt.timedelta(minutes=plan.duration_minutes)
        detail = []
        for checkpoint, minutes in stops:
            minutes = (
                plan.duration_minutes if minutes is None else min(minutes, plan.duration_minutes)
            )
            stop_due = starts + dt.timedelta(minutes=minutes)
            detail.append(
                {
                    "checkpoint": checkpoint,
                    "due": stop_due.timestamp(),
                    "scanned": None,
                    "state": rules.PENDING,
                }
            )
        rows.append((plan.pk, plan.school_id, day, starts, due, due + grace, len(detail), detail))
    return rows


def ensure_rounds(day: dt.date, schools: QuerySet | None = None) -> int:
    """Create the day's rounds of every active plan that runs that day (idempotent)."""
    plans = TourPlan.objects.filter(is_active=True)
    if schools is not None:
        plans = plans.filter(school__in=schools.order_by().values("pk"))
    calendar = holiday_calendar(day, day)
    if not is_school_day(day, calendar):
        plans = plans.filter(days=TourPlan.Days.EVERY_DAY)
    plans = list(plans)
    if not plans:
        return 0
    stops: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    for route_id, checkpoint_id, minutes in (
        RouteStop.objects.filter(
            route_id__in={p.route_id for p in plans}, checkpoint__is_active=True
        )
        .order_by("route_id", "position")
        .values_list("route_id", "checkpoint_id", "due_minutes")
    ):
        stops[route_id].append((checkpoint_id, minutes))
    existing = set(
        TourRound.objects.filter(day=day, plan__in=plans).values_list("plan_id", "starts_at")
    )
    new = [
        r
        for plan in plans
        if stops[plan.route_id]
        for r in rounds_of_plan(plan, stops[plan.route_id], day)
        if (plan.pk, r[3]) not in existing
    ]
    insert_rows(TourRound, ROUND_COLUMNS, new, ignore_conflicts=True)
    return len(new)


ROUND_FIELDS = (
    "status",
    "stops_on_time",
    "stops_late",
    "stops_missed",
    "duplicate_scans",
    "is_out_of_order",
    "detail",
    "evaluated_at",
)


def _raw_rows(queryset: QuerySet, *fields: str) -> list[tuple]:
    """The rows of ``queryset.values_list(*fields)`` as the driver returns them, without
    Django's per-value converters (100,000 scan times: seconds saved); see ``_posix`` and
    ``_json`` for the two kinds of value that need reading."""
    sql, params = queryset.values_list(*fields).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _posix(value: Any) -> float:
    """A stored date-time as POSIX seconds (SQLite: UTC text; PostgreSQL: aware)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:  # stored in UTC (USE_TZ)
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def evaluate_rounds(rounds_qs: QuerySet, now: dt.datetime) -> list[rules.Result]:
    """Evaluate rounds against the scans, save what changed (one prepared UPDATE for
    all) and raise a patrol alarm for every checkpoint newly missed. Returns the results."""
    rows = _raw_rows(
        rounds_qs.order_by(),
        "pk", "plan_id", "school_id", "starts_at", "due_at", "closes_at", "detail", "status",
        "stops_on_time", "stops_late", "stops_missed", "duplicate_scans", "is_out_of_order",
    )  # fmt: skip
    if not rows:
        return []
    early = settings.PATROL_EARLY_MINUTES * 60
    specs = []
    school_ids = set()
    for pk, plan_id, school_id, starts, due, closes, detail, *_rest in rows:
        school_ids.add(school_id)
        due, closes = _posix(due), _posix(closes)
        specs.append(
            rules.Round(
                key=pk,
                plan=plan_id,
                starts=_posix(starts),
                due=due,
                closes=closes,
                grace=closes - due,
                stops=tuple(rules.Stop(s["checkpoint"], s["due"]) for s in _json(detail)),
            )
        )
    first = dt.datetime.fromtimestamp(min(r.starts for r in specs) - early, dt.UTC)
    last = dt.datetime.fromtimestamp(max(r.closes for r in specs), dt.UTC)
    scans = TourScan.objects.filter(
        occurred_at__range=(first, last), checkpoint__isnull=False
    ).order_by()
    if len(school_ids) < 500:
        scans = scans.filter(school_id__in=school_ids)
    if connection.vendor == "postgresql":  # seconds from the server: no date-time parsing
        sql = f'EXTRACT(EPOCH FROM "{TourScan._meta.db_table}"."occurred_at")::float8'
        epoch = RawSQL(sql, ())  # noqa: S611 — a constant: the model's own table and column
        scan_rows = _raw_rows(scans.annotate(epoch=epoch), "epoch", "checkpoint_id")
    else:
        scan_rows = [
            (_posix(at), cp) for at, cp in _raw_rows(scans, "occurred_at", "checkpoint_id")
        ]
    results = rules.evaluate_all(specs, scan_rows, now.timestamp(), early)
    changed = []
    missed: list[tuple[int, int, int]] = []
    for row, spec, result in zip(rows, specs, results, strict=True):
        pk, school_id = row[0], row[2]
        detail = [
            {"checkpoint": c, "due": stop.due, "scanned": at, "state": state}
            for (c, at, state), stop in zip(result.stops, spec.stops, strict=True)
        ]
        new = (
            result.status, result.on_time, result.late, result.missed, result.duplicates,
            bool(result.is_out_of_order),
        )  # fmt: skip
        if new != (row[7], *row[8:12], bool(row[12])) or detail != _json(row[6]):
            changed.append((*new, detail, pk))
        missed += [(pk, school_id, c) for c, _at, state in result.stops if state == rules.MISSED]
    with transaction.atomic():
        save_rounds(changed, now)
        raise_patrol_alarms(missed, now)
    return results


def save_rounds(rows: Sequence[tuple], now: dt.datetime) -> None:
    """Write evaluated rounds — (status, on time, late, missed, duplicates, out of order,
    detail, pk) — with one prepared UPDATE run for every row (executemany): Django's
    bulk_update builds a CASE per field and row, far too slow for a city's 10,000."""
    if not rows:
        return
    fields = [TourRound._meta.get_field(name) for name in ROUND_FIELDS]
    detail_field = TourRound._meta.get_field("detail")
    evaluated_at = connection.ops.adapt_datetimefield_value(now)
    table = connection.ops.quote_name(TourRound._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    sql = f"UPDATE {table} SET {assignments} WHERE id = %s"  # noqa: S608 — names from the model
    params = [
        [*row[:6], detail_field.get_db_prep_save(row[6], connection), evaluated_at, row[7]]
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _update_from_values(cursor, table, fields, params)
            return
        for start in range(0, len(params), BATCH):
            cursor.executemany(sql, params[start : start + BATCH])


def _update_from_values(cursor, table: str, fields: Sequence, params: Sequence[list]) -> None:
    """PostgreSQL: ``UPDATE … FROM (VALUES …)``, one statement per 1,000 rows (a
    round trip per row, as executemany makes, costs seconds for a city)."""
    quote = connection.ops.quote_name
    names = [f"c{n}" for n in range(len(fields))]
    casts = [f.db_type(connection) for f in fields]
    assignments = ", ".join(
        f"{quote(f.column)} = v.{name}::{cast}"
        for f, name, cast in zip(fields, names, casts, strict=True)
    )
    width = len(fields) + 1
    for start in range(0, len(params), 1000):
        chunk = params[start : start + 1000]
        values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
        sql = (
            f"UPDATE {table} AS t SET {assignments} "  # noqa: S608 — names from the model
            f"FROM (VALUES {values}) AS v({', '.join(names)}, id) WHERE t.id = v.id::bigint"
        )
        cursor.execute(sql, [value for row in chunk for value in row])


def raise_patrol_alarms(missed: Iterable[tuple[int, int, int]], now: dt.datetime) -> list[int]:
    """One alarm per (round, checkpoint) missed, to the school; returns the new pks.
    An alarm already raised for the pair is left as it is (a sweep may see it again)."""
    missed = list(missed)
    if not missed:
        return []
    round_ids = sorted({r for r, _s, _c in missed})
    existing = set()
    for chunk in _chunks(round_ids, 500):
        existing |= set(
            PatrolAlarm.objects.filter(round_id__in=chunk).values_list("round_id", "checkpoint_id")
        )
    new = [(school, r, c, now) for r, school, c in missed if (r, c) not in existing]
    if not new:
        return []
    insert_rows(
        PatrolAlarm, ("school_id", "round_id", "checkpoint_id", "raised_at"), new,
        ignore_conflicts=True,
    )  # fmt: skip
    created = []
    for chunk in _chunks(round_ids, 500):
        created += PatrolAlarm.objects.filter(raised_at=now, round_id__in=chunk).values_list(
            "pk", "school_id", "checkpoint_id", "round_id"
        )
    for pk, school_id, checkpoint_id, round_id in created:
        bus.publish_on_commit(
            "patrol.alarm",
            alarm_id=pk,
            school_id=school_id,
            checkpoint_id=checkpoint_id,
            round_id=round_id,
        )
    return [row[0] for row in created]


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def escalate_patrol_alarms(now: dt.datetime) -> list[int]:
    """Open alarms nobody at the school acknowledged in time go to the police station.

    Only misses the platform saw as they happened: an alarm raised more than the
    escalation window after its round closed — found by the first sweep after the
    platform was down, when the police would long have been called — goes to the
    school alone. Calling a station now about a checkpoint missed hours ago is noise."""
    window = dt.timedelta(minutes=settings.PATROL_ALARM_ESCALATE_MINUTES)
    due = list(
        PatrolAlarm.objects.filter(
            state=PatrolAlarm.State.OPEN, escalated_at__isnull=True, raised_at__lte=now - window
        )
        .filter(raised_at__lte=F("round__closes_at") + window)
        .values_list("pk", "school_id")
    )
    if not due:
        return []
    with transaction.atomic():
        PatrolAlarm.objects.filter(pk__in=[pk for pk, _s in due]).update(escalated_at=now)
        for pk, school_id in due:
            bus.publish_on_commit("patrol.alarm_escalated", alarm_id=pk, school_id=school_id)
    return [pk for pk, _s in due]


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic job (runtime.py, ``campus-safety patrol-sweep``): today's rounds
    exist, open rounds are evaluated (missed checkpoints raise alarms), and overdue
    alarms are escalated."""
    now = now or clock.now()
    today = local_day(now)
    created = ensure_rounds(today)
    early = dt.timedelta(minutes=settings.PATROL_EARLY_MINUTES)
    open_rounds = TourRound.objects.filter(
        status=TourRound.Status.PENDING, starts_at__lte=now + early
    )
    results = evaluate_rounds(open_rounds, now)
    escalated = escalate_patrol_alarms(now)
    return {
        "rounds_created": created,
        "rounds_evaluated": len(results),
        "escalated": len(escalated),
    }


def acknowledge_alarm(alarm: PatrolAlarm, by, note: str = "") -> PatrolAlarm:
    """The school saw it (stops the escalation clock); stays until resolved."""
    if alarm.state != PatrolAlarm.State.OPEN:
        raise PatrolError(_("Only an open alarm can be acknowledged."))
    alarm.state, alarm.acknowledged_at, alarm.acknowledged_by = (
        PatrolAlarm.State.ACKNOWLEDGED,
        clock.now(),
        by,
    )
    alarm.note = note[:255] or alarm.note
    alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "note"])
    audit.record("patrol.alarm.acknowledge", alarm, user=by)
    bus.publish_on_commit("patrol.alarm_updated", alarm_id=alarm.pk, school_id=alarm.school_id)
    return alarm


def resolve_alarm(alarm: PatrolAlarm, by, note: str) -> PatrolAlarm:
    """A person closes the alarm with what was found (never closed by the system)."""
    if alarm.state == PatrolAlarm.State.RESOLVED:
        raise PatrolError(_("The alarm is already resolved."))
    if not note.strip():
        raise PatrolError(_("Say what was found before resolving the alarm."))
    now = clock.now()
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at, alarm.acknowledged_by = now, by
    alarm.state, alarm.resolved_at, alarm.resolved_by = PatrolAlarm.State.RESOLVED, now, by
    alarm.note = note.strip()[:255]
    alarm.save()
    audit.record("patrol.alarm.resolve", alarm, user=by)
    bus.publish_on_commit("patrol.alarm_updated", alarm_id=alarm.pk, school_id=alarm.school_id)
    return alarm


# --- tour compliance ---


@dataclass
class Compliance:
    """One school's day against the ≥N rounds rule (GB/T 29315-2022)."""

    school_id: int
    rounds: int = 0
    walked: int = 0
    complete: int = 0
    late: int = 0
    wrong_order: int = 0
    missed: int = 0
    pending: int = 0  # not over yet: under way or still to come
    upcoming: int = 0  # of those, not started yet (未开始)

    @property
    def in_progress(self) -> int:
        return self.pending - self.upcoming

    @property
    def is_compliant(self) -> bool:
        """Walked the required rounds — or, on a day not over yet, can still: a school
        is out of compliance today once too many of its rounds have gone unwalked, not
        merely because the evening's rounds have not come yet."""
        return self.walked + self.pending >= settings.PATROL_MIN_ROUNDS_PER_DAY


def compliance(schools: QuerySet, day: dt.date) -> dict[int, Compliance]:
    """{school pk: Compliance} for every school in ``schools`` (no rounds = 0 walked)."""
    by_school = {pk: Compliance(pk) for pk in schools.order_by().values_list("pk", flat=True)}
    counts = (
        TourRound.objects.filter(day=day, school_id__in=schools.order_by().values("pk"))
        .order_by()
        .values_list("school_id", "status", "starts_at")
    )
    now = clock.now()
    for school_id, status, starts in counts:
        row = by_school.get(school_id)
        if row is None:
            continue
        row.rounds += 1
        setattr(row, status, getattr(row, status) + 1)
        row.walked += status in rules.WALKED
        row.upcoming += status == rules.PENDING and starts > now
    return by_school
