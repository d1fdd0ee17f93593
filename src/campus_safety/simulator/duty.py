"""People on duty in the demo (值班), beside ``serve --simulate``: the command centre's
dispatcher takes the alarm cases as they come — acknowledges within seconds, closes a
false alarm or sends the nearest available unit, records its arrival, closes the case
with a disposition — and each school's guard acknowledges and then resolves its patrol
alarms. They go through the same workflow functions a person's clicks call, so the
audit trail, the live console and the statistics see ordinary work.

A few alarms are left for whoever watches the demo: about one in seven, at most
``MOST_LEFT`` of each kind at a time, and none older than ``LEFT_HOURS`` (a colleague
took those). A case or patrol alarm a person has already acknowledged is theirs.

Every delay is a hash of the alarm and the seed, counted from the alarm's own
timestamps, so each step happens at the same moment whatever the loop's period, after
a restart, or under a test's moved clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable

from django.contrib.auth.hashers import make_password

from campus_safety import clock, periodic
from campus_safety.accounts.models import User
from campus_safety.alarms import workflow
from campus_safety.alarms.models import AlarmCase, PoliceUnit
from campus_safety.orgs.models import Organisation
from campus_safety.patrols import services as patrols
from campus_safety.patrols.models import PatrolAlarm
from campus_safety.simulator.demo_alarms import DISPOSITIONS, DUTY_PREFIX, FALSE_ALARM_SHARE
from campus_safety.simulator.patrol_history import patrol_alarm_follow_up, school_guards
from campus_safety.simulator.patrol_walkers import SEED, chance

log = logging.getLogger(__name__)

PERIOD_SECONDS = 5.0  # well inside ALARM_ACK_SECONDS: a case is acknowledged before it escalates
LEFT_SHARE = 0.15
MOST_LEFT = 3
LEFT_HOURS = 2
State = AlarmCase.State
NO_UNIT = "学校保安现场处置完毕，无需出警"
REFUSED = (workflow.InvalidTransition, workflow.NotAllowed, ValueError, patrols.PatrolError)


def duty_dispatcher() -> User | None:
    """The command centre's simulated dispatcher (created on first use), or None in a
    database without a police bureau."""
    found = User.objects.filter(username=DUTY_PREFIX).first()
    if found is not None:
        return found
    bureau = (
        Organisation.objects.filter(kind=Organisation.Kind.POLICE_BUREAU).order_by("pk").first()
    )
    if bureau is None:
        return None
    return User.objects.create(
        username=DUTY_PREFIX,
        role=User.Role.DISPATCHER,
        display_name="值班调度员（模拟）",
        organisation=bureau,
        password=make_password(None),
    )


class DutyStaff:
    """One pass of ``step(now)`` moves every alarm whose next step is due."""

    def __init__(self, seed: int = SEED) -> None:
        self.seed = seed
        self.counts: Counter[str] = Counter()
        self.dispatcher: User | None = None
        self.on_duty_since: dt.datetime | None = None

    def after(self, name: str, pk: int, low: float, high: float) -> dt.timedelta:
        """This alarm's delay for a step, between ``low`` and ``high`` seconds."""
        return dt.timedelta(seconds=low + (high - low) * chance(self.seed, name, pk))

    def left_for_user(self, items: Iterable[tuple[int, dt.datetime]], now, kind: str) -> set[int]:
        """Of (pk, raised) in time order, those the people on duty leave alone: the
        first few that chance picks, until the user answers them or they grow old; one
        that comes while that many wait is answered at once, like any other. Only what
        came since the people came on duty: one raised before the demo started and left
        now would escalate because the demo started."""
        since = max(now - dt.timedelta(hours=LEFT_HOURS), self.on_duty_since or now)
        chosen = [
            pk
            for pk, at in items
            if at >= since and chance(self.seed, "left", kind, pk) < LEFT_SHARE
        ]
        return set(chosen[:MOST_LEFT])

    def step(self, now: dt.datetime) -> Counter[str]:
        """One pass (ORM: run it in a worker thread)."""
        self.on_duty_since = self.on_duty_since or now
        self._cases(now)
        self._patrol_alarms(now)
        return self.counts

    # --- alarm cases: the command centre ---

    def _cases(self, now: dt.datetime) -> None:
        self.dispatcher = self.dispatcher or duty_dispatcher()
        if self.dispatcher is None:
            return
        cases = list(
            AlarmCase.objects.filter(closed_at__isnull=True)
            .select_related("school__region")
            .order_by("opened_at", "pk")
        )
        left = self.left_for_user(
            ((c.pk, c.opened_at) for c in cases if c.state == State.RECEIVED), now, "case"
        )
        mine = {None, self.dispatcher.pk}
        for case in cases:
            if case.pk in left or case.acknowledged_by_id not in mine:
                continue
            try:
                self._move(case, now)
            except REFUSED as refused:  # a person moved it meanwhile
                log.info("simulator: duty dispatcher skipped case %s: %s", case.pk, refused)
                self.counts["refused"] += 1

    def _move(self, case: AlarmCase, now: dt.datetime) -> None:
        """The case's next step, if its moment has come."""
        pk = case.pk
        is_false = chance(self.seed, "false", pk) < FALSE_ALARM_SHARE
        if case.state == State.RECEIVED:
            when, step = case.opened_at + self.after("ack", pk, 4, 16), self._acknowledge
        elif case.state == State.TEST:
            when, step = case.opened_at + self.after("drill", pk, 180, 480), self._close
        elif case.state == State.ACKNOWLEDGED and is_false:
            when, step = case.acknowledged_at + self.after("false", pk, 60, 240), self._close
        elif case.state == State.ACKNOWLEDGED:
            when, step = case.acknowledged_at + self.after("dispatch", pk, 20, 60), self._dispatch
        elif case.state == State.DISPATCHED:
            region = case.school.region.code if case.school_id else None
            circle = workflow.circle_minutes(region) * 60
            travel = self.after("travel", pk, 0.3 * circle, 0.9 * circle)
            when, step = case.dispatched_at + travel, self._arrive
        elif case.state == State.ON_SCENE:
            when, step = case.arrived_at + self.after("scene", pk, 120, 480), self._close
        else:
            return
        if now >= when:
            step(case)

    def _acknowledge(self, case: AlarmCase) -> None:
        workflow.acknowledge_case(case.pk, self.dispatcher)
        self.counts["acknowledged"] += 1

    def _dispatch(self, case: AlarmCase) -> None:
        unit = self._nearest_unit(case)
        if unit is None:
            workflow.close_case(case.pk, self.dispatcher, NO_UNIT, State.RESOLVED)
            self.counts["closed"] += 1
            return
        workflow.dispatch_units(case.pk, [unit], self.dispatcher)
        self.counts["dispatched"] += 1

    def _arrive(self, case: AlarmCase) -> None:
        workflow.record_arrival(case.pk, self.dispatcher)
        self.counts["arrived"] += 1

    def _close(self, case: AlarmCase) -> None:
        """A drill as a test, an alarm still only acknowledged as a false alarm, one with
        police on scene as resolved."""
        outcome = {State.TEST: State.TEST, State.ACKNOWLEDGED: State.FALSE_ALARM}.get(
            case.state, State.RESOLVED
        )
        notes = DISPOSITIONS[outcome]
        note = notes[int(chance(self.seed, "disposition", case.pk) * len(notes))]
        workflow.close_case(case.pk, self.dispatcher, note, outcome)
        self.counts["closed"] += 1

    def _nearest_unit(self, case: AlarmCase) -> PoliceUnit | None:
        """The school's station's available unit nearest to the school."""
        school = case.school
        if school is None or school.police_station_id is None:
            return None
        units = list(
            PoliceUnit.objects.filter(organisation_id=school.police_station_id, is_available=True)
        )

        def distance(unit: PoliceUnit) -> float:
            if None in (unit.longitude, unit.latitude, school.longitude, school.latitude):
                return float("inf")
            return (unit.longitude - school.longitude) ** 2 + (unit.latitude - school.latitude) ** 2

        return min(units, key=lambda u: (distance(u), u.pk), default=None)

    # --- patrol alarms: each school's guard ---

    def _patrol_alarms(self, now: dt.datetime) -> None:
        unresolved = PatrolAlarm.objects.exclude(state=PatrolAlarm.State.RESOLVED)
        alarms = list(unresolved.order_by("raised_at", "pk"))
        if not alarms:
            return
        guards = school_guards({a.school_id for a in alarms})
        people = User.objects.in_bulk(set(guards.values()))
        left = self.left_for_user(
            ((a.pk, a.raised_at) for a in alarms if a.state == PatrolAlarm.State.OPEN),
            now,
            "patrol",
        )
        for alarm in alarms:
            guard = people.get(guards.get(alarm.school_id))
            if guard is None or alarm.pk in left:
                continue
            wait, work, note = patrol_alarm_follow_up(
                self.seed, alarm.round_id, alarm.checkpoint_id
            )
            is_open = alarm.state == PatrolAlarm.State.OPEN
            try:
                if is_open and now >= alarm.raised_at + wait:
                    patrols.acknowledge_alarm(alarm, guard)
                    self.counts["patrol_acknowledged"] += 1
                elif (
                    not is_open
                    and alarm.acknowledged_by_id == guard.pk
                    and now >= alarm.acknowledged_at + work
                ):
                    patrols.resolve_alarm(alarm, guard, note)
                    self.counts["patrol_resolved"] += 1
            except REFUSED as refused:
                log.info("simulator: school guard skipped patrol alarm %s: %s", alarm.pk, refused)
                self.counts["refused"] += 1


async def run(stop: asyncio.Event, period: float = PERIOD_SECONDS) -> None:
    """The people on duty until ``stop`` is set (a worker thread; fleet.run_demo)."""
    staff = DutyStaff()
    await periodic.run_every(stop, period, lambda: staff.step(clock.now()), "demo-duty")
